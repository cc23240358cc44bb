import { describe, expect, test } from "bun:test";
import { decodeConfChange, encodeConfChange } from "../../src/raft/conf-change-codec.ts";
import {
  CompactedError,
  MemoryStorage,
  SnapOutOfDateError,
  UnavailableError,
} from "../../src/raft/storage.ts";
import type { Entry } from "../../src/raft/types.ts";
import { Prng } from "../../src/util/prng.ts";

const ent = (index: number, term: number, size = 0): Entry => ({
  index,
  term,
  type: "normal",
  data: new Uint8Array(size),
});

function storageWith(terms: number[]): MemoryStorage {
  const s = new MemoryStorage();
  s.append(terms.map((t, i) => ent(i + 1, t)));
  return s;
}

describe("MemoryStorage", () => {
  test("an empty storage", () => {
    const s = new MemoryStorage();
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(() => s.term(1)).toThrow(UnavailableError);
    expect(s.initialState().hardState).toEqual({ term: 0, vote: "", commit: 0 });
  });

  test("append overwrites a conflicting suffix", () => {
    const s = storageWith([1, 1, 2, 2]);
    s.append([ent(3, 3), ent(4, 3), ent(5, 3)]);
    expect([1, 2, 3, 4, 5].map((i) => s.term(i))).toEqual([1, 1, 3, 3, 3]);
    s.append([ent(2, 4)]);
    expect(s.lastIndex()).toBe(2);
  });

  test("append rejects a gap", () => {
    const s = storageWith([1]);
    expect(() => s.append([ent(3, 1)])).toThrow();
  });

  test("entries returns [lo, hi) within maxBytes but at least one", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1, 100), ent(2, 1, 100), ent(3, 1, 100)]);
    expect(s.entries(1, 4, Number.MAX_SAFE_INTEGER).map((e) => e.index)).toEqual([1, 2, 3]);
    expect(s.entries(1, 4, 250).map((e) => e.index)).toEqual([1, 2]);
    expect(s.entries(2, 4, 1).map((e) => e.index)).toEqual([2]);
  });

  test("compact keeps the compacted entry's term as the dummy", () => {
    const s = storageWith([1, 2, 3, 4, 5]);
    s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.term(3)).toBe(3);
    expect(() => s.term(2)).toThrow(CompactedError);
    expect(() => s.entries(3, 5, 100)).toThrow(CompactedError);
    expect(() => s.compact(3)).toThrow(CompactedError);
    expect(s.entries(4, 6, 1000).map((e) => e.term)).toEqual([4, 5]);
  });

  test("createSnapshot and applySnapshot", () => {
    const s = storageWith([1, 1, 2]);
    const snap = s.createSnapshot(2, { voters: ["a"] }, new Uint8Array([7]));
    expect(snap.meta).toEqual({ index: 2, term: 1, confState: { voters: ["a"] } });
    expect(() => s.createSnapshot(2, { voters: [] }, new Uint8Array())).toThrow(SnapOutOfDateError);
    const t = new MemoryStorage();
    t.applySnapshot(snap);
    expect(t.firstIndex()).toBe(3);
    expect(t.lastIndex()).toBe(2);
    expect(t.term(2)).toBe(1);
    expect(t.initialState().confState).toEqual({ voters: ["a"] });
    expect(() => t.applySnapshot(snap)).toThrow(SnapOutOfDateError);
  });
});

describe("conf change codec", () => {
  test("round-trips every type", () => {
    for (const type of ["addNode", "removeNode", "updateNode"] as const) {
      const cc = { type, nodeId: "2e1259d415f2a040", context: new Uint8Array([1, 2, 3]) };
      expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
    }
  });

  test("rejects garbage", () => {
    expect(() => decodeConfChange(new Uint8Array([9, 0, 1, 65]))).toThrow();
    expect(() => decodeConfChange(new Uint8Array([1, 0, 5, 65]))).toThrow();
  });
});

describe("Prng", () => {
  test("is deterministic per seed", () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 10 }, () => a.nextU32());
    expect(Array.from({ length: 10 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 10 }, () => c.nextU32())).not.toEqual(xs);
  });

  test("nextInt stays in range and covers it", () => {
    const p = new Prng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const v = p.nextInt(10);
      expect(v >= 0 && v < 10).toBe(true);
      seen.add(v);
    }
    expect(seen.size).toBe(10);
  });
});
