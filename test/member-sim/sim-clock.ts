/**
 * One member's view of the simulation's clock: timers on the shared ManualTime that all stop
 * when the member crashes, so a dead server never runs again. An error thrown by one of its
 * callbacks goes to `onError`, as the process's fatal handler would take it.
 */
import type { Cancel, Time } from "../../src/server/time.ts";
import type { ManualTime } from "../support/manual-time.ts";

export class MemberClock implements Time {
  private readonly cancels = new Set<Cancel>();
  private dead = false;

  constructor(
    private readonly shared: ManualTime,
    private readonly onError: (error: unknown) => void,
  ) {}

  now(): number {
    return this.shared.now();
  }

  monotonic(): number {
    return this.shared.monotonic();
  }

  every(ms: number, fn: () => void): Cancel {
    return this.track(this.shared.every(ms, () => this.run(fn)));
  }

  after(ms: number, fn: () => void): Cancel {
    // A fired timer leaves the set, which would otherwise hold every message ever delivered.
    const cancel = this.shared.after(ms, () => {
      this.cancels.delete(cancel);
      this.run(fn);
    });
    return this.track(cancel);
  }

  soon(fn: () => void): void {
    this.shared.soon(() => this.run(fn));
  }

  private run(fn: () => void): void {
    if (this.dead) return;
    try {
      fn();
    } catch (error) {
      this.onError(error);
    }
  }

  /** A dead member's sleeps never end. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  kill(): void {
    this.dead = true;
    for (const cancel of this.cancels) cancel();
    this.cancels.clear();
  }

  private track(cancel: Cancel): Cancel {
    this.cancels.add(cancel);
    return () => {
      this.cancels.delete(cancel);
      cancel();
    };
  }
}
