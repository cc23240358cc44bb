/**
 * Applies one committed Raft entry to the v2 store: client requests (v2), internal metadata
 * writes under `/0`, and membership changes (recorded under `/0/members` as etcd does, so
 * `/v2/members` and snapshots see them). Deterministic: the same entries give the same store.
 */
import { decodeConfChange } from "../raft/conf-change-codec.ts";
import type { RawNode } from "../raft/raw-node.ts";
import type { ConfState, Entry } from "../raft/types.ts";
import { EtcdError } from "../store/errors.ts";
import type { Event } from "../store/event.ts";
import type { Store } from "../store/store.ts";
import { applyV2Request } from "../store/v2-apply.ts";
import { decodePayload } from "./entry-payload.ts";
import { membersDir, removedMembersDir } from "./membership.ts";

export interface ApplyContext {
  readonly store: Store;
  readonly raft: RawNode;
  confState: ConfState;
  /** Called after a membership change is applied (the peer network follows the store). */
  readonly onMembersChanged: () => void;
}

export interface EntryOutcome {
  readonly id: string;
  readonly event: Event | undefined;
  readonly error: EtcdError | undefined;
}

const PERMANENT = { expireTime: 0, refresh: false } as const;
const decoder = new TextDecoder();

export function applyEntry(ctx: ApplyContext, entry: Entry): EntryOutcome | undefined {
  if (entry.type === "confChange") {
    applyConfChangeEntry(ctx, entry);
    return undefined;
  }
  if (entry.data.length === 0) return undefined; // a new leader's empty entry
  const payload = decodePayload(entry.data);
  switch (payload.kind) {
    case "v2":
      try {
        return { id: payload.id, event: applyV2Request(ctx.store, payload.req), error: undefined };
      } catch (error) {
        if (error instanceof EtcdError) return { id: payload.id, event: undefined, error };
        throw error;
      }
    case "internal":
      ctx.store.set(payload.path, false, payload.value, PERMANENT);
      return { id: payload.id, event: undefined, error: undefined };
    case "noop":
      return { id: payload.id, event: undefined, error: undefined };
  }
}

/** The member record carried in a conf change's context (etcd's `Member` JSON). */
export interface MemberContext {
  readonly id: string;
  readonly peerURLs: string[];
}

function applyConfChangeEntry(ctx: ApplyContext, entry: Entry): void {
  const cc = decodeConfChange(entry.data);
  ctx.confState = ctx.raft.applyConfChange(cc);
  switch (cc.type) {
    case "addNode":
    case "updateNode": {
      const member = JSON.parse(decoder.decode(cc.context)) as MemberContext;
      const value = JSON.stringify({ peerURLs: member.peerURLs });
      ctx.store.set(`${membersDir}/${cc.nodeId}/raftAttributes`, false, value, PERMANENT);
      ctx.onMembersChanged();
      return;
    }
    case "removeNode":
      try {
        ctx.store.delete(`${membersDir}/${cc.nodeId}`, true, true);
      } catch (error) {
        if (!(error instanceof EtcdError)) throw error;
      }
      ctx.store.set(`${removedMembersDir}/${cc.nodeId}`, false, "removed", PERMANENT);
      ctx.onMembersChanged();
      return;
  }
}
