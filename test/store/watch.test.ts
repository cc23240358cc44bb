/**
 * Watches (spec 1.8, 1.9): live matching, recursion, hidden keys, ancestor delete/expire
 * delivery, refresh suppression, history scans and 401, one-shot vs stream, removal and the
 * `watchers` stat. [V] = observed on etcd 3.4.23.
 */
import { describe, expect, test } from "bun:test";
import { EtcdError } from "../../src/store/errors.ts";
import type { Event } from "../../src/store/event.ts";
import { Store } from "../../src/store/store.ts";
import { permanent } from "./helpers.ts";

interface Probe {
  events: Event[];
  removed: number;
  keys(): string[];
}

function watchOn(
  s: Store,
  key: string,
  opts: { recursive?: boolean; stream?: boolean; sinceIndex?: number } = {},
): Probe & { w: ReturnType<Store["watch"]> } {
  const p: Probe = {
    events: [],
    removed: 0,
    keys() {
      return this.events.map((e) => `${e.action} ${e.node.key}@${e.node.modifiedIndex}`);
    },
  };
  const w = s.watch(
    {
      key,
      recursive: opts.recursive ?? false,
      stream: opts.stream ?? false,
      sinceIndex: opts.sinceIndex ?? 0,
    },
    (e) => p.events.push(e),
    () => p.removed++,
  );
  return Object.assign(p, { w });
}

describe("live watches", () => {
  // [watch key, recursive, write, expected deliveries]
  type Case = [string, boolean, (s: Store) => void, string[]];
  const cases: Case[] = [
    ["/1/a", false, (s) => s.set("/1/a", false, "v", permanent), ["set /1/a@2"]],
    ["/1/a", false, (s) => s.set("/1/a/b", false, "v", permanent), []],
    ["/1/a", true, (s) => s.set("/1/a/b", false, "v", permanent), ["set /1/a/b@2"]],
    ["/1", true, (s) => s.set("/1/x/y", false, "v", permanent), ["set /1/x/y@2"]],
    ["/1/a", true, (s) => s.set("/1/ab", false, "v", permanent), []],
    // Hidden: a recursive watcher above a `_` element does not see it [V]; on the key itself it does.
    ["/1", true, (s) => s.set("/1/_h", false, "v", permanent), []],
    ["/1", true, (s) => s.set("/1/x/_h/y", false, "v", permanent), []],
    ["/1/x/_h", true, (s) => s.set("/1/x/_h/y", false, "v", permanent), ["set /1/x/_h/y@2"]],
    ["/1/_h", false, (s) => s.set("/1/_h", false, "v", permanent), ["set /1/_h@2"]],
    // A delete of an ancestor dir reaches watchers inside it, recursive or not [V].
    ["/1/g/h", false, (s) => s.delete("/1/g", false, true), ["delete /1/g@3"]],
    ["/1/g/_h", false, (s) => s.delete("/1/g", false, true), ["delete /1/g@3"]],
    ["/1/g/nope", false, (s) => s.delete("/1/g", false, true), []],
    // Refreshes are never delivered [V].
    [
      "/1/a",
      false,
      (s) => s.update("/1/a", "", { expireTime: 1_800_000_009_000, refresh: true }),
      [],
    ],
  ];
  for (const [key, recursive, write, want] of cases) {
    test(`${key}${recursive ? " (recursive)" : ""}: ${write.toString().slice(8, 60)}`, () => {
      const s = new Store();
      if (key.startsWith("/1/g")) {
        s.set("/1/g/h", false, "v", permanent);
        s.set("/1/g/_h", false, "v", permanent);
      } else if (want.length === 0 && write.toString().includes("refresh")) {
        s.set("/1/a", false, "v", { expireTime: 1_800_000_001_000, refresh: false });
      } else s.set("/1/seed", false, "v", permanent);
      const p = watchOn(s, key, { recursive });
      write(s);
      expect(p.keys()).toEqual(want);
    });
  }

  test("ancestor dir expiry reaches watchers inside it [V]", () => {
    const s = new Store();
    s.set("/1/td/sub/k", false, "1", permanent);
    s.update("/1/td", "", { expireTime: 1_800_000_001_000, refresh: false });
    const inner = watchOn(s, "/1/td/sub/k");
    const rec = watchOn(s, "/1/td", { recursive: true });
    s.deleteExpiredKeys(1_800_000_001_000);
    expect(inner.keys()).toEqual(["expire /1/td@3"]);
    expect(rec.keys()).toEqual(["expire /1/td@3"]);
  });

  test("one-shot fires once, then onRemoved; watchers stat follows", () => {
    const s = new Store();
    const p = watchOn(s, "/1/a");
    expect(s.stats.watchers).toBe(1);
    s.set("/1/a", false, "1", permanent);
    s.set("/1/a", false, "2", permanent);
    expect([p.events.length, p.removed, s.stats.watchers]).toEqual([1, 1, 0]);
    p.w.remove();
    expect(s.stats.watchers).toBe(0);
  });

  test("stream keeps firing until remove(); remove is idempotent and silent", () => {
    const s = new Store();
    const p = watchOn(s, "/1", { recursive: true, stream: true });
    s.set("/1/a", false, "1", permanent);
    s.set("/1/b", false, "2", permanent);
    p.w.remove();
    p.w.remove();
    s.set("/1/c", false, "3", permanent);
    expect([p.keys(), p.removed, s.stats.watchers]).toEqual([["set /1/a@1", "set /1/b@2"], 0, 0]);
  });

  test("a stream watcher on a deleted key gets the event twice, as etcd does [V]", () => {
    const s = new Store();
    s.set("/1/w1", false, "1", permanent);
    const p = watchOn(s, "/1/w1", { stream: true });
    s.delete("/1/w1", false, false);
    expect(p.keys()).toEqual(["delete /1/w1@2", "delete /1/w1@2"]);
  });

  test("callbacks run after the operation and may write to the store", () => {
    const s = new Store();
    const order: string[] = [];
    s.watch(
      { key: "/1/a", recursive: false, stream: false, sinceIndex: 0 },
      (e) => {
        order.push(`a@${e.node.modifiedIndex} index=${s.index()}`);
        s.set("/1/b", false, "from callback", permanent);
      },
      () => {},
    );
    const b = watchOn(s, "/1/b", { stream: true });
    s.set("/1/a", false, "1", permanent);
    expect(order).toEqual(["a@1 index=1"]);
    expect(b.keys()).toEqual(["set /1/b@2"]);
  });
});

describe("history", () => {
  test("waitIndex in history returns the first match at or after it [V]", () => {
    const s = new Store();
    s.set("/1/a", false, "1", permanent);
    s.set("/1/b", false, "1", permanent);
    s.set("/1/a", false, "2", permanent);
    const p = watchOn(s, "/1/a", { sinceIndex: 2 });
    expect([p.keys(), p.removed, s.stats.watchers]).toEqual([["set /1/a@3"], 1, 0]);
    expect(p.events[0]?.etcdIndex).toBe(3);
    expect(p.w.startIndex).toBe(3);
  });

  test("future waitIndex waits; the live event must reach the index", () => {
    const s = new Store();
    s.set("/1/a", false, "1", permanent);
    const p = watchOn(s, "/1/a", { sinceIndex: 3 });
    s.set("/1/a", false, "2", permanent);
    expect(p.events).toEqual([]);
    s.set("/1/a", false, "3", permanent);
    expect(p.keys()).toEqual(["set /1/a@3"]);
  });

  test("history scans skip refreshes but do not filter hidden keys [V]", () => {
    const s = new Store();
    s.set("/1/a", false, "1", { expireTime: 1_800_000_009_000, refresh: false });
    s.update("/1/a", "", { expireTime: 1_800_000_009_000, refresh: true });
    s.set("/1/_h", false, "1", permanent);
    expect(watchOn(s, "/1/a", { sinceIndex: 2 }).events).toEqual([]);
    expect(watchOn(s, "/1", { recursive: true, sinceIndex: 2 }).keys()).toEqual(["set /1/_h@3"]);
  });

  test("history matches a deleted dir by raw prefix (/foo2 sees delete /foo) [V]", () => {
    const s = new Store();
    s.set("/1/foo/x", false, "1", permanent);
    s.delete("/1/foo", false, true);
    expect(watchOn(s, "/1/foo2", { sinceIndex: 2 }).keys()).toEqual(["delete /1/foo@2"]);
    // Inside the deleted dir: the set of /1/foo/x is no match, the dir delete is.
    expect(watchOn(s, "/1/foo/x/y", { sinceIndex: 1 }).keys()).toEqual(["delete /1/foo@2"]);
  });

  test("a stream watch that hits history gets that event only [V]", () => {
    const s = new Store();
    s.set("/1/w2", false, "1", permanent);
    const p = watchOn(s, "/1/w2", { stream: true, sinceIndex: 1 });
    s.set("/1/w2", false, "2", permanent);
    expect([p.keys(), p.removed, s.stats.watchers]).toEqual([["set /1/w2@1"], 0, 0]);
  });

  test("401 when waitIndex predates the history [V message]", () => {
    const s = new Store({ historyCapacity: 4 });
    for (let i = 0; i < 6; i++) s.set("/1/a", false, String(i), permanent);
    let err: unknown;
    try {
      watchOn(s, "/1/a", { sinceIndex: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EtcdError);
    const e = err as EtcdError;
    expect([e.code, e.cause, e.index, e.status]).toEqual([
      401,
      "the requested history has been cleared [3/2]",
      6,
      400,
    ]);
    expect(watchOn(s, "/1/a", { sinceIndex: 3 }).keys()).toEqual(["set /1/a@3"]);
  });
});
