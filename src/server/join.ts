/**
 * Joining an existing cluster (`--initial-cluster-state existing`): ask the peers named in
 * `--initial-cluster` for the cluster's members (`GET /members` on their peer URLs, through
 * the FetchMembers port), find this
 * member among them by its advertised peer URLs, and take the member and cluster ids from the
 * cluster. Every mismatch is refused with a message naming the likely mistake.
 */
import { BootstrapError } from "./bootstrap-error.ts";
import type { MemberInfo } from "./membership.ts";
import type { MemberSettings } from "./settings.ts";

/** Asks one peer (by peer URL) for its cluster id and members (member/real-peers.ts). */
export type FetchMembers = (
  peerUrl: string,
) => Promise<{ clusterId: string; members: MemberInfo[] }>;

export interface RemoteCluster {
  readonly clusterId: string;
  readonly members: MemberInfo[];
  readonly self: MemberInfo;
}

/** Peer `/members` ids are JSON numbers beyond 2^53: quote them before parsing. */
export function parsePeerMembers(text: string): MemberInfo[] {
  const quoted = text.replace(/"id":\s*(\d+)/g, '"id":"$1"');
  const raw = JSON.parse(quoted) as {
    id: string;
    name?: string;
    peerURLs?: string[];
    clientURLs?: string[];
  }[];
  return raw.map((m) => ({
    id: BigInt(m.id).toString(16),
    name: m.name ?? "",
    peerURLs: m.peerURLs ?? [],
    clientURLs: m.clientURLs ?? [],
  }));
}

const sameUrls = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((u, i) => u === [...b].sort()[i]);

export async function fetchRemoteCluster(
  settings: MemberSettings,
  fetchFrom: FetchMembers,
): Promise<RemoteCluster> {
  const own = new Set(settings.advertisePeerUrls);
  const urls = settings.initialMembers.flatMap((m) => m.peerUrls).filter((u) => !own.has(u));
  const errors: string[] = [];
  for (const url of urls) {
    try {
      const remote = await fetchFrom(url);
      return checkRemote(settings, remote);
    } catch (error) {
      if (error instanceof BootstrapError) throw error;
      errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (urls.length === 0) {
    throw new BootstrapError(
      "could not retrieve cluster information from the given URLs: --initial-cluster names no member but this one; with --initial-cluster-state existing it must name the running members",
    );
  }
  throw new BootstrapError(
    `cannot fetch the existing cluster's members from ${urls.join(", ")}: ${errors.join("; ")}`,
  );
}

function checkRemote(
  settings: MemberSettings,
  remote: { clusterId: string; members: MemberInfo[] },
): RemoteCluster {
  const self = remote.members.find((m) => sameUrls(m.peerURLs, settings.advertisePeerUrls));
  if (self === undefined) {
    throw new BootstrapError(
      `no member of cluster ${remote.clusterId} has peer URLs ${settings.advertisePeerUrls.join(",")}; add this member first (etcdctl member add ${settings.name} ${settings.advertisePeerUrls.join(",")}) and start it with the same --initial-advertise-peer-urls`,
    );
  }
  if (self.name !== "" && self.name !== settings.name) {
    throw new BootstrapError(
      `member ${self.id} with these peer URLs is already started as "${self.name}"; refusing to join as "${settings.name}"`,
    );
  }
  if (remote.members.length !== settings.initialMembers.length) {
    throw new BootstrapError(
      `member count is unequal: the cluster has ${remote.members.length} members, --initial-cluster names ${settings.initialMembers.length} (use the ETCD_INITIAL_CLUSTER printed by member add)`,
    );
  }
  return { clusterId: remote.clusterId, members: remote.members, self };
}
