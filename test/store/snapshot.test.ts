/** save()/recover(): a recovered store behaves exactly like the original. */
import { describe, expect, test } from "bun:test";
import type { Event } from "../../src/store/event.ts";
import { eventToJson } from "../../src/store/render.ts";
import { Store } from "../../src/store/store.ts";
import { FakeClock, freshEtcdStore, permanent } from "./helpers.ts";

const t0 = 1_800_000_000_000;

function populated(clock: FakeClock): Store {
  const s = freshEtcdStore(clock, 8);
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
    const s = populated(clock);
    const snap = s.save();
    const r = Store.recover(snap, clock);
    expect(r.save()).toBe(snap);
    expect(r.index()).toBe(s.index());
    expect(r.stats).toEqual({ ...s.stats, watchers: 0 });
    expect(eventToJson(r.get("/1", true, true), clock)).toBe(
      eventToJson(s.get("/1", true, true), clock),
    );
  });

  test("both stores answer the same sequence identically (TTL, watches, history, 401)", () => {
    const clock = new FakeClock(t0);
    const s = populated(clock);
    const r = Store.recover(s.save(), clock);
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
    const s = new Store(clock);
    s.set("/1/e", false, "1", { expireTime: t0 + 10, refresh: false });
    clock.advance(60_000);
    const r = Store.recover(s.save(), clock);
    expect(r.hasTTLKeys()).toBe(true);
    r.deleteExpiredKeys(clock.now());
    expect([r.hasTTLKeys(), r.index(), r.stats.expireCount]).toEqual([false, 2, 1]);
  });

  test("malformed snapshots are rejected", () => {
    const clock = new FakeClock();
    const good = JSON.parse(new Store(clock).save());
    const bad = [
      "not json",
      "{}",
      JSON.stringify({ ...good, version: 2 }),
      JSON.stringify({ ...good, currentIndex: -0.5 }),
      JSON.stringify({ ...good, root: { ...good.root, path: "/x" } }),
      JSON.stringify({ ...good, history: { capacity: 0, events: [] } }),
    ];
    for (const b of bad) expect(() => Store.recover(b, clock)).toThrow(/store snapshot/);
  });
});

test("restore keeps registered watchers, which fire on later changes", () => {
  const clock = new FakeClock(t0);
  const donor = populated(clock);
  const s = new Store(clock);
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
