/**
 * Runtime reconfiguration through Raft conf changes: add, update and remove members (etcd's
 * members API semantics, including `--strict-reconfig-check`). Validation that depends on the
 * current membership happens here before proposing, and again when the change is applied
 * (apply.ts), since two changes may race.
 */
import { memberIdFor } from "../config/ids.ts";
import type { ConfChange } from "../raft/types.ts";
import type { EtcdServer } from "./etcd-server.ts";
import { listMembers, type MemberInfo, removedMembersDir } from "./membership.ts";

/** A members-API failure: HTTP status and etcd's message. */
export class MembersError extends Error {
  override name = "MembersError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What reconfiguration needs from the member (kept narrow so it can be faked in tests). */
export interface ReconfigTarget {
  readonly memberId: string;
  readonly store: EtcdServer["store"];
  readonly strictReconfigCheck: boolean;
  isPeerActive(id: string): boolean;
  proposeConfChange(type: ConfChange["type"], nodeId: string, peerURLs: string[]): Promise<void>;
  hasKey(path: string): boolean;
}

function started(target: ReconfigTarget, members: readonly MemberInfo[]): number {
  return members.filter((m) => m.id === target.memberId || target.isPeerActive(m.id)).length;
}

const quorum = (n: number) => Math.floor(n / 2) + 1;

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
  const id = memberIdFor(peerURLs, "", Math.floor(Date.now() / 1000));
  if (members.some((m) => m.id === id) || target.hasKey(`${removedMembersDir}/${id}`)) {
    throw new MembersError(409, "membership: ID exists");
  }
  // Adding a voter raises the quorum: refuse if the started members could not meet it
  // (etcd 3.4's isReadyToAddVotingMember; one started member of a one-member cluster may add).
  const nstarted = started(target, members);
  if (target.strictReconfigCheck && !(members.length === 1 && nstarted === 1)) {
    if (nstarted < quorum(members.length + 1)) {
      throw new MembersError(
        500,
        "etcdserver: re-configuration failed due to not enough started members",
      );
    }
  }
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
  if (target.strictReconfigCheck) {
    // The members left must still have a started quorum (etcd's isReadyToRemoveVotingMember).
    const remaining = members.filter((m) => m.id !== id);
    if (started(target, remaining) < quorum(remaining.length)) {
      throw new MembersError(
        500,
        "etcdserver: re-configuration failed due to not enough started members",
      );
    }
  }
  await target.proposeConfChange("removeNode", id, []);
}
