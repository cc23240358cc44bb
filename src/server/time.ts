/**
 * The server's view of time, passed in: the real clock and timers at the edge
 * (member/real-time.ts), a simulated clock in a deterministic test. The server reads no clock
 * and arms no timer except through this.
 */
export type Cancel = () => void;

export interface Time {
  /** Wall-clock milliseconds since the epoch (TTL deadlines, ids, stats times). */
  now(): number;
  /** Monotonic milliseconds, for short durations (snapshot slices). */
  monotonic(): number;
  /** Runs `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void): Cancel;
  /** Runs `fn` once after `ms`, unless cancelled first. */
  after(ms: number, fn: () => void): Cancel;
  /** Runs `fn` after the current I/O turn, so requests of one turn share a batch. */
  soon(fn: () => void): void;
  sleep(ms: number): Promise<void>;
}
