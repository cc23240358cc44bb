/**
 * Proposal waiters: a client request waits under its id until the entry carrying it is applied
 * (or the request times out). Ids are unique per member process: the member id, the start time
 * and a counter, so entries proposed by other members never resolve a local waiter.
 */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  /** Brings the timeout forward to `ms` from now (never later than it was). */
  expireWithin(ms: number, onTimeout: () => unknown): void;
}

export class Waiters<T> {
  private readonly pending = new Map<string, Waiter<T>>();
  private counter = 0;
  private readonly prefix: string;

  constructor(memberId: string, startMs: number) {
    this.prefix = `${memberId}.${startMs.toString(36)}.`;
  }

  nextId(): string {
    this.counter += 1;
    return this.prefix + this.counter.toString(36);
  }

  /** Registers a waiter; the promise settles when `trigger`/`fail` is called or after timeoutMs. */
  wait(id: string, timeoutMs: number, onTimeout: () => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let deadline = Date.now() + timeoutMs;
      const arm = (ms: number, why: () => unknown) =>
        setTimeout(() => {
          if (this.pending.delete(id)) reject(why());
        }, ms);
      let timer = arm(timeoutMs, onTimeout);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        expireWithin: (ms, why) => {
          if (Date.now() + ms >= deadline) return;
          deadline = Date.now() + ms;
          clearTimeout(timer);
          timer = arm(ms, why);
        },
      });
    });
  }

  /** Brings every pending waiter's timeout forward to at most `ms` from now. */
  expireAllWithin(ms: number, onTimeout: () => unknown): void {
    for (const waiter of this.pending.values()) waiter.expireWithin(ms, onTimeout);
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
    waiter.reject(error);
  }

  get size(): number {
    return this.pending.size;
  }
}
