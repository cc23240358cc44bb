/**
 * Pending ReadIndex requests on the leader (Raft thesis §6.4): each waits for a quorum of
 * heartbeat acks carrying its context, proving the leader was still leader when it recorded
 * the commit index. Requests complete in arrival order.
 */

import { assert } from "../util/assert.ts";
import type { NodeId } from "./types.ts";

export interface ReadIndexRequest {
  /** The commit index when the request arrived; the read is served once applied reaches it. */
  index: number;
  /** Who asked: the leader itself, or a follower to answer with MsgReadIndexResp. */
  from: NodeId;
  context: string;
  acks: Set<NodeId>;
}

export class ReadOnly {
  private pending = new Map<string, ReadIndexRequest>();
  private queue: string[] = [];

  /** Records a request; a duplicate context is ignored (the first one stands). */
  add(index: number, from: NodeId, context: string): void {
    assert(context !== "", "read index context must not be empty");
    if (this.pending.has(context)) return;
    this.pending.set(context, { index, from, context, acks: new Set() });
    this.queue.push(context);
  }

  /** Records an ack and returns the acks so far for that context (undefined if unknown). */
  recvAck(id: NodeId, context: string): Set<NodeId> | undefined {
    const req = this.pending.get(context);
    if (req === undefined) return undefined;
    req.acks.add(id);
    return req.acks;
  }

  /** Completes the request for `context` and every request queued before it. */
  advance(context: string): ReadIndexRequest[] {
    const at = this.queue.indexOf(context);
    if (at < 0) return [];
    const done: ReadIndexRequest[] = [];
    for (const ctx of this.queue.slice(0, at + 1)) {
      const req = this.pending.get(ctx);
      assert(req !== undefined, `read index queue out of sync at ${ctx}`);
      this.pending.delete(ctx);
      done.push(req);
    }
    this.queue = this.queue.slice(at + 1);
    return done;
  }

  /** The context of the most recent request, to piggyback on the next heartbeat. */
  lastPendingContext(): string {
    return this.queue[this.queue.length - 1] ?? "";
  }

  size(): number {
    return this.queue.length;
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}
