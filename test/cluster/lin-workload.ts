/**
 * The client side of the linearizability tests: concurrent clients doing PUT, quorum GET,
 * compare-and-swap, create and delete on a few keys through live members, recorded as a
 * history (ok / unknown outcomes) for the checker in test/lin.
 */
import { expect } from "bun:test";
import { Prng } from "../../src/util/prng.ts";
import { checkLinearizable } from "../lin/check.ts";
import type { HistoryRecorder } from "../lin/history.ts";
import { type KeyedRegisterInput, type RegisterOutput, registerModel } from "../lin/model.ts";
import type { MemberProcess } from "../support/cluster-process.ts";

export const KEYS = ["/lin/a", "/lin/b", "/lin/c"];
/** A request not answered in this time has an unknown outcome. */
const CLIENT_TIMEOUT_MS = 8000;

type Outcome = { kind: "ok"; output: RegisterOutput } | { kind: "unknown" } | { kind: "fail" };

function requestFor(input: KeyedRegisterInput): { method: string; query: string; body?: string } {
  switch (input.kind) {
    case "put":
      return { method: "PUT", query: "", body: `value=${input.value}` };
    case "get":
      return { method: "GET", query: "?quorum=true" };
    case "cas":
      return { method: "PUT", query: `?prevValue=${input.expected}`, body: `value=${input.value}` };
    case "create":
      return { method: "PUT", query: "?prevExist=false", body: `value=${input.value}` };
    case "delete":
      return { method: "DELETE", query: "" };
  }
}

/** Maps an etcd answer to the model's output; 5xx and lost connections are unknown. */
function outcomeOf(
  input: KeyedRegisterInput,
  status: number,
  body: { errorCode?: number; node?: { value?: string } },
): Outcome {
  if (status >= 500) return { kind: "unknown" };
  switch (input.kind) {
    case "put":
      return status === 200 || status === 201 ? { kind: "ok", output: "ok" } : { kind: "unknown" };
    case "get":
      if (status === 200) return { kind: "ok", output: body.node?.value ?? "" };
      return body.errorCode === 100 ? { kind: "ok", output: null } : { kind: "unknown" };
    case "cas":
      if (status === 200) return { kind: "ok", output: true };
      return body.errorCode === 101 || body.errorCode === 100
        ? { kind: "ok", output: false }
        : { kind: "unknown" };
    case "create":
      if (status === 201) return { kind: "ok", output: true };
      return body.errorCode === 105 ? { kind: "ok", output: false } : { kind: "unknown" };
    case "delete":
      if (status === 200) return { kind: "ok", output: true };
      return body.errorCode === 100 ? { kind: "ok", output: false } : { kind: "unknown" };
  }
}

async function perform(m: MemberProcess, input: KeyedRegisterInput): Promise<Outcome> {
  const r = requestFor(input);
  try {
    const res = await fetch(`${m.clientUrl}/v2/keys${input.key}${r.query}`, {
      method: r.method,
      ...(r.body === undefined
        ? {}
        : { body: r.body, headers: { "content-type": "application/x-www-form-urlencoded" } }),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const body = (await res.json()) as { errorCode?: number; node?: { value?: string } };
    return outcomeOf(input, res.status, body);
  } catch {
    return { kind: "unknown" };
  }
}

function nextInput(
  rng: Prng,
  client: number,
  seq: number,
  lastSeen: Map<string, string>,
): KeyedRegisterInput {
  const key = KEYS[rng.nextInt(KEYS.length)] ?? "/lin/a";
  const value = `c${client}s${seq}`;
  const roll = rng.nextInt(10);
  if (roll < 3) return { key, kind: "put", value };
  if (roll < 6) return { key, kind: "get" };
  if (roll < 8) return { key, kind: "cas", expected: lastSeen.get(key) ?? "none", value };
  if (roll < 9) return { key, kind: "create", value };
  return { key, kind: "delete" };
}

export async function client(
  id: number,
  seed: number,
  until: number,
  targets: () => readonly MemberProcess[],
  recorder: HistoryRecorder<KeyedRegisterInput, RegisterOutput>,
) {
  const rng = new Prng(seed + id);
  const lastSeen = new Map<string, string>();
  for (let seq = 0; performance.now() < until; seq++) {
    const live = targets().filter((m) => m.proc.exitCode === null && m.proc.signalCode === null);
    const m = live[rng.nextInt(Math.max(1, live.length))];
    if (m === undefined) {
      await Bun.sleep(20);
      continue;
    }
    const input = nextInput(rng, id, seq, lastSeen);
    const handle = recorder.invoke(id, input);
    const outcome = await perform(m, input);
    if (outcome.kind === "ok") {
      handle.ok(outcome.output);
      if (input.kind === "get" && typeof outcome.output === "string")
        lastSeen.set(input.key, outcome.output);
    } else if (outcome.kind === "fail") handle.fail();
    else handle.unknown();
  }
}

/** Checks the recorded history per key (printing its size) and expects it linearizable. */
export function expectLinearizable(
  recorder: HistoryRecorder<KeyedRegisterInput, RegisterOutput>,
  minCompleted: number,
): void {
  const history = recorder.history();
  expect(history.filter((op) => op.status === "ok").length).toBeGreaterThan(minCompleted);
  const result = checkLinearizable(history, registerModel, { timeoutMs: 60_000 });
  const unknown = history.filter((op) => op.status === "unknown").length;
  console.log(
    `linearizability: ${history.length} operations (${unknown} unknown outcome), ${result.result} in ${result.stats.elapsedMs.toFixed(0)} ms`,
  );
  if (result.result === "illegal") console.error(result.witness.message);
  expect(result.result).toBe("ok");
}

type KeyBody = { node?: { value?: string } };

/** Every member ends up with the leader's (quorum-read) value for every key. */
export async function expectConverged(
  leader: MemberProcess,
  members: readonly MemberProcess[],
): Promise<void> {
  for (const key of KEYS) {
    const want = (await (
      await fetch(`${leader.clientUrl}/v2/keys${key}?quorum=true`)
    ).json()) as KeyBody;
    for (const m of members) {
      const deadline = Date.now() + 10_000;
      let got: KeyBody = {};
      while (Date.now() < deadline) {
        got = (await (await fetch(`${m.clientUrl}/v2/keys${key}`)).json()) as KeyBody;
        if (got.node?.value === want.node?.value) break;
        await Bun.sleep(100);
      }
      expect(got.node?.value).toBe(want.node?.value);
    }
  }
}
