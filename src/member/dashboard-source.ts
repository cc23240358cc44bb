/** What a member gives its dashboard: its own status, and the member list to ask the others. */
import type { ClusterSource } from "../dashboard/cluster-view.ts";
import type { MemberStatus } from "../dashboard/status.ts";
import type { FetchTls } from "../net/tls.ts";
import type { EtcdServer } from "../server/etcd-server.ts";
import { listMembers } from "../server/membership.ts";
import { STORE_WRITES, type SyncTotals } from "./metrics.ts";

/** The store counters that are writes (successful or not), as etcd_debugging_store_writes_total. */
const WRITE_COUNTERS = Object.values(STORE_WRITES).flat();

export function memberDashboardSource(
  server: EtcdServer,
  syncs: () => SyncTotals,
  tls: FetchTls | undefined,
): ClusterSource {
  const status = (): MemberStatus => {
    const figures = server.figures();
    const stats = server.store.stats;
    const synced = syncs();
    const peers: Record<string, MemberStatus["peers"][string]> = {};
    for (const [id, link] of Object.entries(server.peerStats()))
      peers[id] = { rttMs: link.latencyMs.current, active: link.active === true };
    return {
      id: server.memberId,
      name: server.name,
      state: server.state,
      leader: server.leader,
      term: server.raftTerm,
      commit: figures.commitIndex,
      applied: figures.appliedIndex,
      storeIndex: server.store.index(),
      startTime: server.startTime.toISOString(),
      peers,
      counters: {
        writes: WRITE_COUNTERS.reduce((sum, c) => sum + stats[c], 0),
        fsyncs: synced.count,
        fsyncSeconds: synced.seconds,
        leaderChanges: figures.leaderChanges,
      },
    };
  };
  return {
    role: "member",
    self: { id: server.memberId, status },
    members: async () => listMembers(server.store),
    ...(tls === undefined ? {} : { tls }),
  };
}
