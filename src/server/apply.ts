/**
 * Applies one committed Raft entry to the v2 store: client requests (v2), internal metadata
 * writes under `/0`, and membership changes (recorded under `/0/members` as etcd does, so
 * `/v2/members` and snapshots see them). Deterministic: the same entries give the same store.
 */
import { decodeConfChange } from "../raft/conf-change-codec.ts";
import type { RawNode } from "../raft/raw-node.ts";
import type { ConfChange, ConfState, Entry } from "../raft/types.ts";
import { EtcdError } from "../store/errors.ts";
import type { Event } from "../store/event.ts";
import type { Store } from "../store/store.ts";
import { applyV2Request, applyV2StoreRequest, authStorePath } from "../store/v2-apply.ts";
import { decodePayload } from "./entry-payload.ts";
import { membersDir, removedMembersDir } from "./membership.ts";

export interface ApplyContext {
  readonly store: Store;
  readonly raft: RawNode;
  confState: ConfState;
  /** Called after a membership change is applied (the peer network follows the store). */
  readonly onMembersChanged: (type: ConfChange["type"], nodeId: string) => void;
}

export interface EntryOutcome {
  readonly id: string;
  readonly event: Event | undefined;
  readonly error: EtcdError | ConfChangeRejected | undefined;
}

const PERMANENT = { expireTime: 0, refresh: false } as const;
const decoder = new TextDecoder();

export function applyEntry(ctx: ApplyContext, entry: Entry): EntryOutcome | undefined {
  if (entry.type === "confChange") {
    const outcome = applyConfChangeEntry(ctx, entry);
    return { id: outcome.requestId, event: undefined, error: outcome.error };
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
    case "auth":
      try {
        const event = applyV2StoreRequest(ctx.store, payload.req, authStorePath(payload.req.path));
        return { id: payload.id, event, error: undefined };
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

/**
 * The member record carried in a conf change's context (etcd's `Member` JSON), plus the id of
 * the members-API request waiting for it (absent for bootstrap entries).
 */
export interface MemberContext {
  readonly id: string;
  readonly peerURLs: string[];
  readonly requestId?: string;
}

/** A membership change that is no longer valid when applied (raced with another change). */
export class ConfChangeRejected extends Error {
  override name = "ConfChangeRejected";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Applied membership changes: a rejected one is recorded as an outcome, not applied. */
export interface ConfChangeOutcome {
  readonly requestId: string;
  readonly error: ConfChangeRejected | undefined;
}

function parseContext(data: Uint8Array, nodeId: string): MemberContext {
  if (data.length === 0) return { id: nodeId, peerURLs: [] };
  return JSON.parse(decoder.decode(data)) as MemberContext;
}

function validate(ctx: ApplyContext, type: string, nodeId: string): ConfChangeRejected | undefined {
  const removed = ctx.store.has(`${removedMembersDir}/${nodeId}`);
  const exists = ctx.store.has(`${membersDir}/${nodeId}`);
  if (removed) return new ConfChangeRejected(410, `Member permanently removed: ${nodeId}`);
  if (type === "addNode" && exists) return new ConfChangeRejected(409, "membership: ID exists");
  if (type !== "addNode" && !exists)
    return new ConfChangeRejected(404, `No such member: ${nodeId}`);
  return undefined;
}

export function applyConfChangeEntry(ctx: ApplyContext, entry: Entry): ConfChangeOutcome {
  const cc = decodeConfChange(entry.data);
  const member = parseContext(cc.context, cc.nodeId);
  const requestId = member.requestId ?? "";
  const rejected = validate(ctx, cc.type, cc.nodeId);
  if (rejected !== undefined) return { requestId, error: rejected };
  ctx.confState = ctx.raft.applyConfChange(cc);
  switch (cc.type) {
    case "addNode":
    case "updateNode": {
      const value = JSON.stringify({ peerURLs: member.peerURLs });
      ctx.store.set(`${membersDir}/${cc.nodeId}/raftAttributes`, false, value, PERMANENT);
      break;
    }
    case "removeNode":
      ctx.store.delete(`${membersDir}/${cc.nodeId}`, true, true);
      ctx.store.set(`${removedMembersDir}/${cc.nodeId}`, false, "removed", PERMANENT);
      break;
  }
  ctx.onMembersChanged(cc.type, cc.nodeId);
  return { requestId, error: undefined };
}
