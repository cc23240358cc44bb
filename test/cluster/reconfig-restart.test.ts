/**
 * The strict reconfiguration check after members restart, with real processes: etcd counts a
 * peer as connected once its stream has been up for the health interval (5 s), in whichever
 * direction, so a cluster whose members were killed and restarted accepts a remove again about
 * 5 s after they are back, not never.
 */
import { afterEach, expect, test } from "bun:test";
import {
  type ClusterProcess,
  type MemberProcess,
  startCluster,
} from "../support/cluster-process.ts";

const FAST = ["--heartbeat-interval", "50", "--election-timeout", "500"];
/** etcd's HealthInterval: how long a peer must have been connected to count. */
const HEALTH_INTERVAL_MS = 5000;
/** Room for a loaded 2-core CI machine on top of the health interval. */
const SLACK_MS = 4000;

let cluster: ClusterProcess | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function put(m: MemberProcess, key: string): Promise<number> {
  const res = await fetch(`${m.clientUrl}/v2/keys${key}`, {
    method: "PUT",
    body: new URLSearchParams({ value: "1" }),
    signal: AbortSignal.timeout(5000),
  }).catch(() => undefined);
  await res?.arrayBuffer();
  return res?.status ?? 0;
}

/** Waits (bounded) until a write through every member succeeds. */
async function waitHealthy(members: readonly MemberProcess[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const [i, m] of members.entries()) {
    while (![200, 201].includes(await put(m, `/healthy/${i}`))) {
      if (Date.now() > deadline) throw new Error(`${m.name} never took a write`);
      await Bun.sleep(100);
    }
  }
}

async function memberIds(m: MemberProcess): Promise<Map<string, string>> {
  const res = await fetch(`${m.clientUrl}/v2/members`);
  const body = (await res.json()) as { members: { id: string; name: string }[] };
  return new Map(body.members.map((x) => [x.name, x.id]));
}

test("strict reconfig check: after two of three members restart, a remove is accepted once they have been connected for 5 s", async () => {
  cluster = await startCluster({ size: 3, extraArgs: FAST });
  const [, b, c] = cluster.members;
  if (b === undefined || c === undefined) throw new Error("cluster of 3 expected");
  await Promise.all([b.kill("SIGKILL"), c.kill("SIGKILL")]);
  await b.restart();
  await c.restart();
  await waitHealthy(cluster.members);
  const healthyAt = Date.now();
  // Remove the leader through a follower: the two members that remain are then both followers,
  // and only their link to each other decides whether the remove keeps a connected quorum.
  const leader = await cluster.leader();
  const via = cluster.members.find((m) => m !== leader);
  if (via === undefined) throw new Error("no follower");
  const leaderId = (await memberIds(via)).get(leader.name) ?? "";
  const refusals = new Set<string>();
  let acceptedAfterMs = -1;
  while (Date.now() - healthyAt < HEALTH_INTERVAL_MS + SLACK_MS) {
    const res = await fetch(`${via.clientUrl}/v2/members/${leaderId}`, {
      method: "DELETE",
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (res.status === 204) {
      acceptedAfterMs = Date.now() - healthyAt;
      break;
    }
    refusals.add(`${res.status} ${text.trim()}`);
    await Bun.sleep(250);
  }
  if (acceptedAfterMs < 0) {
    throw new Error(`remove still refused ${Date.now() - healthyAt} ms after: ${[...refusals]}`);
  }
  // While it waited, the refusal was etcd's: the connected quorum, not the started members.
  for (const r of refusals) expect(r).toBe('500 {"message":"etcdserver: unhealthy cluster"}');
  expect(acceptedAfterMs).toBeLessThan(HEALTH_INTERVAL_MS + SLACK_MS);
  expect(await Promise.race([leader.proc.exited, Bun.sleep(10_000).then(() => "running")])).toBe(0);
  const rest = cluster.members.filter((m) => m !== leader);
  await waitHealthy(rest);
}, 120_000);
