/**
 * A new member's bootstrap through `--discovery`: it registers with the token and waits for the
 * others; their registrations become its initial cluster, with the discovery URL as the cluster
 * token (so every member computes the same ids, as etcd's do).
 */
import { clusterIdFor, initialMembers } from "../config/ids.ts";
import { formatInitialCluster, parseInitialCluster } from "../config/values.ts";
import { DiscoveryError, joinCluster } from "../discovery/discovery.ts";
import type { MemberSettings } from "../server/settings.ts";

export async function discoverCluster(
  settings: MemberSettings,
  discovery: { readonly url: string; readonly proxy: string },
  log: (line: string) => void,
): Promise<MemberSettings> {
  const own = settings.initialMembers
    .flatMap((m) => m.peerUrls.map((u) => `${m.name}=${u}`))
    .sort()
    .join(",");
  const text = await joinCluster({ ...discovery, log }, settings.memberId, own);
  const parsed = parseInitialCluster(text);
  if (!parsed.ok) throw new DiscoveryError("invalidUrl");
  const cluster = parsed.value;
  const urls = [...cluster.values()].flat();
  if (new Set(urls).size !== urls.length) {
    throw new Error(`discovery cluster ${formatInitialCluster(cluster)} has duplicate url`);
  }
  const members = initialMembers({ initialCluster: cluster, clusterToken: discovery.url });
  return {
    ...settings,
    initialMembers: members,
    clusterId: clusterIdFor(members.map((m) => m.id)),
  };
}
