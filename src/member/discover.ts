/**
 * A new member's initial cluster when it is not given: through `--discovery` it registers with
 * the token and waits for the others, whose registrations become its initial cluster, with the
 * discovery URL as the cluster token; through `--discovery-srv` it reads DNS SRV records. Every
 * member so computes the same ids, as etcd's do.
 */
import { clusterIdFor, initialMembers } from "../config/ids.ts";
import { formatInitialCluster, parseInitialCluster } from "../config/values.ts";
import { DiscoveryError, joinCluster } from "../discovery/discovery.ts";
import { SrvError, srvCluster } from "../discovery/srv.ts";
import type { MemberSettings } from "../server/settings.ts";

/** The settings with the initial cluster found (unchanged for a static bootstrap). */
export async function bootstrapCluster(
  settings: MemberSettings,
  log: (line: string) => void,
): Promise<MemberSettings> {
  if (settings.discovery !== undefined) {
    return discoverCluster(settings, settings.discovery, log);
  }
  if (settings.discoverySrv !== undefined)
    return srvBootstrap(settings, settings.discoverySrv, log);
  return settings;
}

async function srvBootstrap(
  settings: MemberSettings,
  srv: NonNullable<MemberSettings["discoverySrv"]>,
  log: (line: string) => void,
): Promise<MemberSettings> {
  let text: string;
  try {
    text = await srvCluster({
      domain: srv.domain,
      serviceName: srv.serviceName,
      name: settings.name,
      advertisePeerUrls: settings.advertisePeerUrls,
    });
  } catch (error) {
    if (!(error instanceof SrvError)) throw error;
    throw new Error(`error setting up initial cluster: ${error.message}`);
  }
  for (const entry of text.split(",")) log(`got bootstrap from DNS for etcd-server at ${entry}`);
  const cluster = parsedCluster(text);
  if (!cluster.has(settings.name)) {
    throw new Error(`cannot find local etcd member "${settings.name}" in SRV records`);
  }
  return withCluster(settings, cluster, srv.token);
}

function parsedCluster(text: string): Map<string, string[]> {
  const parsed = parseInitialCluster(text);
  if (!parsed.ok) throw new DiscoveryError("invalidUrl");
  const cluster = parsed.value;
  const urls = [...cluster.values()].flat();
  if (new Set(urls).size !== urls.length) {
    throw new Error(`discovery cluster ${formatInitialCluster(cluster)} has duplicate url`);
  }
  return cluster;
}

function withCluster(
  settings: MemberSettings,
  cluster: ReadonlyMap<string, readonly string[]>,
  token: string,
): MemberSettings {
  const members = initialMembers({ initialCluster: cluster, clusterToken: token });
  const self = members.find((m) => m.name === settings.name);
  return {
    ...settings,
    initialMembers: members,
    memberId: self?.id ?? settings.memberId,
    clusterId: clusterIdFor(members.map((m) => m.id)),
  };
}

async function discoverCluster(
  settings: MemberSettings,
  discovery: { readonly url: string; readonly proxy: string },
  log: (line: string) => void,
): Promise<MemberSettings> {
  const own = settings.initialMembers
    .flatMap((m) => m.peerUrls.map((u) => `${m.name}=${u}`))
    .sort()
    .join(",");
  const text = await joinCluster({ ...discovery, log }, settings.memberId, own);
  return withCluster(settings, parsedCluster(text), discovery.url);
}
