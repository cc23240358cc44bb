/**
 * Proposals on their way into Raft. Those of one turn of the event loop are handed to Raft
 * together (one MsgProp, one MsgApp per follower per batch). With no leader known, or when Raft
 * drops a batch (a leader transfer), they are parked and proposed again once a leader is known,
 * unless they waited longer than a request may: such a request was answered already (error
 * 300, outcome unknown), and its write is dropped rather than applied late.
 */
import type { Time } from "./time.ts";

export interface ProposalHost {
  readonly time: Time;
  hasLeader(): boolean;
  /** Hands a batch to Raft; false if Raft dropped it (no leader, or a transfer under way). */
  proposeMany(batch: Uint8Array[]): boolean;
  /** Asks the Ready loop to run. */
  schedule(): void;
  /** How long a client waits for its request (parked proposals older than that are dropped). */
  requestTimeoutMs(): number;
}

interface Pending {
  readonly data: Uint8Array;
  readonly sinceMs: number;
}

export class ProposalQueue {
  private parked: Pending[] = [];
  private queued: Pending[] = [];

  constructor(private readonly host: ProposalHost) {}

  /** Queues a proposal for the next batch (or parks it while there is no leader). */
  add(data: Uint8Array, sinceMs = this.host.time.now()): void {
    if (!this.host.hasLeader()) {
      this.parked.push({ data, sinceMs });
      return;
    }
    this.queued.push({ data, sinceMs });
    this.host.schedule();
  }

  /** Hands the queued proposals to Raft as one batch (from the Ready loop). */
  flush(): void {
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    if (!this.host.proposeMany(batch.map((p) => p.data))) this.parked.push(...batch);
  }

  /** A leader is known: propose what was parked, unless its client gave up on it already. */
  leaderKnown(): void {
    if (this.parked.length === 0) return;
    const parked = this.parked;
    this.parked = [];
    const oldestMs = this.host.time.now() - this.host.requestTimeoutMs();
    for (const p of parked) if (p.sinceMs > oldestMs) this.add(p.data, p.sinceMs);
  }
}
