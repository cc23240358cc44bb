/**
 * Linearizability under faults: concurrent clients run PUT, quorum GET, compare-and-swap,
 * create and delete on a few keys through every member of a real 3-member cluster while a
 * nemesis kills, isolates and pauses members. The recorded history (ok / unknown outcomes) is
 * checked per key against a register-with-CAS model (test/lin), and all members must converge.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { checkLinearizable } from "../lin/check.ts";
import { HistoryRecorder } from "../lin/history.ts";
import { type KeyedRegisterInput, type RegisterOutput, registerModel } from "../lin/model.ts";
import { type ClusterProcess, startCluster } from "../support/cluster-process.ts";
import { client, KEYS } from "./lin-workload.ts";

const CLIENTS = 8;
const RUN_MS = 14_000;
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
    ...Array.from({ length: CLIENTS }, (_, i) =>
      client(i, SEED, until, () => cluster.members, recorder),
    ),
  ]);
  expect(faults.length).toBeGreaterThanOrEqual(3);
  const history = recorder.history();
  const completed = history.filter((op) => op.status === "ok").length;
  expect(completed).toBeGreaterThan(200);
  const result = checkLinearizable(history, registerModel, { timeoutMs: 60_000 });
  const unknown = history.filter((op) => op.status === "unknown").length;
  console.log(
    `linearizability: ${history.length} operations (${unknown} unknown outcome), ${result.result} in ${result.stats.elapsedMs.toFixed(0)} ms`,
  );
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
