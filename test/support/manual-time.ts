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
  private timers: Timer[] = [];
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
      const next = this.timers
        .filter((t) => !t.cancelled && t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.clock = next.at;
      if (next.every === undefined) next.cancelled = true;
      else next.at += next.every;
      next.fn();
      this.runSoon();
    }
    this.clock = end;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  private add(ms: number, every: number | undefined, fn: () => void): Cancel {
    const timer: Timer = { at: this.clock + ms, seq: this.seq++, every, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }
}
