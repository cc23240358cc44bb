/**
 * Store semantics (spec 1.3, 1.8): table-driven over writes, then TTL, expiry, refresh,
 * hidden keys, sorting and the stats counters. Cases marked [V] were checked on etcd 3.4.23.
 */
import { describe, expect, test } from "bun:test";
import { EtcdError } from "../../src/store/errors.ts";
import { eventToJson } from "../../src/store/render.ts";
import { Store } from "../../src/store/store.ts";
import { FakeClock, freshEtcdStore, permanent } from "./helpers.ts";

function codeOf(f: () => unknown): number | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof EtcdError) return err.code;
    throw err;
  }
  return undefined;
}

describe("write operations", () => {
  // Each case runs on a store holding file /1/f="v" (index 1) and dir /1/d with /1/d/x (index 2).
  type Case = [string, (s: Store) => unknown, string | number];
  const cases: Case[] = [
    ["set new file", (s) => s.set("/1/n", false, "a", permanent).action, "set"],
    ["set replaces file", (s) => s.set("/1/f", false, "b", permanent).prevNode?.value, "v"],
    ["set on dir is 102 [V]", (s) => s.set("/1/d", false, "b", permanent), 102],
    ["set dir on dir is 102 [V]", (s) => s.set("/1/d", true, "", permanent), 102],
    ["set dir over file replaces it [V]", (s) => s.set("/1/f", true, "", permanent).node.dir, 1],
    ["set under a file is 104 [V]", (s) => s.set("/1/f/x", false, "b", permanent), 104],
    ["set on /1 is 107 [V]", (s) => s.set("/1", false, "b", permanent), 107],
    ["create new", (s) => s.create("/1/n", false, "a", false, permanent).action, "create"],
    ["create existing is 105 [V]", (s) => s.create("/1/f", false, "a", false, permanent), 105],
    ["create under file is 104 [V]", (s) => s.create("/1/f/x", false, "a", false, permanent), 104],
    [
      "unique create name [V]",
      (s) => s.create("/1/d", false, "a", true, permanent).node.key,
      "/1/d/00000000000000000003",
    ],
    ["unique create on file is 104 [V]", (s) => s.create("/1/f", false, "a", true, permanent), 104],
    ["update file", (s) => s.update("/1/f", "b", permanent).node.value, "b"],
    ["update missing is 100 [V]", (s) => s.update("/1/n", "b", permanent), 100],
    ["update dir with value is 102 [V]", (s) => s.update("/1/d", "b", permanent), 102],
    ["update dir without value [V]", (s) => s.update("/1/d", "", permanent).node.modifiedIndex, 3],
    ["update /1 is 107 [V]", (s) => s.update("/1", "", permanent), 107],
    [
      "cas by value [V]",
      (s) => s.compareAndSwap("/1/f", "v", 0, "b", permanent).action,
      "compareAndSwap",
    ],
    ["cas by index", (s) => s.compareAndSwap("/1/f", "", 1, "b", permanent).node.value, "b"],
    ["cas by both", (s) => s.compareAndSwap("/1/f", "v", 1, "b", permanent).node.modifiedIndex, 3],
    ["cas value mismatch [V]", (s) => s.compareAndSwap("/1/f", "x", 0, "b", permanent), 101],
    ["cas index mismatch [V]", (s) => s.compareAndSwap("/1/f", "", 9, "b", permanent), 101],
    ["cas on dir is 102", (s) => s.compareAndSwap("/1/d", "x", 0, "b", permanent), 102],
    ["cas missing is 100 [V]", (s) => s.compareAndSwap("/1/n", "x", 0, "b", permanent), 100],
    ["cas on /1 is 107 [V]", (s) => s.compareAndSwap("/1", "x", 0, "b", permanent), 107],
    ["delete file", (s) => s.delete("/1/f", false, false).prevNode?.value, "v"],
    ["delete dir without flags is 102 [V]", (s) => s.delete("/1/d", false, false), 102],
    ["delete non-empty dir=true is 108 [V]", (s) => s.delete("/1/d", true, false), 108],
    ["delete recursive [V]", (s) => s.delete("/1/d", false, true).node.dir, 1],
    ["delete file with dir=true", (s) => s.delete("/1/f", true, false).action, "delete"],
    ["delete missing is 100 [V]", (s) => s.delete("/1/n", false, false), 100],
    ["delete /1 is 107 [V]", (s) => s.delete("/1", true, true), 107],
    ["cad by value [V]", (s) => s.compareAndDelete("/1/f", "v", 0).action, "compareAndDelete"],
    ["cad mismatch [V]", (s) => s.compareAndDelete("/1/f", "x", 1), 101],
    ["cad on dir is 102", (s) => s.compareAndDelete("/1/d", "x", 0), 102],
    ["cad on /1 is 102 [V]", (s) => s.compareAndDelete("/1", "x", 0), 102],
  ];
  for (const [name, op, want] of cases) {
    test(name, () => {
      const s = new Store();
      s.set("/1/f", false, "v", permanent);
      s.set("/1/d/x", false, "x", permanent);
      if (typeof want === "number" && want >= 100) {
        expect(codeOf(() => op(s))).toBe(want);
        expect(s.index()).toBe(2);
      } else {
        const got = op(s);
        expect(typeof got === "boolean" ? Number(got) : got).toBe(want);
        expect(s.index()).toBe(3);
      }
    });
  }
});

describe("details", () => {
  test("set of a new key: parents created, no prevNode; a refresh of a missing key is 100", () => {
    const s = new Store();
    const e = s.set("/1/a/b/c", false, "v", permanent);
    expect([e.action, e.prevNode, e.node.modifiedIndex]).toEqual(["set", undefined, 1]);
    expect(s.get("/1/a/b", false, false).node.dir).toBe(true);
    const refresh = { expireTime: 1_800_000_000_000, refresh: true };
    for (const [path, cause] of [
      ["/1/a/b/missing", "/1/a/b/missing"],
      ["/1/x/y", "/1/x"],
    ] as const) {
      try {
        s.set(path, false, "", refresh);
        throw new Error("no error");
      } catch (err) {
        expect([(err as EtcdError).code, (err as EtcdError).cause]).toEqual([100, cause]);
      }
    }
    expect(codeOf(() => s.set("/1/a/b/c/d", false, "", refresh))).toBe(104);
    expect(s.index()).toBe(1);
  });

  test("error causes and indexes [V]", () => {
    const s = new Store();
    s.set("/1/f", false, "v", permanent);
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as EtcdError;
      }
      throw new Error("no error");
    };
    expect(err(() => s.compareAndSwap("/1/f", "x", 7, "b", permanent)).cause).toBe(
      "[x != v] [7 != 1]",
    );
    expect(err(() => s.get("/1/f/g", false, false)).cause).toBe("/1/f");
    expect(err(() => s.get("/1/n/g", false, false)).cause).toBe("/1/n");
    expect(err(() => s.delete("/1", false, false)).cause).toBe("/");
    expect(err(() => s.get("/1/n", false, false)).index).toBe(1);
  });

  test("intermediate dirs are created with the write's index", () => {
    const s = new Store();
    s.set("/1/a/b/c", false, "v", permanent);
    const d = s.get("/1/a/b", false, false).node;
    expect([d.dir, d.createdIndex, d.modifiedIndex]).toEqual([true, 1, 1]);
  });

  test("paths are cleaned like Go's path.Clean", () => {
    const s = new Store();
    s.set("/1//a/./b/../c/", false, "v", permanent);
    expect(s.get("/1/a/c", false, false).node.value).toBe("v");
  });

  test("update on a dir: event has the new index, the dir keeps its own [V]", () => {
    const s = new Store();
    s.set("/1/d", true, "", permanent);
    expect(
      s.update("/1/d", "", { expireTime: 1_800_000_100_000, refresh: false }).node.modifiedIndex,
    ).toBe(2);
    expect(s.get("/1/d", false, false).node.modifiedIndex).toBe(1);
    expect(s.index()).toBe(2);
  });

  test("hidden keys: listed nowhere, readable directly [V]", () => {
    const s = new Store();
    s.set("/1/h/_x", false, "hid", permanent);
    s.set("/1/h/y", false, "vis", permanent);
    s.set("/1/_top/k", false, "t", permanent);
    expect(s.get("/1", true, true).node.nodes?.map((n) => n.key)).toEqual(["/1/h"]);
    expect(s.get("/1/h", true, true).node.nodes?.map((n) => n.key)).toEqual(["/1/h/y"]);
    expect(s.get("/1/h/_x", false, false).node.value).toBe("hid");
    expect(s.get("/1/_top", false, false).node.nodes?.length).toBe(1);
  });

  test("sorted listing sorts every level by key bytes; recursive=false lists one level", () => {
    const s = new Store();
    for (const k of ["b/2", "b/1", "a", "c/z/9", "c/z/1", "\u{1F600}", "\uFFFD"])
      s.set(`/1/${k}`, false, k, permanent);
    const top = s.get("/1", true, true).node.nodes ?? [];
    expect(top.map((n) => n.key)).toEqual(["/1/a", "/1/b", "/1/c", "/1/\uFFFD", "/1/\u{1F600}"]);
    expect(top[1]?.nodes?.map((n) => n.key)).toEqual(["/1/b/1", "/1/b/2"]);
    expect(top[2]?.nodes?.[0]?.nodes?.map((n) => n.key)).toEqual(["/1/c/z/1", "/1/c/z/9"]);
    const flat = s.get("/1", false, true).node.nodes ?? [];
    expect(flat.every((n) => n.nodes === undefined)).toBe(true);
  });

  test("in-order keys are %020d of the new index [V]", () => {
    const s = new Store();
    const a = s.create("/1/q", false, "a", true, permanent);
    const b = s.create("/1/q", true, "", true, permanent);
    expect([a.node.key, b.node.key, b.node.dir]).toEqual([
      "/1/q/00000000000000000001",
      "/1/q/00000000000000000002",
      true,
    ]);
  });
});

describe("TTL", () => {
  const t0 = 1_800_000_000_000;

  test("expiry deletes at cutoff >= expireTime, one expire event per node [V shape]", () => {
    const s = new Store();
    s.set("/1/a", false, "1", { expireTime: t0 + 1000, refresh: false });
    s.set("/1/b", false, "2", { expireTime: t0 + 2000, refresh: false });
    expect(s.hasTTLKeys()).toBe(true);
    s.deleteExpiredKeys(t0 + 999);
    expect(s.index()).toBe(2);
    s.deleteExpiredKeys(t0 + 2000);
    expect(s.index()).toBe(4);
    expect(s.hasTTLKeys()).toBe(false);
    expect(s.stats.expireCount).toBe(2);
    expect(codeOf(() => s.get("/1/a", false, false))).toBe(100);
  });

  test("ttl rendering: ceil of remaining seconds; omitted at 0 [V]", () => {
    const clock = new FakeClock(t0);
    const s = new Store();
    const e = s.set("/1/a", false, "1", { expireTime: t0 + 5500, refresh: false });
    expect(eventToJson(e, clock)).toBe(
      `{"action":"set","node":{"key":"/a","value":"1","expiration":"2027-01-15T08:00:05.5Z","ttl":6,"modifiedIndex":1,"createdIndex":1}}\n`,
    );
    const z = s.set("/1/z", false, "z", { expireTime: t0, refresh: false });
    expect(eventToJson(z, clock)).toBe(
      `{"action":"set","node":{"key":"/z","value":"z","expiration":"2027-01-15T08:00:00Z","modifiedIndex":2,"createdIndex":2}}\n`,
    );
  });

  test("expire times before 2000 make a permanent node on create/set", () => {
    const s = new Store();
    s.set("/1/a", false, "1", { expireTime: 1000, refresh: false });
    expect(s.hasTTLKeys()).toBe(false);
    expect(s.get("/1/a", false, false).node.expireTime).toBe(0);
  });

  test("update and CAS without ttl make the key permanent [V]", () => {
    const s = new Store();
    const ttl = { expireTime: t0 + 10_000, refresh: false };
    s.set("/1/a", false, "1", ttl);
    s.update("/1/a", "2", permanent);
    expect(s.hasTTLKeys()).toBe(false);
    s.update("/1/a", "3", ttl);
    s.compareAndSwap("/1/a", "3", 0, "4", permanent);
    expect(s.hasTTLKeys()).toBe(false);
    expect(s.get("/1/a", false, false).node.expireTime).toBe(0);
  });

  test("refresh keeps the value, bumps the index and moves the deadline [V]", () => {
    const s = new Store();
    s.set("/1/a", false, "keep", { expireTime: t0 + 1000, refresh: false });
    const u = s.update("/1/a", "", { expireTime: t0 + 9000, refresh: true });
    expect([u.action, u.node.value, u.node.modifiedIndex, u.refresh]).toEqual([
      "update",
      "keep",
      2,
      true,
    ]);
    const c = s.compareAndSwap("/1/a", "keep", 0, "", { expireTime: t0 + 9000, refresh: true });
    expect(c.node.value).toBe("keep");
    const st = s.set("/1/a", false, "", { expireTime: t0 + 9000, refresh: true });
    expect([st.node.value, st.node.createdIndex, st.prevNode?.value]).toEqual(["keep", 4, "keep"]);
    s.deleteExpiredKeys(t0 + 5000);
    expect(s.get("/1/a", false, false).node.value).toBe("keep");
    expect(
      codeOf(() => s.set("/1/missing", false, "", { expireTime: t0 + 1, refresh: true })),
    ).toBe(100);
  });

  test("dir TTL: the whole subtree goes with one expire event; child TTLs leave the heap [V]", () => {
    const s = new Store();
    s.set("/1/td/sub/k", false, "1", { expireTime: t0 + 5000, refresh: false });
    s.update("/1/td", "", { expireTime: t0 + 1000, refresh: false });
    s.deleteExpiredKeys(t0 + 1000);
    expect(s.index()).toBe(3);
    expect(s.hasTTLKeys()).toBe(false);
    expect(codeOf(() => s.get("/1/td/sub", false, false))).toBe(100);
  });

  test("expire event JSON [V shape]", () => {
    const clock = new FakeClock(t0);
    const s = new Store();
    let got = "";
    s.set("/1/t0", false, "z", { expireTime: t0, refresh: false });
    s.watch(
      { key: "/1/t0", recursive: false, stream: false, sinceIndex: 0 },
      (e) => {
        got = eventToJson(e, clock);
      },
      () => {},
    );
    clock.advance(300);
    s.deleteExpiredKeys(clock.now());
    expect(got).toBe(
      `{"action":"expire","node":{"key":"/t0","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/t0","value":"z","expiration":"2027-01-15T08:00:00Z","modifiedIndex":1,"createdIndex":1}}\n`,
    );
  });

  test("equal deadlines expire in path order", () => {
    const s = new Store();
    for (const k of ["c", "a", "b"])
      s.set(`/1/${k}`, false, k, { expireTime: t0 + 1, refresh: false });
    const seen: string[] = [];
    s.watch(
      { key: "/1", recursive: true, stream: true, sinceIndex: 0 },
      (e) => seen.push(e.node.key),
      () => {},
    );
    s.deleteExpiredKeys(t0 + 1);
    expect(seen).toEqual(["/1/a", "/1/b", "/1/c"]);
  });
});

describe("stats", () => {
  test("counts like etcd, including its success-counted rejections [V]", () => {
    const s = freshEtcdStore();
    const base = s.stats;
    s.set("/1/c", false, "1", permanent);
    s.set("/1/d", true, "", permanent);
    const tries: (() => unknown)[] = [
      () => s.compareAndDelete("/1/c", "2", 0), // counted as success
      () => s.compareAndDelete("/1/d", "2", 0), // counted as success
      () => s.compareAndSwap("/1", "2", 0, "1", permanent), // counted as success
      () => s.delete("/1", false, false), // counted as success
      () => s.update("/1/d", "1", permanent), // counted as success
      () => s.create("/1/c/x", false, "1", false, permanent), // createFail and setsFail
      () => s.create("/1/c", false, "1", true, permanent), // createFail and setsFail
      () => s.set("/1/c/x", false, "1", permanent), // setsFail
      () => s.get("/1/nope", false, false),
    ];
    for (const t of tries) expect(codeOf(t)).toBeDefined();
    s.get("/1/c", false, false);
    const d = s.stats;
    const delta = (k: keyof typeof d) => d[k] - base[k];
    expect([delta("compareAndDeleteSuccess"), delta("compareAndDeleteFail")]).toEqual([2, 0]);
    expect([
      delta("compareAndSwapSuccess"),
      delta("deleteSuccess"),
      delta("updateSuccess"),
    ]).toEqual([1, 1, 1]);
    expect([delta("createFail"), delta("setsFail"), delta("setsSuccess")]).toEqual([2, 3, 2]);
    expect([delta("getsFail"), delta("getsSuccess")]).toEqual([1, 1]);
  });
});
