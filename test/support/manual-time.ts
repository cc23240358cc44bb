/**
 * A clock that moves only when told (server/time.ts): timers fire in deadline order as
 * `advance` passes them, `soon` callbacks run on the next `advance` (or `runSoon`). For
 * deterministic tests of the server's time-dependent parts.
 */
import type { Cancel, Time } from "../../src/server/time.ts";

interface Timer {
  at: number;
  seq: number;
  every: number | undefined;
  fn: () => void;
  cancelled: boolean;
}

export class ManualTime implements Time {
  private clock: number;
  private seq = 0;
  /** A binary min-heap by (at, seq); cancelled timers leave it when they reach the top. */
  private readonly timers: Timer[] = [];
  private soonQueue: (() => void)[] = [];

  constructor(startMs = 1_800_000_000_000) {
    this.clock = startMs;
  }

  now(): number {
    return this.clock;
  }

  monotonic(): number {
    return this.clock;
  }

  every(ms: number, fn: () => void): Cancel {
    return this.add(ms, ms, fn);
  }

  after(ms: number, fn: () => void): Cancel {
    return this.add(ms, undefined, fn);
  }

  soon(fn: () => void): void {
    this.soonQueue.push(fn);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Whether callbacks queued with `soon` wait to run. */
  hasSoon(): boolean {
    return this.soonQueue.length > 0;
  }

  /** Runs the callbacks queued with `soon` (and those they queue). */
  runSoon(): void {
    while (this.soonQueue.length > 0) this.soonQueue.shift()?.();
  }

  /** Moves the clock forward by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): void {
    const end = this.clock + ms;
    this.runSoon();
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.at > end) break;
      this.pop();
      if (next.cancelled) continue;
      this.clock = next.at;
      if (next.every === undefined) next.cancelled = true;
      else {
        next.at += next.every;
        this.push(next);
      }
      next.fn();
      this.runSoon();
    }
    this.clock = end;
  }

  private add(ms: number, every: number | undefined, fn: () => void): Cancel {
    const timer: Timer = { at: this.clock + ms, seq: this.seq++, every, fn, cancelled: false };
    this.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  private push(timer: Timer): void {
    const heap = this.timers;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(timer, heap[parent] as Timer)) break;
      heap[i] = heap[parent] as Timer;
      i = parent;
    }
    heap[i] = timer;
  }

  private pop(): void {
    const heap = this.timers;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && earlier(heap[right] as Timer, heap[left] as Timer) ? right : left;
      if (!earlier(heap[child] as Timer, last)) break;
      heap[i] = heap[child] as Timer;
      i = child;
    }
    heap[i] = last;
  }
}

const earlier = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
