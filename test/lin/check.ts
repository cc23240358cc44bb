/**
 * Linearizability checker: the Wing–Gong search as refined by Lowe ("Testing for
 * linearizability", 2017), with the memo table of (linearized set, state) pairs, run
 * separately on each key's sub-history (P-compositionality: a history is linearizable iff
 * every per-key sub-history is, since keys are independent objects).
 *
 * The search walks a doubly linked list of call and return entries sorted by time. At any
 * point the candidates for the next linearization point are the calls before the first
 * return; linearizing one "lifts" its call and return out of the list, and backtracking
 * "unlifts" them (dancing links). Reaching a return means that operation's deadline has come
 * without it being placed, so the search backtracks. A configuration already seen (same set of
 * linearized operations and an equal state) leads to the same outcomes, so it is skipped.
 *
 * Unknown-outcome operations ("unbounded": no response, so no deadline) get further reductions,
 * all sound since such an operation fits after everything else in any state: the
 * search ends once only they remain; one that would leave the state unchanged is not tried
 * (it can go last instead); and a failed configuration also rules out every configuration
 * that adds only unbounded operations to it in an equal state (subsumption). A fourth, the
 * redundancy rule, is described at `redundantAfterTop`.
 *
 * Known limit: proving a long history illegal while many never-observed unknown writes stay
 * pending costs time exponential in how many of them overlap; such a check ends "unknown" at
 * the deadline, never with a wrong verdict.
 *
 * It is synchronous and bounded only by the deadline; it never mutates the history it is given.
 */

import { assert } from "../../src/util/assert.ts";
import { Prng } from "../../src/util/prng.ts";
import type { Operation } from "./history.ts";
import { type Model, type UnknownOutput, unknownOutput } from "./model.ts";

export interface CheckOptions {
  /** Total budget over all keys. On expiry the result is "unknown", never a guess. */
  readonly timeoutMs: number;
  /** Monotonic milliseconds; defaults to `performance.now`. */
  readonly now?: () => number;
}

/** Why a sub-history is not linearizable, from the deepest point the search reached. */
export interface Witness<I, O, S> {
  /** The longest linearizable prefix found, in linearization order. */
  readonly linearized: readonly Operation<I, O>[];
  /** The model state after `linearized`. */
  readonly state: S;
  /** The operation whose response had arrived but that could not be linearized next. */
  readonly blocked: Operation<I, O>;
  /** The other operations that could have been linearized at that point; none fitted. */
  readonly pending: readonly Operation<I, O>[];
  /** A few lines for a test failure message. */
  readonly message: string;
}

export interface CheckStats {
  readonly keys: number;
  readonly operations: number;
  readonly elapsedMs: number;
}

export type CheckResult<I, O, S> =
  | { readonly result: "ok"; readonly stats: CheckStats }
  /** Timed out while checking `key`; the keys after it were not checked. */
  | { readonly result: "unknown"; readonly key: string; readonly stats: CheckStats }
  | {
      readonly result: "illegal";
      readonly key: string;
      readonly witness: Witness<I, O, S>;
      readonly stats: CheckStats;
    };

/** How many search steps run between clock reads; reading the clock costs more than a step. */
const STEPS_PER_CLOCK_READ = 1024;
/** The state hash keeps this many bits in the memo key; with 32 bits of set hash, 53 in all. */
const STATE_HASH_BITS = 21;
/** Failed configurations kept per subsumption bucket; the scan of one costs this many tests. */
const SUBSUMING_PER_BUCKET = 16;
/** Operations listed on each side of the blocking point in a witness message. */
const WITNESS_CONTEXT_OPS = 5;

/**
 * Checks `history` against `model`, key by key. Unknown-outcome operations may take effect at
 * any time after their call, or not at all; unknown read-only ones are dropped.
 */
export function checkLinearizable<I, O, S>(
  history: readonly Operation<I, O>[],
  model: Model<I, O, S>,
  options: CheckOptions,
): CheckResult<I, O, S> {
  assert(options.timeoutMs >= 0, `check: negative timeout ${options.timeoutMs}`);
  const now = options.now ?? (() => performance.now());
  const startMs = now();
  const deadline = { now, atMs: startMs + options.timeoutMs };
  const partitions = partitionByKey(history, model);
  const stats = (): CheckStats => ({
    keys: partitions.size,
    operations: history.length,
    elapsedMs: now() - startMs,
  });
  for (const [key, ops] of partitions) {
    const outcome = new Search(ops, model).run(deadline);
    if (outcome.kind === "timeout") return { result: "unknown", key, stats: stats() };
    if (outcome.kind === "illegal") {
      const witness = buildWitness(ops, model, outcome.stuck, key);
      return { result: "illegal", key, witness, stats: stats() };
    }
  }
  return { result: "ok", stats: stats() };
}

function partitionByKey<I, O, S>(
  history: readonly Operation<I, O>[],
  model: Model<I, O, S>,
): Map<string, Operation<I, O>[]> {
  const partitions = new Map<string, Operation<I, O>[]>();
  for (const op of history) {
    assert(op.returnMs >= op.callMs, `check: operation ${op.id} returns before its call`);
    assert(
      op.status === "unknown" || Number.isFinite(op.returnMs),
      `check: completed operation ${op.id} has no finite return time`,
    );
    // An unknown read can be linearized last, where it observes nothing and constrains nothing.
    if (op.status === "unknown" && model.readOnly?.(op.input) === true) continue;
    const ops = partitions.get(op.key);
    if (ops === undefined) partitions.set(op.key, [op]);
    else ops.push(op);
  }
  if (model.prepare !== undefined) {
    for (const [key, ops] of partitions) partitions.set(key, model.prepare(ops));
  }
  return partitions;
}

interface Deadline {
  readonly now: () => number;
  readonly atMs: number;
}

/** The deepest point of a failed search: operation indexes into the partition. */
interface Stuck<S> {
  readonly linearized: number[];
  readonly state: S;
  readonly blocked: number;
  readonly pending: number[];
}

type SearchOutcome<S> = { kind: "ok" } | { kind: "timeout" } | { kind: "illegal"; stuck: Stuck<S> };

/**
 * The entry list in flat arrays. Node 0 is the head sentinel and node `2n + 1` the tail
 * sentinel, so lifting never meets a missing neighbour. Call nodes have `match` set to their
 * return node; return nodes have -1.
 */
class EntryList {
  static readonly head = 0;
  readonly tail: number;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly match: Int32Array;
  /** The operation (index into the partition) of each node. */
  readonly op: Int32Array;

  constructor(ops: readonly Operation<unknown, unknown>[]) {
    const events: { timeMs: number; isCall: boolean; op: number }[] = [];
    ops.forEach((o, i) => {
      events.push({ timeMs: o.callMs, isCall: true, op: i });
      events.push({ timeMs: o.returnMs, isCall: false, op: i });
    });
    // Calls sort before returns at equal times: touching operations count as concurrent,
    // which is the safe reading of a coarse clock.
    events.sort((a, b) => a.timeMs - b.timeMs || Number(b.isCall) - Number(a.isCall) || 0);
    const size = events.length + 2;
    this.tail = size - 1;
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.match = new Int32Array(size).fill(-1);
    this.op = new Int32Array(size).fill(-1);
    const returnNode = new Int32Array(ops.length);
    events.forEach((e, i) => {
      this.op[i + 1] = e.op;
      if (!e.isCall) returnNode[e.op] = i + 1;
    });
    events.forEach((e, i) => {
      if (e.isCall) this.match[i + 1] = returnNode[e.op] ?? -1;
    });
    for (let n = 0; n < size; n++) {
      this.next[n] = n + 1;
      this.prev[n] = n - 1;
    }
  }

  /** Removes a call node and its return node. */
  lift(call: number): void {
    this.unlink(call);
    this.unlink(this.match[call] ?? -1);
  }

  /** Undoes `lift(call)`; must be applied in reverse order of lifting. */
  unlift(call: number): void {
    this.relink(this.match[call] ?? -1);
    this.relink(call);
  }

  private unlink(n: number): void {
    const p = this.prev[n] ?? -1;
    const q = this.next[n] ?? -1;
    this.next[p] = q;
    this.prev[q] = p;
  }

  private relink(n: number): void {
    this.next[this.prev[n] ?? -1] = n;
    this.prev[this.next[n] ?? -1] = n;
  }
}

/**
 * The set of linearized operations as a bitset, with a Zobrist hash (XOR of per-operation
 * keys) over the bounded members only, maintained as bits toggle. Unbounded members are left
 * out of the hash so that configurations differing only in them share a bucket of the memo
 * table, where subsumption is checked.
 */
class OpSet {
  readonly words: Uint32Array;
  /** Bit i set iff operation i has an unknown outcome and no deadline. */
  readonly unboundedMask: Uint32Array;
  knownHash = 0;
  fullHash = 0;
  unboundedCount = 0;

  constructor(
    ops: readonly Operation<unknown, unknown>[],
    private readonly keys: Uint32Array,
  ) {
    this.words = new Uint32Array(Math.ceil(ops.length / 32));
    this.unboundedMask = new Uint32Array(this.words.length);
    ops.forEach((o, i) => {
      // Going last needs both: any state accepts it, and nothing must follow it.
      if (o.status === "unknown" && o.returnMs === Number.POSITIVE_INFINITY) {
        this.unboundedMask[i >>> 5] = (this.unboundedMask[i >>> 5] ?? 0) | (1 << (i & 31));
      }
    });
  }

  isUnbounded(i: number): boolean {
    return ((this.unboundedMask[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }

  toggle(i: number): void {
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    const word = (this.words[w] ?? 0) ^ bit;
    this.words[w] = word;
    const key = this.keys[i] ?? 0;
    this.fullHash = (this.fullHash ^ key) >>> 0;
    if (!this.isUnbounded(i)) this.knownHash = (this.knownHash ^ key) >>> 0;
    else this.unboundedCount += (word & bit) !== 0 ? 1 : -1;
  }

  /**
   * Whether `seen` ⊆ this set with only unbounded operations in the difference: then a
   * failure from `seen` implies failure from this set in the same state, because any
   * completion from here, followed by the extra unbounded operations, would have completed
   * `seen`.
   */
  subsumedBy(seen: Uint32Array): boolean {
    for (let w = 0; w < this.words.length; w++) {
      const cur = this.words[w] ?? 0;
      const old = seen[w] ?? 0;
      if ((old & ~cur) !== 0 || (cur & ~old & ~(this.unboundedMask[w] ?? 0)) !== 0) return false;
    }
    return true;
  }
}

/**
 * Configurations (linearized set, state) whose every continuation was tried and failed. Only
 * finished configurations are recorded: subsumption against one still on the search stack
 * could prune the very path that would complete it.
 *
 * Exact matches are found by a hash of the whole set. Subsumption candidates share a hash of
 * the bounded members only; such a bucket can hold exponentially many entries, so it keeps a
 * few, preferring those with the fewest unbounded members, which subsume the most.
 */
class FailedConfigs<S> {
  private readonly exact = new Map<number, FailedConfig<S>[]>();
  private readonly subsuming = new Map<number, FailedConfig<S>[]>();

  constructor(private readonly states: Pick<Model<never, never, S>, "hash" | "equal">) {}

  private key(setHash: number, state: S): number {
    const stateHash = (this.states.hash(state) >>> 0) & ((1 << STATE_HASH_BITS) - 1);
    return setHash * 2 ** STATE_HASH_BITS + stateHash;
  }

  add(set: OpSet, state: S): void {
    const entry = { words: set.words.slice(), unbounded: set.unboundedCount, state };
    const exactKey = this.key(set.fullHash, state);
    const bucket = this.exact.get(exactKey);
    if (bucket === undefined) this.exact.set(exactKey, [entry]);
    else bucket.push(entry);
    const subKey = this.key(set.knownHash, state);
    const sub = this.subsuming.get(subKey);
    if (sub === undefined) this.subsuming.set(subKey, [entry]);
    else if (sub.length < SUBSUMING_PER_BUCKET) sub.push(entry);
    else {
      let worst = 0;
      for (let k = 1; k < sub.length; k++) {
        if ((sub[k]?.unbounded ?? 0) > (sub[worst]?.unbounded ?? 0)) worst = k;
      }
      if ((sub[worst]?.unbounded ?? 0) > entry.unbounded) sub[worst] = entry;
    }
  }

  /** Whether the configuration is known to fail: it is, or is subsumed by, a failed one. */
  covers(set: OpSet, state: S): boolean {
    for (const seen of this.exact.get(this.key(set.fullHash, state)) ?? []) {
      if (wordsEqual(seen.words, set.words) && this.states.equal(seen.state, state)) return true;
    }
    if (set.unboundedCount === 0) return false;
    for (const seen of this.subsuming.get(this.key(set.knownHash, state)) ?? []) {
      if (seen.unbounded >= set.unboundedCount) continue;
      if (set.subsumedBy(seen.words) && this.states.equal(seen.state, state)) return true;
    }
    return false;
  }
}

interface FailedConfig<S> {
  readonly words: Uint32Array;
  readonly unbounded: number;
  readonly state: S;
}

function wordsEqual(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function zobristKeys(n: number): Uint32Array {
  // Fixed seed: the search order does not depend on the keys, only memo bucketing does.
  const prng = new Prng(0x11ea7);
  const keys = new Uint32Array(n);
  for (let i = 0; i < n; i++) keys[i] = prng.nextU32();
  return keys;
}

function outputOf<I, O>(op: Operation<I, O>): O | UnknownOutput {
  return op.status === "ok" ? op.output : unknownOutput;
}

/** One frame of the search stack: a lifted call and what to restore when it is undone. */
interface Frame<S> {
  readonly call: number;
  readonly before: S;
  /** Whether the configuration below had skipped a candidate by the redundancy rule. */
  readonly belowPartial: boolean;
}

/**
 * The memoised WGL search over one partition. Candidates are tried in list order (by call
 * time), as Porcupine does: trying unknown-outcome operations last instead was measured to
 * be much slower on linearizable histories, where an early guess is usually harmless.
 */
class Search<I, O, S> {
  private readonly list: EntryList;
  private readonly linearized: OpSet;
  private readonly failed: FailedConfigs<S>;
  private readonly stack: Frame<S>[] = [];
  private state: S;
  private stuck: Stuck<S> | undefined;
  /**
   * Whether the current configuration skipped a candidate by the redundancy rule. Its failure
   * then proves nothing about other paths to it, so it is not recorded.
   */
  private partial = false;
  /** Operations not yet linearized that have a deadline (a finite return time). */
  private boundedLeft = 0;

  constructor(
    private readonly ops: readonly Operation<I, O>[],
    private readonly model: Model<I, O, S>,
  ) {
    this.list = new EntryList(ops);
    this.linearized = new OpSet(ops, zobristKeys(ops.length));
    this.failed = new FailedConfigs<S>(model);
    this.state = model.init();
    for (let i = 0; i < ops.length; i++) if (!this.linearized.isUnbounded(i)) this.boundedLeft++;
  }

  run(deadline: Deadline): SearchOutcome<S> {
    const { next, match } = this.list;
    const head = EntryList.head;
    let entry = next[head] ?? this.list.tail;
    // Operations with an unknown outcome and no deadline fit after everything else in any
    // state, so the search is done once only they remain.
    for (let steps = 1; this.boundedLeft > 0; steps++) {
      if (steps % STEPS_PER_CLOCK_READ === 0 && deadline.now() > deadline.atMs) {
        return { kind: "timeout" };
      }
      if ((match[entry] ?? -1) >= 0) {
        const lifted = this.tryLinearize(entry, this.list.op[entry] ?? -1);
        entry = lifted ? (next[head] ?? this.list.tail) : (next[entry] ?? this.list.tail);
        continue;
      }
      // The first return: every candidate lay before it and none fitted, so this operation's
      // deadline passed unplaced.
      assert(entry !== this.list.tail, "check: search ran off the end of the entry list");
      const call = this.backtrack(entry);
      if (call === undefined) {
        assert(this.stuck !== undefined, "check: failed search recorded no stuck point");
        return { kind: "illegal", stuck: this.stuck };
      }
      entry = next[call] ?? this.list.tail;
    }
    return { kind: "ok" };
  }

  /** Linearizes operation `i` (call node `call`) next, unless that is illegal or known futile. */
  private tryLinearize(call: number, i: number): boolean {
    const o = this.ops[i];
    assert(o !== undefined, `check: call node ${call} has no operation`);
    const r = this.model.step(this.state, o.input, outputOf(o));
    if (!r.ok) return false;
    // An unbounded unknown operation that changes nothing now can as well go last, and a
    // completion through here gives one from here that ends with it.
    const unbounded = this.linearized.isUnbounded(i);
    if (unbounded && this.model.equal(r.next, this.state)) return false;
    if (unbounded && this.redundantAfterTop(o, r.next)) return false;
    this.linearized.toggle(i);
    if (this.failed.covers(this.linearized, r.next)) {
      this.linearized.toggle(i);
      return false;
    }
    this.stack.push({ call, before: this.state, belowPartial: this.partial });
    this.state = r.next;
    this.partial = false;
    if (!unbounded) this.boundedLeft--;
    this.list.lift(call);
    return true;
  }

  /**
   * Redundancy rule: when the last step was an unbounded operation u and unbounded `o` would
   * reach the same state with or without u before it, skip `o` here. Any completion that
   * needs u immediately followed by `o` works as well with u moved to the very end, so some
   * completion avoids the pair; without the rule, runs of never-observed unknown writes are
   * explored in every subset.
   */
  private redundantAfterTop(o: Operation<I, O>, next: S): boolean {
    const top = this.stack.at(-1);
    if (top === undefined || !this.linearized.isUnbounded(this.list.op[top.call] ?? -1)) {
      return false;
    }
    const without = this.model.step(top.before, o.input, unknownOutput);
    if (!without.ok || !this.model.equal(without.next, next)) return false;
    this.partial = true;
    return true;
  }

  /** Records the current configuration as failed and undoes the last step; its call node. */
  private backtrack(returnNode: number): number | undefined {
    if (this.stuck === undefined || this.stack.length > this.stuck.linearized.length) {
      this.stuck = snapshot(this.list, this.stack, this.state, returnNode);
    }
    if (!this.partial) this.failed.add(this.linearized, this.state);
    const frame = this.stack.pop();
    if (frame === undefined) return undefined;
    this.state = frame.before;
    this.partial = frame.belowPartial;
    const i = this.list.op[frame.call] ?? -1;
    if (!this.linearized.isUnbounded(i)) this.boundedLeft++;
    this.linearized.toggle(i);
    this.list.unlift(frame.call);
    return frame.call;
  }
}

function snapshot<S>(
  list: EntryList,
  stack: readonly Frame<S>[],
  state: S,
  returnNode: number,
): Stuck<S> {
  const blocked = list.op[returnNode] ?? -1;
  const pending: number[] = [];
  for (let n = list.next[EntryList.head] ?? list.tail; n !== returnNode; n = list.next[n] ?? -1) {
    const i = list.op[n] ?? -1;
    if (i !== blocked) pending.push(i);
  }
  return { linearized: stack.map((f) => list.op[f.call] ?? -1), state, blocked, pending };
}

function buildWitness<I, O, S>(
  ops: readonly Operation<I, O>[],
  model: Model<I, O, S>,
  stuck: Stuck<S>,
  key: string,
): Witness<I, O, S> {
  const at = (i: number): Operation<I, O> => {
    const o = ops[i];
    assert(o !== undefined, `check: witness refers to missing operation ${i}`);
    return o;
  };
  const linearized = stuck.linearized.map(at);
  const blocked = at(stuck.blocked);
  const pending = stuck.pending.map(at);
  const describeState = model.describeState ?? ((s: S) => JSON.stringify(s));
  const shown = linearized.slice(-WITNESS_CONTEXT_OPS);
  const lines = [
    `key ${JSON.stringify(key)}: not linearizable; ` +
      `longest linearizable prefix has ${linearized.length} of ${ops.length} operations`,
    ...(shown.length < linearized.length ? ["  ..."] : []),
    ...shown.map((o) => `  ${describeOp(o, model)}`),
    `  state then: ${describeState(stuck.state)}`,
    `cannot place: ${describeOp(blocked, model)}`,
    ...pending.slice(0, WITNESS_CONTEXT_OPS).map((o) => `  nor pending ${describeOp(o, model)}`),
  ];
  return { linearized, state: stuck.state, blocked, pending, message: lines.join("\n") };
}

/** "#12 client 3 get() → "b" [10.0, 12.5]" */
export function describeOp<I, O, S>(op: Operation<I, O>, model: Model<I, O, S>): string {
  const input = model.describeInput?.(op.input) ?? JSON.stringify(op.input);
  const output =
    op.status === "ok" ? (model.describeOutput?.(op.output) ?? JSON.stringify(op.output)) : "?";
  const end = Number.isFinite(op.returnMs) ? op.returnMs.toFixed(1) : "∞";
  return `#${op.id} client ${op.clientId} ${input} → ${output} [${op.callMs.toFixed(1)}, ${end}]`;
}
