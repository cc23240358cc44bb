/**
 * Random register histories for testing the checker: a real sequential register driven by a
 * seeded random interleaving of concurrent clients, so every generated history is
 * linearizable by construction; plus corruptions that make one read certainly illegal.
 *
 * Deterministic for a seed. It must not call the checker: it is the checker's oracle.
 */

import { Prng } from "../../src/util/prng.ts";
import { HistoryRecorder, type Operation } from "./history.ts";
import type { KeyedRegisterInput, RegisterOutput, RegisterState } from "./model.ts";

export type RegisterOperation = Operation<KeyedRegisterInput, RegisterOutput>;
type RegOp = RegisterOperation;

export interface GenOptions {
  readonly seed: number;
  readonly clients: number;
  readonly keys: number;
  readonly ops: number;
  /** Probability that a request's outcome is lost (half before applying, half after). */
  readonly unknownRate: number;
  /** Probability that a request is refused without being applied. */
  readonly failRate: number;
}

type ClientPhase =
  | { phase: "idle" }
  | {
      phase: "sent";
      input: KeyedRegisterInput;
      done: (o: RegisterOutput | "unknown" | "fail") => void;
    }
  | { phase: "applied"; output: RegisterOutput; done: (o: RegisterOutput | "unknown") => void };

/**
 * Runs a real sequential register under a seeded random interleaving of concurrent clients:
 * each request is sent, applied atomically at some later step, then answered, so the history
 * is linearizable by construction. Every written value is unique.
 */
export function generate(o: GenOptions): RegOp[] {
  const prng = new Prng(o.seed);
  let t = 0;
  const rec = new HistoryRecorder<KeyedRegisterInput, RegisterOutput>({ now: () => t });
  const store = new Map<string, RegisterState>();
  const clients: ClientPhase[] = Array.from({ length: o.clients }, () => ({ phase: "idle" }));
  let sent = 0;
  let values = 0;
  while (sent < o.ops || clients.some((c) => c.phase !== "idle")) {
    t += 1 + prng.nextInt(3);
    const id = prng.nextInt(o.clients);
    const c = clients[id];
    if (c === undefined) throw new Error("no such client");
    if (c.phase === "idle") {
      if (sent >= o.ops) continue;
      sent++;
      const input = randomInput(prng, `/k${prng.nextInt(o.keys)}`, store, `v${values++}`);
      const h = rec.invoke(id, input);
      const done = (r: RegisterOutput | "unknown" | "fail") => {
        if (r === "unknown") h.unknown();
        else if (r === "fail") h.fail();
        else h.ok(r);
        clients[id] = { phase: "idle" };
      };
      clients[id] = { phase: "sent", input, done };
    } else if (c.phase === "sent") {
      if (prng.chance(o.failRate)) c.done("fail");
      else if (prng.chance(o.unknownRate / 2)) c.done("unknown");
      else clients[id] = { phase: "applied", output: apply(store, c.input), done: c.done };
    } else {
      c.done(prng.chance(o.unknownRate / 2) ? "unknown" : c.output);
    }
  }
  return rec.history();
}

function randomInput(
  prng: Prng,
  key: string,
  store: Map<string, RegisterState>,
  fresh: string,
): KeyedRegisterInput {
  const roll = prng.nextInt(100);
  if (roll < 40) return { kind: "get", key };
  if (roll < 65) return { kind: "put", value: fresh, key };
  if (roll < 85) {
    // Mostly the current value, so that many cas succeed; sometimes a stale guess.
    const expected = prng.chance(0.7) ? (store.get(key) ?? "none") : `v${prng.nextInt(10)}`;
    return { kind: "cas", expected, value: fresh, key };
  }
  if (roll < 93) return { kind: "create", value: fresh, key };
  return { kind: "delete", key };
}

function apply(store: Map<string, RegisterState>, input: KeyedRegisterInput): RegisterOutput {
  const cur = store.get(input.key) ?? null;
  switch (input.kind) {
    case "get":
      return cur;
    case "put":
      store.set(input.key, input.value);
      return "ok";
    case "cas":
      if (cur === null || cur !== input.expected) return false;
      store.set(input.key, input.value);
      return true;
    case "create":
      if (cur !== null) return false;
      store.set(input.key, input.value);
      return true;
    case "delete":
      if (cur === null) return false;
      store.set(input.key, null);
      return true;
  }
}

/** Replaces the output of one completed read chosen by `prng`. */
export function corruptRead(
  history: RegOp[],
  prng: Prng,
  output: (r: RegOp) => RegisterOutput | undefined,
) {
  const reads = history.filter((o) => o.status === "ok" && o.input.kind === "get");
  for (let tries = 0; tries < reads.length * 4; tries++) {
    const r = reads[prng.nextInt(reads.length)];
    if (r?.status !== "ok") continue;
    const v = output(r);
    if (v === undefined) continue;
    return history.map((o) => (o.id === r.id ? { ...r, output: v } : o));
  }
  return undefined;
}

/** A write whose effect is certain: it installed a unique value or removed the key. */
function certainWrite(o: RegOp): boolean {
  if (o.status !== "ok") return false;
  return o.input.kind === "put" || o.output === true;
}

/**
 * A value that `read` cannot legally return: written by W1, which completed before a certain
 * write W2 began, which completed before `read` began. Values are unique, so nothing can
 * reinstate it.
 */
export function staleValue(history: RegOp[], read: RegOp): RegisterOutput | undefined {
  const writes = history.filter((o) => o.key === read.key && certainWrite(o));
  // The latest-starting W2 leaves the most room for a W1 before it.
  const before = writes.filter((w) => w.returnMs < read.callMs);
  const w2 = before.reduce<RegOp | undefined>(
    (a, w) => (a && a.callMs > w.callMs ? a : w),
    undefined,
  );
  if (w2 === undefined) return undefined;
  const w1 = writes.find((w) => w.returnMs < w2.callMs && w.input.kind !== "delete");
  if (w1 === undefined || !("value" in w1.input)) return undefined;
  return w1.input.value;
}
