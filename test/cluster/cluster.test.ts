/**
 * Real etcd-bun processes forming clusters on 127.0.0.1 from a static initial cluster: leader
 * election, writes through every member, failover after the leader is killed, catch-up of a
 * restarted member, and a member of another cluster being rejected.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ClusterProcess,
  freePort,
  type MemberProcess,
  startCluster,
} from "../support/cluster-process.ts";

let cluster: ClusterProcess | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function put(m: MemberProcess, key: string, value: string): Promise<number> {
  const res = await fetch(`${m.clientUrl}/v2/keys${key}`, {
    method: "PUT",
    body: new URLSearchParams({ value }),
    signal: AbortSignal.timeout(15_000),
  });
  await res.arrayBuffer();
  return res.status;
}

async function read(m: MemberProcess, key: string, quorum = false): Promise<string | undefined> {
  const res = await fetch(`${m.clientUrl}/v2/keys${key}${quorum ? "?quorum=true" : ""}`);
  const body = (await res.json()) as { node?: { value?: string } };
  return res.status === 200 ? body.node?.value : undefined;
}

/** Waits until a member's local (non-quorum) read sees `value`. */
async function eventually(m: MemberProcess, key: string, value: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await read(m, key)) === value) return;
    await Bun.sleep(50);
  }
  expect(await read(m, key)).toBe(value);
}

test("a 3-member cluster elects one leader and takes writes through every member", async () => {
  cluster = await startCluster({ size: 3 });
  const leader = await cluster.leader();
  const states = await Promise.all(
    cluster.members.map(
      async (m) =>
        ((await (await fetch(`${m.clientUrl}/v2/stats/self`)).json()) as { state: string }).state,
    ),
  );
  expect(states.filter((s) => s === "StateLeader")).toHaveLength(1);
  for (const [i, m] of cluster.members.entries()) expect(await put(m, `/k${i}`, `v${i}`)).toBe(201);
  for (const m of cluster.members) {
    for (let i = 0; i < 3; i++) expect(await read(m, `/k${i}`, true)).toBe(`v${i}`);
  }
  const members = (await (await fetch(`${leader.clientUrl}/v2/members`)).json()) as {
    members: { name: string; clientURLs: string[] }[];
  };
  expect(members.members.map((m) => m.name).sort()).toEqual(["infra0", "infra1", "infra2"]);
  expect((await fetch(`${leader.clientUrl}/v2/stats/leader`)).status).toBe(200);
  const follower = cluster.members.find((m) => m !== leader);
  if (follower === undefined) throw new Error("no follower");
  expect((await fetch(`${follower.clientUrl}/v2/stats/leader`)).status).toBe(403);
});

test.skipIf(Bun.which("etcdctl") === null)(
  "the seed article's static bootstrap (Go-style flags) gives a cluster etcdctl lists",
  async () => {
    cluster = await startCluster({ size: 3, singleDash: true, token: "etcd-cluster-1" });
    const endpoints = cluster.members.map((m) => m.clientUrl).join(",");
    const ctl = (args: string[]) => {
      const r = Bun.spawnSync(["etcdctl", "--endpoints", endpoints, ...args], {
        env: { ...process.env, ETCDCTL_API: "2" },
      });
      return { code: r.exitCode, out: r.stdout.toString() };
    };
    const list = ctl(["member", "list"]);
    expect(list.code).toBe(0);
    const lines = list.out.trim().split("\n");
    expect(lines).toHaveLength(3);
    for (const [i, m] of cluster.members.entries()) {
      expect(list.out).toContain(`name=infra${i} peerURLs=${m.peerUrl} clientURLs=${m.clientUrl}`);
    }
    expect(lines.filter((l) => l.endsWith("isLeader=true"))).toHaveLength(1);
    const health = ctl(["cluster-health"]);
    expect(health.code).toBe(0);
    expect(health.out).toContain("cluster is healthy");
  },
);

test("killing the leader: a new leader is elected and writes resume; the old one catches up", async () => {
  cluster = await startCluster({ size: 3 });
  const old = await cluster.leader();
  expect(await put(old, "/before", "1")).toBe(201);
  await old.kill("SIGKILL");
  const started = Date.now();
  const next = await cluster.leader(15_000);
  expect(next).not.toBe(old);
  expect(await put(next, "/after", "2")).toBe(201);
  const survivors = cluster.members.filter((m) => m !== old);
  for (const m of survivors) expect(await read(m, "/after", true)).toBe("2");
  expect(Date.now() - started).toBeLessThan(15_000);
  for (let i = 0; i < 50; i++) expect(await put(next, `/missed${i}`, String(i))).toBe(201);
  await old.restart();
  await eventually(old, "/missed49", "49");
  expect(await read(old, "/before")).toBe("1");
});

test("a member of another cluster (different token) is rejected and never merged", async () => {
  cluster = await startCluster({ size: 3, token: "cluster-a" });
  const target = cluster.members[0];
  if (target === undefined) throw new Error("no member");
  expect(await put(target, "/mine", "a")).toBe(201);
  // A member whose initial cluster names a peer of cluster A, but with another token: its
  // cluster id differs, so A's member refuses its streams (412) and logs why.
  const peer = `http://127.0.0.1:${await freePort()}`;
  const client = `http://127.0.0.1:${await freePort()}`;
  const dataDir = mkdtempSync(join(tmpdir(), "etcd-bun-intruder-"));
  const intruder = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "../../src/main.ts"),
      "--name",
      "intruder",
      "--data-dir",
      dataDir,
      "--listen-client-urls",
      client,
      "--advertise-client-urls",
      client,
      "--listen-peer-urls",
      peer,
      "--initial-advertise-peer-urls",
      peer,
      "--initial-cluster",
      `infra0=${target.peerUrl},intruder=${peer}`,
      "--initial-cluster-token",
      "cluster-b",
      "--election-timeout",
      "300",
      "--heartbeat-interval",
      "50",
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
  try {
    const deadline = Date.now() + 10_000;
    while (!target.output().includes("cluster ID mismatch") && Date.now() < deadline)
      await Bun.sleep(100);
    expect(target.output()).toContain("cluster ID mismatch");
    expect(await read(target, "/mine", true)).toBe("a");
    const members = (await (await fetch(`${target.clientUrl}/v2/members`)).json()) as {
      members: { name: string }[];
    };
    expect(members.members.map((m) => m.name).sort()).toEqual(["infra0", "infra1", "infra2"]);
    const intruderUp = await fetch(`${client}/v2/keys/`).then(
      () => true,
      () => false,
    );
    expect(intruderUp).toBe(false); // it never reached a quorum, so it serves nothing
  } finally {
    intruder.kill("SIGKILL");
    await intruder.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a member that missed more than the leader keeps in its log catches up by snapshot", async () => {
  cluster = await startCluster({
    size: 3,
    extraArgs: [
      "--snapshot-count",
      "40",
      "--heartbeat-interval",
      "50",
      "--election-timeout",
      "500",
    ],
    env: { ETCDBUN_SNAPSHOT_CATCHUP_ENTRIES: "10" },
  });
  const leader = await cluster.leader();
  const lagging = cluster.members.find((m) => m !== leader);
  if (lagging === undefined) throw new Error("no follower");
  await lagging.kill("SIGKILL");
  for (let i = 0; i < 200; i++) expect(await put(leader, `/snap${i}`, String(i))).toBe(201);
  await lagging.restart();
  await eventually(lagging, "/snap199", "199");
  expect(await read(lagging, "/snap0")).toBe("0");
  expect(lagging.output()).toContain("installed snapshot at index");
});
