import { describe, expect, test } from "bun:test";
import { AssertionError } from "../../src/util/assert.ts";
import { Prng } from "../../src/util/prng.ts";
import { checkLinearizable } from "./check.ts";
import { HistoryRecorder } from "./history.ts";
import {
  type KeyedRegisterInput,
  type RegisterInput,
  type RegisterOutput,
  type RegisterState,
  registerModel,
  unknownOutput,
} from "./model.ts";
import { corruptRead, generate, type RegisterOperation, staleValue } from "./random-history.ts";

type RegOp = RegisterOperation;

/** A hand-written history: ops are numbered in the order given. */
class Script {
  readonly ops: RegOp[] = [];

  ok(input: RegisterInput, output: RegisterOutput, span: [number, number], key = "/k"): this {
    const [callMs, returnMs] = span;
    this.ops.push({ ...this.base(input, key, callMs), status: "ok", output, returnMs });
    return this;
  }

  unknown(input: RegisterInput, callMs: number, key = "/k"): this {
    const returnMs = Number.POSITIVE_INFINITY;
    this.ops.push({ ...this.base(input, key, callMs), status: "unknown", returnMs });
    return this;
  }

  check(timeoutMs = 1000) {
    return checkLinearizable(this.ops, registerModel, { timeoutMs });
  }

  private base(input: RegisterInput, key: string, callMs: number) {
    const id = this.ops.length;
    return { id, clientId: id, key, input: { ...input, key }, callMs };
  }
}

const put = (value: string): RegisterInput => ({ kind: "put", value });
const get: RegisterInput = { kind: "get" };
const cas = (expected: string, value: string): RegisterInput => ({ kind: "cas", expected, value });
const create = (value: string): RegisterInput => ({ kind: "create", value });
const del: RegisterInput = { kind: "delete" };

describe("linearizable histories", () => {
  test("an empty history", () => {
    expect(new Script().check().result).toBe("ok");
  });

  test("sequential put, get, cas, delete, create", () => {
    const s = new Script()
      .ok(get, null, [0, 1])
      .ok(put("a"), "ok", [2, 3])
      .ok(get, "a", [4, 5])
      .ok(cas("a", "b"), true, [6, 7])
      .ok(cas("a", "c"), false, [8, 9])
      .ok(create("x"), false, [10, 11])
      .ok(del, true, [12, 13])
      .ok(del, false, [14, 15])
      .ok(cas("b", "c"), false, [16, 17])
      .ok(create("x"), true, [18, 19])
      .ok(get, "x", [20, 21]);
    expect(s.check().result).toBe("ok");
  });

  test("concurrent overlapping operations are reordered to fit", () => {
    // put(a) spans put(b), so b may take effect first and a last.
    const s = new Script()
      .ok(put("a"), "ok", [0, 10])
      .ok(put("b"), "ok", [1, 9])
      .ok(get, "b", [2, 3])
      .ok(get, "a", [11, 12]);
    expect(s.check().result).toBe("ok");
  });

  test("a read concurrent with a write may see either value", () => {
    for (const seen of [null, "a"]) {
      const s = new Script().ok(put("a"), "ok", [0, 10]).ok(get, seen, [5, 6]);
      expect(s.check().result).toBe("ok");
    }
  });

  test("operations touching at one instant count as concurrent", () => {
    const s = new Script().ok(put("a"), "ok", [0, 5]).ok(get, null, [5, 6]);
    expect(s.check().result).toBe("ok");
  });

  test("an unknown-outcome write explains a later read of its value", () => {
    const s = new Script()
      .ok(put("a"), "ok", [0, 1])
      .unknown(put("b"), 2)
      .ok(get, "a", [3, 4])
      .ok(get, "b", [50, 51])
      .ok(get, "b", [60, 61]);
    expect(s.check().result).toBe("ok");
  });

  test("an unknown-outcome write may never take effect", () => {
    const s = new Script().ok(put("a"), "ok", [0, 1]).unknown(put("b"), 2).ok(get, "a", [90, 91]);
    expect(s.check().result).toBe("ok");
  });

  test("an unknown-outcome cas explains a change of value", () => {
    const s = new Script()
      .ok(put("a"), "ok", [0, 1])
      .unknown(cas("a", "b"), 2)
      .ok(put("c"), "ok", [3, 4])
      .ok(get, "c", [5, 6]);
    expect(s.check().result).toBe("ok");
  });

  test("unknown reads are dropped", () => {
    const s = new Script().unknown(get, 0).ok(put("a"), "ok", [1, 2]).unknown(get, 3);
    expect(s.check().result).toBe("ok");
  });

  test("keys are independent", () => {
    const s = new Script()
      .ok(put("a"), "ok", [0, 1], "/x")
      .ok(put("b"), "ok", [2, 3], "/y")
      .ok(get, "a", [4, 5], "/x")
      .ok(get, null, [4, 5], "/z");
    const r = s.check();
    expect(r.result).toBe("ok");
    expect(r.stats.keys).toBe(3);
  });
});

describe("histories that are not linearizable", () => {
  function expectIllegal(s: Script, blockedId: number, key = "/k") {
    const r = s.check();
    if (r.result !== "illegal") throw new Error(`expected illegal, got ${r.result}`);
    expect(r.key).toBe(key);
    expect(r.witness.blocked.id).toBe(blockedId);
    expect(r.witness.message).toContain(`cannot place: #${blockedId} `);
    return r.witness;
  }

  test("a stale read after a completed write", () => {
    const s = new Script()
      .ok(put("a"), "ok", [0, 1])
      .ok(put("b"), "ok", [2, 3])
      .ok(get, "a", [4, 5]);
    const w = expectIllegal(s, 2);
    expect(w.linearized.map((o) => o.id)).toEqual([0, 1]);
    expect(w.state).toBe("b");
  });

  test("a lost write", () => {
    const s = new Script().ok(put("a"), "ok", [0, 1]).ok(get, null, [2, 3]);
    expectIllegal(s, 1);
  });

  test("two cas from the same expected value both succeed", () => {
    const s = new Script()
      .ok(put("x"), "ok", [0, 1])
      .ok(cas("x", "y"), true, [2, 5])
      .ok(cas("x", "z"), true, [3, 6]);
    // Either cas fits after the put, but the other then cannot: the search blames the later one.
    expectIllegal(s, 2);
  });

  test("create succeeds twice", () => {
    const s = new Script().ok(create("a"), true, [0, 2]).ok(create("b"), true, [1, 3]);
    expectIllegal(s, 1);
  });

  test("a read of a value never written", () => {
    const s = new Script().ok(put("a"), "ok", [0, 1]).ok(get, "ghost", [2, 3]);
    const w = expectIllegal(s, 1);
    expect(w.message).toContain('get() → "ghost"');
  });

  test("a value that an unknown write installed cannot be taken back", () => {
    const s = new Script()
      .ok(put("a"), "ok", [0, 1])
      .unknown(put("b"), 2)
      .ok(get, "b", [3, 4])
      .ok(get, "a", [5, 6]);
    expectIllegal(s, 3);
  });

  test("a delete that reports success on a missing key", () => {
    const s = new Script().ok(del, true, [0, 1]);
    expectIllegal(s, 0);
  });

  test("only the bad key is reported", () => {
    const s = new Script()
      .ok(put("a"), "ok", [0, 1], "/good")
      .ok(put("a"), "ok", [0, 1], "/bad")
      .ok(get, "a", [2, 3], "/good")
      .ok(get, "old", [2, 3], "/bad");
    expectIllegal(s, 3, "/bad");
  });
});

describe("reductions for unknown outcomes", () => {
  test("only unknown operations: nothing needs placing", () => {
    const s = new Script().unknown(put("a"), 0).unknown(del, 1).unknown(create("b"), 2);
    expect(s.check().result).toBe("ok");
  });

  test("an unknown write that could not apply is tried last", () => {
    const s = new Script()
      .ok(put("a"), "ok", [0, 1])
      .unknown(create("b"), 2)
      .unknown(cas("zzz", "c"), 3)
      .ok(get, "a", [4, 5]);
    expect(s.check().result).toBe("ok");
  });

  test("an observed unknown write is bounded by its first observation", () => {
    const s = new Script()
      .unknown(put("a"), 0)
      .unknown(put("b"), 1)
      .ok(get, "a", [2, 3])
      .ok(cas("a", "c"), true, [4, 5])
      .unknown(put("a"), 6);
    const prepared = registerModel.prepare?.(s.ops) ?? [];
    // "a" has two writers, so neither is bounded; "b" was never observed.
    expect(prepared.map((o) => o.returnMs)).toEqual(s.ops.map((o) => o.returnMs));
    const t = new Script()
      .unknown(put("a"), 0)
      .ok(get, "a", [2, 3])
      .ok(cas("a", "c"), true, [1, 5]);
    expect(registerModel.prepare?.(t.ops).map((o) => o.returnMs)).toEqual([3, 3, 5]);
  });

  test("a stale read is found among many unknown writes", () => {
    // Without the redundancy rule this tries every subset of the 40 writes.
    const s = new Script().ok(put("a"), "ok", [0, 1]);
    for (let i = 0; i < 40; i++) s.unknown(put(`u${i}`), 2 + i);
    s.ok(put("b"), "ok", [30, 31]).ok(get, "a", [32, 33]);
    expect(s.check().result).toBe("illegal");
  });
});

describe("agreement with brute force on small random histories", () => {
  /** Every order consistent with real time, with unknown operations optionally left out. */
  function bruteForce(ops: readonly RegOp[]): boolean {
    const used = new Array<boolean>(ops.length).fill(false);
    const extend = (state: RegisterState, placed: number): boolean => {
      if (ops.every((o, i) => used[i] || o.status === "unknown")) return true;
      if (placed === ops.length) return false;
      for (let i = 0; i < ops.length; i++) {
        const o = ops[i];
        if (o === undefined || used[i]) continue;
        // Everything that returned before this call must already be placed.
        if (ops.some((p, j) => !used[j] && j !== i && p.returnMs < o.callMs)) continue;
        const r = registerModel.step(state, o.input, o.status === "ok" ? o.output : unknownOutput);
        if (!r.ok) continue;
        used[i] = true;
        const found = extend(r.next, placed + 1);
        used[i] = false;
        if (found) return true;
      }
      return false;
    };
    return extend(null, 0);
  }

  function tinyHistory(prng: Prng): Script {
    const s = new Script();
    const value = () => ["a", "b", "c"][prng.nextInt(3)] ?? "a";
    const n = 2 + prng.nextInt(6);
    for (let i = 0; i < n; i++) {
      const callMs = prng.nextInt(10);
      const span: [number, number] = [callMs, callMs + prng.nextInt(6)];
      const roll = prng.nextInt(5);
      const input =
        roll === 0
          ? put(value())
          : roll === 1
            ? get
            : roll === 2
              ? cas(value(), value())
              : roll === 3
                ? create(value())
                : del;
      if (prng.chance(0.25)) s.unknown(input, callMs);
      else if (input.kind === "put") s.ok(input, "ok", span);
      else if (input.kind === "get") s.ok(input, prng.chance(0.25) ? null : value(), span);
      else s.ok(input, prng.chance(0.5), span);
    }
    return s;
  }

  test("2000 histories of up to 7 operations", () => {
    const prng = new Prng(7);
    const verdicts = { ok: 0, illegal: 0 };
    for (let round = 0; round < 2000; round++) {
      const s = tinyHistory(prng);
      const expected = bruteForce(s.ops) ? "ok" : "illegal";
      const actual = s.check().result;
      if (actual !== expected)
        throw new Error(`round ${round}: ${actual} ≠ ${expected}\n${JSON.stringify(s.ops)}`);
      verdicts[expected]++;
    }
    // Both verdicts must be well represented for the comparison to mean anything.
    expect(verdicts.ok).toBeGreaterThan(200);
    expect(verdicts.illegal).toBeGreaterThan(200);
  });
});

describe("time limit", () => {
  /**
   * A long history with a corrupted read and unknown writes pending throughout: proving it
   * illegal means trying the unknown writes at every point, which takes seconds (a known
   * limit; see the report in check.ts). Any budget far below that must return unknown.
   */
  function hardHistory(): RegOp[] {
    const seed = 1;
    const history = generate({
      seed,
      clients: 5,
      keys: 1,
      ops: 3000,
      unknownRate: 0.05,
      failRate: 0,
    });
    const ghost = corruptRead(history, new Prng(seed), () => "never-written");
    if (ghost === undefined) throw new Error("no read to corrupt");
    return ghost;
  }

  test("an exponential search returns unknown at the deadline", () => {
    const started = performance.now();
    const r = checkLinearizable(hardHistory(), registerModel, { timeoutMs: 50 });
    expect(r.result).toBe("unknown");
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("the deadline is read from the injected clock", () => {
    let t = 0;
    const r = checkLinearizable(hardHistory(), registerModel, { timeoutMs: 10, now: () => t++ });
    expect(r.result).toBe("unknown");
  });
});

describe("HistoryRecorder", () => {
  test("records times, outputs and keys from the injected clock", () => {
    let t = 0;
    const rec = new HistoryRecorder<KeyedRegisterInput, RegisterOutput>({ now: () => t });
    const a = rec.invoke(1, { kind: "put", value: "a", key: "/x" });
    t = 5;
    const b = rec.invoke(2, { kind: "put", value: "b", key: "/x" });
    const c = rec.invoke(3, { kind: "get", key: "/x" });
    const d = rec.invoke(4, { kind: "get", key: "/y" });
    t = 7;
    a.ok("ok");
    b.fail();
    c.unknown();
    const h = rec.history();
    expect(h.map((o) => [o.id, o.key, o.status, o.callMs, o.returnMs])).toEqual([
      [0, "/x", "ok", 0, 7],
      [2, "/x", "unknown", 5, Number.POSITIVE_INFINITY],
      [3, "/y", "unknown", 5, Number.POSITIVE_INFINITY],
    ]);
    expect(rec.failed()).toBe(1);
    d.ok(null);
    expect(rec.history()[2]?.status).toBe("ok");
  });

  test("a handle resolves once", () => {
    const rec = new HistoryRecorder<RegisterInput, RegisterOutput>();
    const h = rec.invoke(1, { kind: "get" });
    h.ok(null);
    expect(() => h.unknown()).toThrow(AssertionError);
    expect(rec.history()[0]?.key).toBe("");
  });

  test("a failed write does not count as a write", () => {
    let t = 0;
    const rec = new HistoryRecorder<KeyedRegisterInput, RegisterOutput>({ now: () => t++ });
    rec.invoke(1, { kind: "put", value: "a", key: "/k" }).ok("ok");
    rec.invoke(1, { kind: "put", value: "b", key: "/k" }).fail();
    rec.invoke(2, { kind: "get", key: "/k" }).ok("a");
    const r = checkLinearizable(rec.history(), registerModel, { timeoutMs: 1000 });
    expect(r.result).toBe("ok");
  });
});

const SEEDS = Array.from({ length: 30 }, (_, i) => i + 1);

describe("randomized histories", () => {
  test.each(SEEDS)(
    "seed %d: a generated history is linearizable, a corrupted one is not",
    (seed) => {
      const history = generate({
        seed,
        clients: 5,
        keys: 2,
        ops: 300,
        unknownRate: 0.1,
        failRate: 0.05,
      });
      const ok = checkLinearizable(history, registerModel, { timeoutMs: 5000 });
      expect({ seed, result: ok.result }).toEqual({ seed, result: "ok" });

      const prng = new Prng(seed);
      const ghost = corruptRead(history, prng, () => "never-written");
      if (ghost === undefined) throw new Error(`seed ${seed}: no read to corrupt`);
      const r1 = checkLinearizable(ghost, registerModel, { timeoutMs: 5000 });
      expect({ seed, result: r1.result }).toEqual({ seed, result: "illegal" });

      const stale = corruptRead(history, prng, (r) => staleValue(history, r));
      if (stale === undefined) throw new Error(`seed ${seed}: no read to make stale`);
      const r2 = checkLinearizable(stale, registerModel, { timeoutMs: 5000 });
      expect({ seed, result: r2.result }).toEqual({ seed, result: "illegal" });
    },
  );

  test("a large history checks quickly", () => {
    const seed = 424242;
    const history = generate({
      seed,
      clients: 10,
      keys: 4,
      ops: 12000,
      unknownRate: 0.05,
      failRate: 0.02,
    });
    const r = checkLinearizable(history, registerModel, { timeoutMs: 10_000 });
    console.log(
      `lin: ${history.length} ops over ${r.stats.keys} keys, ` +
        `${history.filter((o) => o.status === "unknown").length} unknown: ` +
        `${r.result} in ${r.stats.elapsedMs.toFixed(0)} ms (seed ${seed})`,
    );
    expect(r.result).toBe("ok");
    expect(r.stats.elapsedMs).toBeLessThan(5000);
  });
});
