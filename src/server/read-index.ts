/**
 * Linearizable reads (Raft thesis §6.4): a read waits until this member has applied everything
 * committed when it was asked, as confirmed by the leader's quorum through ReadIndex. Reads that
 * arrive while one ReadIndex is in flight share the next one. A ReadIndex request or its answer
 * can be lost (a peer stream breaks): after READ_INDEX_RETRY_MS its reads are asked for again
 * (etcd 3.5 does the same), and a late answer to the old request is ignored.
 */
import type { ReadState } from "../raft/types.ts";
import type { Time } from "./time.ts";

/** A ReadIndex unanswered for this long is asked again (etcd 3.5's readIndexRetryTime). */
export const READ_INDEX_RETRY_MS = 500;

interface ReadWaiter {
  resolve(): void;
  fail(error: unknown): void;
}

export interface ReadIndexHost {
  readonly time: Time;
  /** Asks Raft for a ReadIndex under `ctx`; false if it was dropped (no leader). */
  askReadIndex(ctx: string): boolean;
  newContext(): string;
  hasLeader(): boolean;
  appliedIndex(): number;
  timeoutMs(): number;
  timeoutError(): unknown;
}

export class LinearizableReads {
  private waiting = new Set<ReadWaiter>();
  private readonly inFlight = new Map<string, Set<ReadWaiter>>();
  private ready: { index: number; batch: Set<ReadWaiter> }[] = [];
  private askedAt = 0;
  /** Reads that timed out (etcd_server_read_indexes_failed_total). */
  failed = 0;

  constructor(private readonly host: ReadIndexHost) {}

  /** Resolves once a local read would be linearizable; rejects on timeout. */
  read(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cancelTimeout = this.host.time.after(this.host.timeoutMs(), () => {
        this.waiting.delete(waiter);
        for (const batch of this.inFlight.values()) batch.delete(waiter);
        this.failed++;
        reject(this.host.timeoutError());
      });
      const waiter: ReadWaiter = {
        resolve: () => {
          cancelTimeout();
          resolve();
        },
        fail: (error) => {
          cancelTimeout();
          reject(error);
        },
      };
      this.waiting.add(waiter);
      this.ask();
    });
  }

  /** Sends one ReadIndex for every waiting read, unless one is already in flight. */
  ask(): void {
    if (this.waiting.size === 0 || this.inFlight.size > 0) return;
    if (!this.host.hasLeader()) return; // asked again when a leader is known
    const ctx = this.host.newContext();
    const batch = this.waiting;
    this.waiting = new Set();
    this.inFlight.set(ctx, batch);
    this.askedAt = this.host.time.now();
    if (this.host.askReadIndex(ctx)) return;
    // No leader after all (or a transfer): put the batch back until a leader is known.
    this.inFlight.delete(ctx);
    for (const w of batch) this.waiting.add(w);
  }

  /** A ReadIndex answer: its batch may read once `index` is applied. */
  answered(rs: ReadState): void {
    const batch = this.inFlight.get(rs.requestCtx);
    if (batch === undefined) return;
    this.inFlight.delete(rs.requestCtx);
    this.ready.push({ index: rs.index, batch });
  }

  /** Releases the reads whose index is applied, then asks for the waiting ones. */
  release(): void {
    const applied = this.host.appliedIndex();
    const still: { index: number; batch: Set<ReadWaiter> }[] = [];
    for (const r of this.ready) {
      if (r.index <= applied) for (const w of r.batch) w.resolve();
      else still.push(r);
    }
    this.ready = still;
    this.ask();
  }

  /** Called on every tick: a ReadIndex unanswered for too long is asked again. */
  retryLost(): void {
    if (this.inFlight.size === 0) return;
    if (this.host.time.now() - this.askedAt < READ_INDEX_RETRY_MS) return;
    this.requeueInFlight();
    this.ask();
  }

  /** A ReadIndex asked of a deposed leader may never be answered: ask the new one. */
  leaderChanged(): void {
    this.requeueInFlight();
  }

  /** Fails every read (the member is stopping). */
  failAll(error: () => unknown): void {
    const batches = [this.waiting, ...this.inFlight.values(), ...this.ready.map((r) => r.batch)];
    this.waiting = new Set();
    this.inFlight.clear();
    this.ready = [];
    for (const batch of batches) for (const w of batch) w.fail(error());
  }

  private requeueInFlight(): void {
    for (const batch of this.inFlight.values()) for (const w of batch) this.waiting.add(w);
    this.inFlight.clear();
  }
}
