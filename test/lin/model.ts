/**
 * Sequential specifications for the linearizability checker: a model says whether an
 * operation with a given output is legal in a state, and what the state becomes.
 *
 * Models are pure and deterministic: the checker calls `step` many times on the same state
 * while backtracking, so a step must not mutate its arguments or depend on anything else.
 */

import type { Operation } from "./history.ts";

/**
 * Stands in for the output of an operation whose response never arrived. A model must accept
 * it in every state, returning the state the operation would leave if it did take effect (the
 * checker covers "never took effect" by linearizing the operation after everything else).
 */
export const unknownOutput: unique symbol = Symbol("unknown-output");
export type UnknownOutput = typeof unknownOutput;

export type StepResult<S> = { readonly ok: true; readonly next: S } | { readonly ok: false };

export interface Model<I, O, S> {
  init(): S;
  /** Whether `input` answered with `output` is legal in `state`, and the state after it. */
  step(state: S, input: I, output: O | UnknownOutput): StepResult<S>;
  equal(a: S, b: S): boolean;
  /** Consistent with `equal`; any 32-bit-ish number. Used for the search's memo table. */
  hash(state: S): number;
  /**
   * Optionally rewrites one key's operations before the search, only in ways that keep the
   * verdict: e.g. bounding when an unknown-outcome write could have taken effect. Must not
   * mutate its argument.
   */
  prepare?(ops: Operation<I, O>[]): Operation<I, O>[];
  /** Inputs that never change the state; unknown-outcome ones are dropped before the search. */
  readOnly?(input: I): boolean;
  describeInput?(input: I): string;
  describeOutput?(output: O): string;
  describeState?(state: S): string;
}

/** One etcd v2 key: `put` is a plain PUT, the rest mirror prevValue / prevExist / DELETE. */
export type RegisterInput =
  | { readonly kind: "put"; readonly value: string }
  | { readonly kind: "get" }
  | { readonly kind: "cas"; readonly expected: string; readonly value: string }
  | { readonly kind: "create"; readonly value: string }
  | { readonly kind: "delete" };

/** A register input tagged with its etcd key, as handed to the recorder; the key partitions. */
export type KeyedRegisterInput = RegisterInput & { readonly key: string };

/**
 * `put` → "ok"; `get` → the value, or null when the key is missing; `cas`, `create`,
 * `delete` → whether they took effect (an etcd 412 "Compare failed", 105 "Key already
 * exists" or 100 "Key not found" is `false`).
 */
export type RegisterOutput = string | null | boolean;

/** null means the key does not exist. */
export type RegisterState = string | null;

function registerStep(
  state: RegisterState,
  input: RegisterInput,
  output: RegisterOutput | UnknownOutput,
): StepResult<RegisterState> {
  const known = output !== unknownOutput;
  switch (input.kind) {
    case "put":
      return !known || output === "ok" ? { ok: true, next: input.value } : { ok: false };
    case "get":
      return !known || output === state ? { ok: true, next: state } : { ok: false };
    case "cas":
      return conditional(known, output, state !== null && state === input.expected, {
        ifHolds: input.value,
        otherwise: state,
      });
    case "create":
      return conditional(known, output, state === null, { ifHolds: input.value, otherwise: state });
    case "delete":
      return conditional(known, output, state !== null, { ifHolds: null, otherwise: state });
  }
}

/** A conditional write: legal iff the reported success matches whether the condition held. */
function conditional(
  known: boolean,
  output: RegisterOutput | UnknownOutput,
  holds: boolean,
  states: { ifHolds: RegisterState; otherwise: RegisterState },
): StepResult<RegisterState> {
  if (known && output !== holds) return { ok: false };
  return { ok: true, next: holds ? states.ifHolds : states.otherwise };
}

/** FNV-1a over UTF-16 code units; null hashes apart from every string. */
export function hashString(s: string | null): number {
  if (s === null) return 0x9e3779b9;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function writtenValue(input: RegisterInput): string | undefined {
  return input.kind === "put" || input.kind === "cas" || input.kind === "create"
    ? input.value
    : undefined;
}

/**
 * Bounds unknown-outcome writes by their first observation. If a value has exactly one writer
 * and a completed get returned it (or a cas expecting it succeeded) by time T, that writer took
 * effect before T, so its return time can be T instead of infinity. This keeps the many
 * unknown writes of a faulty run from staying candidates for the rest of the search.
 */
function boundUnknownWrites<I extends RegisterInput>(
  ops: Operation<I, RegisterOutput>[],
): Operation<I, RegisterOutput>[] {
  const writers = new Map<string, number>();
  const seenByMs = new Map<string, number>();
  for (const o of ops) {
    const v = writtenValue(o.input);
    if (v !== undefined) writers.set(v, (writers.get(v) ?? 0) + 1);
    if (o.status !== "ok") continue;
    const seen =
      o.input.kind === "get" && typeof o.output === "string"
        ? o.output
        : o.input.kind === "cas" && o.output === true
          ? o.input.expected
          : undefined;
    if (seen !== undefined)
      seenByMs.set(seen, Math.min(seenByMs.get(seen) ?? o.returnMs, o.returnMs));
  }
  return ops.map((o) => {
    const v = writtenValue(o.input);
    if (o.status !== "unknown" || v === undefined || writers.get(v) !== 1) return o;
    const seenMs = seenByMs.get(v);
    // Seen before it was even sent: leave it for the search to report.
    if (seenMs === undefined || seenMs < o.callMs) return o;
    return { ...o, returnMs: seenMs };
  });
}

export const registerModel: Model<RegisterInput, RegisterOutput, RegisterState> = {
  init: () => null,
  step: registerStep,
  equal: (a, b) => a === b,
  hash: hashString,
  prepare: boundUnknownWrites,
  readOnly: (input) => input.kind === "get",
  describeInput: (input) => {
    switch (input.kind) {
      case "put":
      case "create":
        return `${input.kind}(${JSON.stringify(input.value)})`;
      case "cas":
        return `cas(${JSON.stringify(input.expected)} → ${JSON.stringify(input.value)})`;
      case "get":
      case "delete":
        return `${input.kind}()`;
    }
  },
  describeOutput: (output) => JSON.stringify(output),
  describeState: (state) => (state === null ? "<missing>" : JSON.stringify(state)),
};
