/**
 * Operation counters of `/v2/stats/store` (etcd's store `Stats`). They are local to a member
 * and count exactly what etcd counts, including its quirks (see store.ts).
 */

/** Field order is etcd's JSON order. */
export const statsFields = [
  "getsSuccess",
  "getsFail",
  "setsSuccess",
  "setsFail",
  "deleteSuccess",
  "deleteFail",
  "updateSuccess",
  "updateFail",
  "createSuccess",
  "createFail",
  "compareAndSwapSuccess",
  "compareAndSwapFail",
  "compareAndDeleteSuccess",
  "compareAndDeleteFail",
  "expireCount",
] as const;

export type StatsCounter = (typeof statsFields)[number];

export type StoreStats = Record<StatsCounter | "watchers", number>;

export function newCounters(): Record<StatsCounter, number> {
  const c = {} as Record<StatsCounter, number>;
  for (const f of statsFields) c[f] = 0;
  return c;
}
