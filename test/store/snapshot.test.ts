/** save()/recover(): a recovered store behaves exactly like the original. */
import { describe, expect, test } from "bun:test";
import type { Event } from "../../src/store/event.ts";
import { eventToJson } from "../../src/store/render.ts";
import { Store } from "../../src/store/store.ts";
import { FakeClock, freshEtcdStore, permanent } from "./helpers.ts";

const t0 = 1_800_000_000_000;

function populated(): Store {
  const s = freshEtcdStore(8);
  s.set("/1/a", false, "1", permanent);
  s.set("/1/dir/x", false, "x", { expireTime: t0 + 1000, refresh: false });
  s.set("/1/dir/_h", false, "hidden", permanent);
  s.update("/1/dir", "", { expireTime: t0 + 5000, refresh: false });
  s.update("/1/dir/x", "", { expireTime: t0 + 2000, refresh: true });
  s.create("/1/q", false, "in-order", true, permanent);
  s.delete("/1/a", false, false);
  s.set("/1/quote", false, '"<\n>\u{1F600}', permanent);
  s.get("/1", true, true);
  return s;
}

describe("save and recover", () => {
  test("round trip is exact and stable", () => {
    const clock = new FakeClock(t0);
    const s = populated();
    const snap = s.save();
    const r = Store.recover(snap);
    expect(r.save()).toBe(snap);
    expect(r.index()).toBe(s.index());
    expect(r.stats).toEqual({ ...s.stats, watchers: 0 });
    expect(eventToJson(r.get("/1", true, true), clock)).toBe(
      eventToJson(s.get("/1", true, true), clock),
    );
  });

  test("both stores answer the same sequence identically (TTL, watches, history, 401)", () => {
    const clock = new FakeClock(t0);
    const s = populated();
    const r = Store.recover(s.save());
    const script = (st: Store): string[] => {
      const out: string[] = [];
      const log = (e: Event) => out.push(eventToJson(e, clock));
      for (const since of [2, 5, 9]) {
        try {
          st.watch({ key: "/1", recursive: true, stream: false, sinceIndex: since }, log, () => {});
        } catch (err) {
          out.push(String(err));
        }
      }
      st.watch({ key: "/1/dir/x", recursive: false, stream: true, sinceIndex: 0 }, log, () => {});
      st.deleteExpiredKeys(t0 + 1500);
      st.deleteExpiredKeys(t0 + 6000);
      out.push(String(st.hasTTLKeys()), String(st.index()));
      st.set("/1/new", false, "n", permanent);
      out.push(eventToJson(st.get("/1", true, true), clock));
      return out;
    };
    const a = script(s);
    expect(script(r)).toEqual(a);
    expect(a[0]).toContain("history has been cleared");
    expect(a.some((x) => x.includes(`"action":"expire"`))).toBe(true);
  });

  test("already expired TTL keys go at the next deleteExpiredKeys", () => {
    const clock = new FakeClock(t0);
    const s = new Store();
    s.set("/1/e", false, "1", { expireTime: t0 + 10, refresh: false });
    clock.advance(60_000);
    const r = Store.recover(s.save());
    expect(r.hasTTLKeys()).toBe(true);
    r.deleteExpiredKeys(clock.now());
    expect([r.hasTTLKeys(), r.index(), r.stats.expireCount]).toEqual([false, 2, 1]);
  });

  test("malformed snapshots are rejected", () => {
    const good = JSON.parse(new Store().save());
    const bad = [
      "not json",
      "{}",
      JSON.stringify({ ...good, version: 2 }),
      JSON.stringify({ ...good, currentIndex: -0.5 }),
      JSON.stringify({ ...good, root: { ...good.root, path: "/x" } }),
      JSON.stringify({ ...good, history: { capacity: 0, events: [] } }),
    ];
    for (const b of bad) expect(() => Store.recover(b)).toThrow(/store snapshot/);
  });
});

test("restore keeps registered watchers, which fire on later changes", () => {
  const donor = populated();
  const s = new Store();
  const seen: string[] = [];
  s.watch(
    { key: "/1/later", recursive: false, stream: false, sinceIndex: 0 },
    (e) => seen.push(e.node.key),
    () => {},
  );
  s.restore(donor.save());
  expect([s.index(), s.stats.watchers]).toEqual([donor.index(), 1]);
  s.set("/1/later", false, "x", permanent);
  expect(seen).toEqual(["/1/later"]);
});

describe("snapshot written while the store changes", () => {
  /** Deterministic PRNG (mulberry32), so a failure replays. */
  function rng(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function randomOp(s: Store, r: () => number): void {
    const dir = `/1/d${Math.floor(r() * 6)}`;
    const key = `${dir}/s${Math.floor(r() * 3)}/k${Math.floor(r() * 40)}`;
    const ttl = { expireTime: t0 + Math.floor(r() * 4000), refresh: false };
    const ops = [
      () => s.set(key, false, `v${r()}`, permanent),
      () => s.set(key, false, "ttl", ttl),
      () => s.update(key, `u${r()}`, r() < 0.5 ? ttl : permanent),
      () => s.compareAndSwap(key, "", 0, `c${r()}`, permanent),
      () => s.delete(key, false, false),
      () => (r() < 0.1 ? s.delete(dir, true, true) : s.set(`${key}x`, false, "x", permanent)),
      () => s.create(dir, false, "queued", true, permanent),
      () => s.compareAndDelete(key, "", 0),
      () => s.deleteExpiredKeys(t0 + Math.floor(r() * 4000)),
    ];
    try {
      (ops[Math.floor(r() * ops.length)] as () => void)();
    } catch {
      // Failed operations (not found, not a file, ...) are part of the mix.
    }
  }

  for (const seed of [1, 2, 3, 4, 5]) {
    test(`the image is the state at the start (seed ${seed})`, () => {
      const r = rng(seed);
      const s = freshEtcdStore(50);
      for (let i = 0; i < 1500; i++) randomOp(s, r);
      for (let d = 0; d < 6; d++)
        for (let k = 0; k < 120; k += 2)
          s.set(`/1/d${d}/s${k % 3}/k${k}`, false, "base", permanent);
      const expected = s.save();
      const writer = s.beginSnapshot();
      let steps = 0;
      // A deadline already past: each step writes 64 nodes, then operations run in between.
      while (!writer.step(() => false)) {
        steps++;
        for (let i = 0; i < 20; i++) randomOp(s, r);
      }
      expect(steps).toBeGreaterThan(3);
      expect(new TextDecoder().decode(writer.bytes())).toBe(expected);
      expect(s.save()).not.toBe(expected);
      // The writer is done: a new one starts, copying nodes the first one had marked.
      const again = s.save();
      expect(Store.recover(again).save()).toBe(again);
    });
  }

  test("restoring another state while writing leaves the image unchanged", () => {
    const r = rng(9);
    const s = freshEtcdStore(50);
    for (let i = 0; i < 800; i++) randomOp(s, r);
    const donor = populated();
    const expected = s.save();
    const writer = s.beginSnapshot();
    writer.step(() => false);
    s.restore(donor.save());
    for (let i = 0; i < 200; i++) randomOp(s, r);
    while (!writer.step(() => false)) randomOp(s, r);
    expect(new TextDecoder().decode(writer.bytes())).toBe(expected);
  });

  test("one writer at a time; an abandoned one stops taking copies", () => {
    const s = populated();
    const writer = s.beginSnapshot();
    expect(() => s.beginSnapshot()).toThrow(/already being written/);
    writer.abandon();
    const next = s.beginSnapshot();
    expect(next.step(() => true)).toBe(true);
    expect(new TextDecoder().decode(next.bytes())).toBe(s.save());
  });
});
