/** Shared fakes for store tests: a settable clock and a store pre-filled like a fresh etcd. */
import { Store } from "../../src/store/store.ts";

export class FakeClock {
  constructor(public nowMs = 1_800_000_000_000) {}
  now(): number {
    return this.nowMs;
  }
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export const permanent = { expireTime: 0, refresh: false } as const;

/**
 * A store whose index is 3 after the three internal writes a fresh 1-member etcd 3.4 makes
 * (member raftAttributes, member attributes, cluster version): the first user write gets
 * index 4, as on the real binary.
 */
export function freshEtcdStore(historyCapacity?: number): Store {
  const s = new Store(historyCapacity === undefined ? {} : { historyCapacity });
  s.create("/0/members/8e9e05c52164694d/raftAttributes", false, "{}", false, permanent);
  s.set("/0/members/8e9e05c52164694d/attributes", false, "{}", permanent);
  s.set("/0/version", false, "3.4.0", permanent);
  return s;
}
