/**
 * Kill -9 of single members of a 3-member cluster under a write load spread over all members:
 * writes resume within a few seconds, no acknowledged write is lost, and after every member is
 * back all of them converge to the same contents.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  type ClusterProcess,
  type MemberProcess,
  startCluster,
} from "../support/cluster-process.ts";

const ROUNDS = 3;
const WRITERS = 12;
/** How long writes may pause after a kill before the test fails ("within a few seconds"). */
const RESUME_MS_MAX = 5000;

let cluster: ClusterProcess;
beforeAll(async () => {
  cluster = await startCluster({
    size: 3,
    extraArgs: [
      "--heartbeat-interval",
      "50",
      "--election-timeout",
      "500",
      "--snapshot-count",
      "400",
    ],
  });
});
afterAll(async () => {
  await cluster?.stop();
});

interface Load {
  readonly acked: Map<string, string>;
  lastAckAt: number;
  stop: boolean;
}

async function writer(members: readonly MemberProcess[], id: number, round: number, load: Load) {
  for (let seq = 0; !load.stop; seq++) {
    const m = members[(id + seq) % members.length];
    if (m === undefined || m.proc.exitCode !== null || m.proc.signalCode !== null) {
      await Bun.sleep(5);
      continue;
    }
    const key = `/load/r${round}/w${id}/k${seq}`;
    const value = `${round}.${id}.${seq}`;
    try {
      const res = await fetch(`${m.clientUrl}/v2/keys${key}`, {
        method: "PUT",
        body: new URLSearchParams({ value }),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.status === 201) {
        load.acked.set(key, value);
        load.lastAckAt = Date.now();
      }
    } catch {
      // Outcome unknown (the member died or timed out); not counted as acknowledged.
    }
  }
}

async function dump(m: MemberProcess): Promise<string> {
  const res = await fetch(`${m.clientUrl}/v2/keys/load?recursive=true&sorted=true`);
  return res.text().then((t) => JSON.stringify(JSON.parse(t).node));
}

test("killing one member at a time under load loses no acknowledged write", async () => {
  const acked = new Map<string, string>();
  for (let round = 0; round < ROUNDS; round++) {
    const load: Load = { acked, lastAckAt: Date.now(), stop: false };
    const writers = Array.from({ length: WRITERS }, (_, w) =>
      writer(cluster.members, w, round, load),
    );
    await Bun.sleep(800);
    const victim =
      round === 1 ? cluster.members.find((m) => m.proc.exitCode === null) : await cluster.leader();
    if (victim === undefined) throw new Error("no member to kill");
    await victim.kill("SIGKILL");
    const killedAt = Date.now();
    const resumed = await (async () => {
      while (Date.now() - killedAt < RESUME_MS_MAX * 2) {
        if (load.lastAckAt > killedAt + 50) return load.lastAckAt - killedAt;
        await Bun.sleep(20);
      }
      return Number.POSITIVE_INFINITY;
    })();
    expect(resumed).toBeLessThan(RESUME_MS_MAX);
    await Bun.sleep(500);
    load.stop = true;
    await Promise.all(writers);
    await victim.restart();
  }
  expect(acked.size).toBeGreaterThan(100);
  const leader = await cluster.leader();
  const missing: string[] = [];
  for (const [key, value] of acked) {
    const res = await fetch(`${leader.clientUrl}/v2/keys${key}?quorum=true`);
    const body = (await res.json()) as { node?: { value?: string } };
    if (body.node?.value !== value) missing.push(key);
  }
  expect(missing).toEqual([]);
  // Every member converges to the same contents.
  const expected = await dump(leader);
  for (const m of cluster.members) {
    const deadline = Date.now() + 15_000;
    while ((await dump(m)) !== expected && Date.now() < deadline) await Bun.sleep(100);
    expect(await dump(m)).toBe(expected);
  }
}, 180_000);
