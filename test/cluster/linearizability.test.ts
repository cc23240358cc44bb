/**
 * Linearizability under faults: concurrent clients run PUT, quorum GET, compare-and-swap,
 * create and delete on a few keys through every member of a real 3-member cluster while a
 * nemesis kills, isolates and pauses members. The recorded history (ok / unknown outcomes) is
 * checked per key against a register-with-CAS model (test/lin), and all members must converge.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Prng } from "../../src/util/prng.ts";
import { checkLinearizable } from "../lin/check.ts";
import { HistoryRecorder } from "../lin/history.ts";
import { type KeyedRegisterInput, type RegisterOutput, registerModel } from "../lin/model.ts";
import {
  type ClusterProcess,
  type MemberProcess,
  startCluster,
} from "../support/cluster-process.ts";

const KEYS = ["/lin/a", "/lin/b", "/lin/c"];
const CLIENTS = 8;
const RUN_MS = 14_000;
/** A request not answered in this time has an unknown outcome. */
const CLIENT_TIMEOUT_MS = 8000;
const SEED = Number(process.env.LIN_SEED ?? 20261125);

let cluster: ClusterProcess;
beforeAll(async () => {
  cluster = await startCluster({
    size: 3,
    relays: true,
    extraArgs: ["--heartbeat-interval", "50", "--election-timeout", "500"],
  });
});
afterAll(async () => {
  await cluster?.stop();
});

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

async function client(
  id: number,
  until: number,
  recorder: HistoryRecorder<KeyedRegisterInput, RegisterOutput>,
) {
  const rng = new Prng(SEED + id);
  const lastSeen = new Map<string, string>();
  for (let seq = 0; performance.now() < until; seq++) {
    const live = cluster.members.filter(
      (m) => m.proc.exitCode === null && m.proc.signalCode === null,
    );
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

async function nemesis(until: number): Promise<string[]> {
  const done: string[] = [];
  const steps: (() => Promise<void>)[] = [
    async () => {
      const leader = await cluster.leader();
      await leader.kill("SIGKILL");
      await Bun.sleep(1500);
      await leader.restart();
      done.push("kill -9 leader + restart");
    },
    async () => {
      const leader = await cluster.leader();
      const index = cluster.members.indexOf(leader);
      await cluster.isolate(index);
      await Bun.sleep(2000);
      cluster.heal();
      done.push("isolate leader + heal");
    },
    async () => {
      const leader = await cluster.leader();
      leader.proc.kill("SIGSTOP");
      await Bun.sleep(1500);
      leader.proc.kill("SIGCONT");
      done.push("SIGSTOP leader + SIGCONT");
    },
    async () => {
      const leader = await cluster.leader();
      const follower = cluster.members.find((m) => m !== leader);
      if (follower === undefined) return;
      await follower.kill("SIGKILL");
      await Bun.sleep(1000);
      await follower.restart();
      done.push("kill -9 follower + restart");
    },
  ];
  for (const step of steps) {
    if (performance.now() > until - 2000) break;
    await Bun.sleep(700);
    await step();
  }
  return done;
}

test("histories of concurrent clients under faults are linearizable", async () => {
  const recorder = new HistoryRecorder<KeyedRegisterInput, RegisterOutput>();
  const until = performance.now() + RUN_MS;
  const [faults] = await Promise.all([
    nemesis(until),
    ...Array.from({ length: CLIENTS }, (_, i) => client(i, until, recorder)),
  ]);
  expect(faults.length).toBeGreaterThanOrEqual(3);
  const history = recorder.history();
  const completed = history.filter((op) => op.status === "ok").length;
  expect(completed).toBeGreaterThan(200);
  const result = checkLinearizable(history, registerModel, { timeoutMs: 60_000 });
  if (result.result === "illegal") console.error(result.witness.message);
  expect(result.result).toBe("ok");
  // All members converge to the same values for the keys.
  const leader = await cluster.leader(15_000);
  for (const key of KEYS) {
    const want = await fetch(`${leader.clientUrl}/v2/keys${key}?quorum=true`).then((r) => r.text());
    for (const m of cluster.members) {
      const deadline = Date.now() + 10_000;
      let got = "";
      while (Date.now() < deadline) {
        got = await fetch(`${m.clientUrl}/v2/keys${key}`).then((r) => r.text());
        if (JSON.parse(got).node?.value === JSON.parse(want).node?.value) break;
        await Bun.sleep(100);
      }
      expect(JSON.parse(got).node?.value).toBe(JSON.parse(want).node?.value);
    }
  }
}, 180_000);
