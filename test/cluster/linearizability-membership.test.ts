/**
 * Linearizability while the membership changes: the same concurrent clients as the fault test,
 * while a nemesis kills the leader, replaces a follower (remove, wipe, add, start with
 * `existing`) and kills a follower. The history must stay linearizable and no member may end
 * up with different contents.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { HistoryRecorder } from "../lin/history.ts";
import type { KeyedRegisterInput, RegisterOutput } from "../lin/model.ts";
import {
  type ClusterProcess,
  type MemberProcess,
  startCluster,
} from "../support/cluster-process.ts";
import { addAndStartMember, removeMemberAndWait } from "../support/membership.ts";
import { client, expectConverged, expectLinearizable } from "./lin-workload.ts";

const FAST = ["--heartbeat-interval", "50", "--election-timeout", "500"];
const CLIENTS = 6;
const RUN_MS = 14_000;
const SEED = Number(process.env.LIN_SEED ?? 4242);

let cluster: ClusterProcess;
const joined: MemberProcess[] = [];
const everyone = () => [...cluster.members, ...joined];
const live = () => everyone().filter((m) => m.proc.exitCode === null && m.proc.signalCode === null);

beforeAll(async () => {
  cluster = await startCluster({ size: 3, extraArgs: FAST });
});
afterAll(async () => {
  await Promise.all(joined.map((m) => m.stop()));
  await cluster?.stop();
});

async function leaderOf(): Promise<MemberProcess> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    for (const m of live()) {
      const self = await fetch(`${m.clientUrl}/v2/stats/self`)
        .then((r) => r.json() as Promise<{ state: string }>)
        .catch(() => ({ state: "" }));
      if (self.state === "StateLeader") return m;
    }
    await Bun.sleep(50);
  }
  throw new Error("no leader");
}

async function nemesis(): Promise<string[]> {
  const done: string[] = [];
  await Bun.sleep(1000);
  const leader = await leaderOf();
  await leader.kill("SIGKILL");
  await Bun.sleep(1200);
  await leader.restart();
  done.push("kill -9 leader + restart");
  await Bun.sleep(800);
  const current = await leaderOf();
  const victim = live().find((m) => m !== current);
  if (victim !== undefined) {
    await removeMemberAndWait(current, victim);
    rmSync(victim.dataDir, { recursive: true, force: true });
    joined.push(await addAndStartMember(current, `${victim.name}-new`, FAST));
    done.push(`replace ${victim.name}`);
  }
  await Bun.sleep(800);
  const follower = live().find((m) => m !== current);
  if (follower !== undefined) {
    await follower.kill("SIGKILL");
    await Bun.sleep(1000);
    await follower.restart();
    done.push("kill -9 follower + restart");
  }
  return done;
}

test("a member replaced while clients write and members are killed keeps histories linearizable", async () => {
  const recorder = new HistoryRecorder<KeyedRegisterInput, RegisterOutput>();
  const until = performance.now() + RUN_MS;
  const [faults] = await Promise.all([
    nemesis(),
    ...Array.from({ length: CLIENTS }, (_, i) => client(i, SEED, until, live, recorder)),
  ]);
  expect(faults).toHaveLength(3);
  expectLinearizable(recorder, 150);
  // All members converge to the same values for the keys.
  await expectConverged(await leaderOf(), live());
}, 180_000);
