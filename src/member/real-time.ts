/** The real clock and timers, for the server (see server/time.ts). */
import type { Time } from "../server/time.ts";

export const realTime: Time = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  soon: (fn) => {
    setImmediate(fn);
  },
  sleep: (ms) => Bun.sleep(ms),
};
