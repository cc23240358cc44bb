/**
 * The HTTP APIs' view of the member (http/member-api.ts), built from the server: the one place
 * where `http/` meets `server/`. Membership refusals become values here, so the handlers need
 * no server error types.
 */
import type { MemberApi, Reconfigured } from "../http/member-api.ts";
import type { Status } from "../raft/types.ts";
import type { EtcdServer } from "../server/etcd-server.ts";
import { MembersError } from "../server/members-error.ts";
import { listMembers } from "../server/membership.ts";
import { addMember, removeMember, updateMember } from "../server/reconfigure.ts";
import { AUTH_STORE_PREFIX } from "../store/v2-apply.ts";

/** A membership change's outcome; a refusal is logged once, in words. */
async function reconfigured<T>(
  change: Promise<T>,
  what: string,
  log: (line: string) => void,
): Promise<Reconfigured<T>> {
  try {
    return { ok: true, value: await change };
  } catch (error) {
    if (error instanceof MembersError) {
      log(`membership: ${what} refused (${error.status} ${error.message})`);
      return { ok: false, status: error.status, message: error.message };
    }
    throw error;
  }
}

const STATE_NAMES: Record<Status["state"], string> = {
  follower: "StateFollower",
  preCandidate: "StatePreCandidate",
  candidate: "StateCandidate",
  leader: "StateLeader",
};
const PROGRESS_NAMES = {
  probe: "StateProbe",
  replicate: "StateReplicate",
  snapshot: "StateSnapshot",
};

/** etcd's `raft.status` expvar: ids in hex, "0" for none, state names as Go prints them. */
function raftStatusJson(status: Status): Record<string, unknown> {
  const id = (v: string) => (v === "" ? "0" : v);
  const progress: Record<string, unknown> = {};
  for (const [peer, p] of Object.entries(status.progress ?? {}))
    progress[peer] = { match: p.match, next: p.next, state: PROGRESS_NAMES[p.state] };
  return {
    id: id(status.id),
    term: status.term,
    vote: id(status.vote),
    commit: status.commit,
    lead: id(status.lead),
    raftState: STATE_NAMES[status.state],
    applied: status.applied,
    progress,
    leadtransferee: "0",
  };
}

export function memberApiOf(server: EtcdServer, log: (line: string) => void): MemberApi {
  return {
    log,
    memberId: server.memberId,
    clusterId: server.clusterId,
    name: server.name,
    startTime: server.startTime,
    get leaderSince() {
      return server.leaderSince;
    },
    get leader() {
      return server.leader;
    },
    get state() {
      return server.state;
    },
    get raftIndex() {
      return server.raftIndex;
    },
    get raftTerm() {
      return server.raftTerm;
    },
    appendCounts: server.appendCounts,
    appendRates: () => ({
      received: server.appendRates.received.rates(),
      sent: server.appendRates.sent.rates(),
    }),
    peerFigures: () => server.peerStats(),
    storeIndex: () => server.store.index(),
    storeStats: () => server.store.stats,
    localGet: (req) => server.localGet(req),
    linearizableRead: () => server.linearizableRead(),
    proposeV2: (req) => server.proposeV2(req),
    proposeAuth: (req) => server.proposeAuth(req),
    authGet: (path) => server.authGet(path),
    authRevision: () => server.store.revisionOf(AUTH_STORE_PREFIX),
    watch: (opts, onEvent, onRemoved) => server.store.watch(opts, onEvent, onRemoved),
    probeQuorum: (timeoutMs) => server.probeQuorum(timeoutMs),
    raftStatus: () => raftStatusJson(server.raftStatus()),
    members: () => listMembers(server.store),
    addMember: (peerURLs) =>
      reconfigured(addMember(server, peerURLs), `adding a member at ${peerURLs.join(",")}`, log),
    updateMember: (id, peerURLs) =>
      reconfigured(updateMember(server, id, peerURLs), `updating member ${id}`, log),
    removeMember: (id) => reconfigured(removeMember(server, id), `removing member ${id}`, log),
  };
}
