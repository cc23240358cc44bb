/**
 * Proposal waiters: a client request waits under its id until the entry carrying it is applied
 * (or the request times out). Ids are unique per member process: the member id, the start time
 * and a counter, so entries proposed by other members never resolve a local waiter.
 */
import type { Cancel, Time } from "./time.ts";

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  /** Epoch ms after which the sweep rejects it with `onTimeout()`. */
  deadline: number;
  onTimeout: () => unknown;
}

/**
 * How often pending waiters are checked for their deadline. One sweep timer instead of a timer
 * per request: arming and clearing a timer per write was a visible share of the write path.
 */
const SWEEP_MS = 25;

export class Waiters<T> {
  private readonly pending = new Map<string, Waiter<T>>();
  private counter = 0;
  private readonly prefix: string;
  private stopSweep: Cancel | undefined;

  constructor(
    memberId: string,
    private readonly time: Time,
  ) {
    this.prefix = `${memberId}.${time.now().toString(36)}.`;
  }

  nextId(): string {
    this.counter += 1;
    return this.prefix + this.counter.toString(36);
  }

  /** Registers a waiter; the promise settles when `trigger`/`fail` is called or after timeoutMs. */
  wait(id: string, timeoutMs: number, onTimeout: () => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadline: this.time.now() + timeoutMs, onTimeout });
      this.stopSweep ??= this.time.every(SWEEP_MS, () => this.sweep());
    });
  }

  /** Brings every pending waiter's timeout forward to at most `ms` from now. */
  expireAllWithin(ms: number, onTimeout: () => unknown): void {
    const deadline = this.time.now() + ms;
    for (const waiter of this.pending.values()) {
      if (deadline >= waiter.deadline) continue;
      waiter.deadline = deadline;
      waiter.onTimeout = onTimeout;
    }
  }

  private sweep(): void {
    const now = this.time.now();
    for (const [id, waiter] of this.pending) {
      if (waiter.deadline > now) continue;
      this.pending.delete(id);
      this.failed++;
      waiter.reject(waiter.onTimeout());
    }
    if (this.pending.size === 0) this.endSweep();
  }

  trigger(id: string, value: T): void {
    const waiter = this.pending.get(id);
    if (waiter === undefined) return;
    this.pending.delete(id);
    waiter.resolve(value);
  }

  fail(id: string, error: unknown): void {
    const waiter = this.pending.get(id);
    if (waiter === undefined) return;
    this.pending.delete(id);
    this.failed++;
    waiter.reject(error);
  }

  /** Rejects every pending waiter with `error()` (the member is stopping). */
  failAll(error: () => unknown): void {
    const pending = [...this.pending.values()];
    this.failed += pending.length;
    this.pending.clear();
    for (const waiter of pending) waiter.reject(error());
    this.endSweep();
  }

  private endSweep(): void {
    this.stopSweep?.();
    this.stopSweep = undefined;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Waiters rejected so far (timeouts, failures, stop): etcd_server_proposals_failed_total. */
  failed = 0;
}
