/**
 * Linearizability under faults: concurrent clients run PUT, quorum GET, compare-and-swap,
 * create and delete on a few keys through every member of a real 3-member cluster while a
 * nemesis kills, isolates and pauses members. The recorded history (ok / unknown outcomes) is
 * checked per key against a register-with-CAS model (test/lin), and all members must converge.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { HistoryRecorder } from "../lin/history.ts";
import type { KeyedRegisterInput, RegisterOutput } from "../lin/model.ts";
import { type ClusterProcess, startCluster } from "../support/cluster-process.ts";
import { client, expectConverged, expectLinearizable } from "./lin-workload.ts";

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
  expectLinearizable(recorder, 200);
  // All members converge to the same values for the keys.
  await expectConverged(await cluster.leader(15_000), cluster.members);
}, 180_000);
