/**
 * Runtime reconfiguration through Raft conf changes: add, update and remove members (etcd's
 * members API semantics, including `--strict-reconfig-check`). Validation that depends on the
 * current membership happens here before proposing, and again when the change is applied
 * (apply.ts), since two changes may race.
 */
import { memberIdFor } from "../config/ids.ts";
import type { ConfChange } from "../raft/types.ts";
import type { EtcdServer } from "./etcd-server.ts";
import { MembersError } from "./members-error.ts";
import { listMembers, type MemberInfo, removedMembersDir } from "./membership.ts";

/** What reconfiguration needs from the member (kept narrow so it can be faked in tests). */
export interface ReconfigTarget {
  readonly memberId: string;
  readonly store: EtcdServer["store"];
  readonly strictReconfigCheck: boolean;
  /** The wall clock, ms since the epoch. */
  now(): number;
  /** Since when (ms since the epoch) this member has been connected to peer `id`; undefined if not. */
  peerActiveSince(id: string): number | undefined;
  proposeConfChange(type: ConfChange["type"], nodeId: string, peerURLs: string[]): Promise<void>;
  hasKey(path: string): boolean;
}

/**
 * How long a peer must have been connected to count for the strict reconfiguration check
 * (etcd's `HealthInterval`): a peer that just came back may drop again.
 */
export const HEALTH_INTERVAL_MS = 5000;

/** The two refusals of `--strict-reconfig-check` (etcd's ErrNotEnoughStartedMembers, ErrUnhealthy). */
export const NOT_ENOUGH_STARTED =
  "etcdserver: re-configuration failed due to not enough started members";
export const UNHEALTHY = "etcdserver: unhealthy cluster";

const quorum = (n: number) => Math.floor(n / 2) + 1;

/** etcd's `Member.IsStarted`: the member has published its name, i.e. it has run once. */
const isStarted = (m: MemberInfo) => m.name !== "";

/**
 * etcd's `numConnectedSince(now - HealthInterval)`: this member plus the peers it has been
 * connected to for at least the health interval.
 */
function connectedForHealthInterval(target: ReconfigTarget, members: readonly MemberInfo[]) {
  const since = target.now() - HEALTH_INTERVAL_MS;
  return members.filter((m) => {
    if (m.id === target.memberId) return true;
    const t = target.peerActiveSince(m.id);
    return t !== undefined && t < since;
  }).length;
}

/** Refuses an add that could cost the quorum (etcd 3.4's `mayAddMember`). */
function mayAddMember(target: ReconfigTarget, members: readonly MemberInfo[]): void {
  // etcd's IsReadyToAddVotingMember: the started members must meet the grown cluster's quorum;
  // one started member of one may add a second (restoring a cluster from a backup).
  const nmembers = members.length + 1;
  const nstarted = members.filter(isStarted).length;
  if (!(nstarted === 1 && nmembers === 2) && nstarted < quorum(nmembers)) {
    throw new MembersError(500, NOT_ENOUGH_STARTED);
  }
  // isConnectedFullySince: every member connected for the health interval.
  if (connectedForHealthInterval(target, members) !== members.length) {
    throw new MembersError(500, UNHEALTHY);
  }
}

/** Refuses a remove that would leave no active quorum (etcd 3.4's `mayRemoveMember`). */
function mayRemoveMember(target: ReconfigTarget, members: readonly MemberInfo[], id: string) {
  // IsReadyToRemoveVotingMember: the started members left must meet their own quorum.
  const remaining = members.filter((m) => m.id !== id);
  if (remaining.filter(isStarted).length < quorum(remaining.length)) {
    throw new MembersError(500, NOT_ENOUGH_STARTED);
  }
  // A member this one is not connected to is down: removing it cannot cost an active quorum.
  if (id !== target.memberId && target.peerActiveSince(id) === undefined) return;
  // Otherwise the members connected for the health interval, less the removed one, must still
  // form a quorum of the cluster as it is.
  const active = connectedForHealthInterval(target, members);
  if (active - 1 < 1 + Math.floor((members.length - 1) / 2)) {
    throw new MembersError(500, UNHEALTHY);
  }
}

function checkPeerUrlsFree(members: readonly MemberInfo[], urls: readonly string[], except = "") {
  for (const m of members) {
    if (m.id === except) continue;
    if (m.peerURLs.some((u) => urls.includes(u)))
      throw new MembersError(409, "membership: peerURL exists");
  }
}

export async function addMember(target: ReconfigTarget, peerURLs: string[]): Promise<MemberInfo> {
  const members = listMembers(target.store);
  checkPeerUrlsFree(members, peerURLs);
  // etcd: a runtime-added member's id is salted with the time, so re-adding gives a new id.
  const id = memberIdFor(peerURLs, "", Math.floor(target.now() / 1000));
  if (members.some((m) => m.id === id) || target.hasKey(`${removedMembersDir}/${id}`)) {
    throw new MembersError(409, "membership: ID exists");
  }
  if (target.strictReconfigCheck) mayAddMember(target, members);
  await target.proposeConfChange("addNode", id, peerURLs);
  return { id, name: "", peerURLs, clientURLs: [] };
}

export async function updateMember(target: ReconfigTarget, id: string, peerURLs: string[]) {
  const members = listMembers(target.store);
  if (target.hasKey(`${removedMembersDir}/${id}`)) {
    throw new MembersError(410, `Member permanently removed: ${id}`);
  }
  if (!members.some((m) => m.id === id)) throw new MembersError(404, `No such member: ${id}`);
  checkPeerUrlsFree(members, peerURLs, id);
  await target.proposeConfChange("updateNode", id, peerURLs);
}

export async function removeMember(target: ReconfigTarget, id: string) {
  const members = listMembers(target.store);
  if (target.hasKey(`${removedMembersDir}/${id}`)) {
    throw new MembersError(410, `Member permanently removed: ${id}`);
  }
  if (!members.some((m) => m.id === id)) throw new MembersError(404, `No such member: ${id}`);
  if (target.strictReconfigCheck) mayRemoveMember(target, members, id);
  await target.proposeConfChange("removeNode", id, []);
}
