/**
 * `/metrics` of a live 3-member cluster: etcd 3.4's names move as writes, fsyncs, peer traffic
 * and an election happen. The exposition is parsed as Prometheus text (name{labels} value).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  type ClusterProcess,
  freePort,
  type MemberProcess,
  startCluster,
  startMember,
} from "../support/cluster-process.ts";

type Samples = Map<string, number>;

/** Every sample line, keyed by `name{labels}` as written. */
async function scrape(m: MemberProcess): Promise<Samples> {
  const res = await fetch(`${m.clientUrl}/metrics`);
  expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  const samples: Samples = new Map();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The sum of every sample of `name` (all label sets). */
function total(samples: Samples, name: string): number {
  let sum = 0;
  for (const [key, value] of samples) if (key === name || key.startsWith(`${name}{`)) sum += value;
  return sum;
}

let cluster: ClusterProcess;
beforeAll(async () => {
  cluster = await startCluster({ size: 3 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

async function put(m: MemberProcess, key: string, value: string) {
  const res = await fetch(`${m.clientUrl}/v2/keys/${key}`, {
    method: "PUT",
    body: new URLSearchParams({ value }),
  });
  expect(res.status).toBeLessThan(300);
}

test("etcd's names are exported with the types and labels etcd gives them", async () => {
  const leader = await cluster.leader();
  const samples = await scrape(leader);
  for (const name of [
    "etcd_server_has_leader",
    "etcd_server_is_leader",
    "etcd_server_leader_changes_seen_total",
    "etcd_server_proposals_committed_total",
    "etcd_server_proposals_applied_total",
    "etcd_server_proposals_pending",
    "etcd_server_proposals_failed_total",
    "etcd_disk_wal_fsync_duration_seconds_count",
    "etcd_debugging_store_watchers",
    "etcd_debugging_store_expires_total",
    "etcd_debugging_store_watch_requests_total",
    "etcd_server_slow_apply_total",
    "etcd_server_read_indexes_failed_total",
    "etcd_server_heartbeat_send_failures_total",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "process_start_time_seconds",
  ])
    expect({ name, present: samples.has(name) }).toEqual({ name, present: true });
  expect(samples.get("etcd_server_is_leader")).toBe(1);
  expect(samples.get("etcd_server_has_leader")).toBe(1);
  expect(samples.has('etcd_debugging_store_writes_total{action="set"}')).toBe(true);
  expect([...samples.keys()].some((k) => k.startsWith("etcd_server_id{server_id="))).toBe(true);
  // The versions /version reports.
  expect(samples.get('etcd_server_version{server_version="2.3.8"}')).toBe(1);
  expect(samples.get('etcd_cluster_version{cluster_version="2.3"}')).toBe(1);
  expect(samples.has('etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"}')).toBe(true);
  // The leader has a stream open to each of the two followers.
  expect(total(samples, "etcd_network_active_peers")).toBe(2);
});

test("writes move proposals, fsyncs, store writes, request counters and peer traffic", async () => {
  const leader = await cluster.leader();
  const before = await scrape(leader);
  for (let i = 0; i < 20; i++) await put(leader, `metrics/k${i}`, `v${i}`);
  await fetch(`${leader.clientUrl}/v2/keys/metrics/missing`).then((r) => r.arrayBuffer());
  // Two watches, each answered at once from the event history (the first write under metrics/).
  for (let i = 0; i < 2; i++)
    await fetch(`${leader.clientUrl}/v2/keys/metrics?wait=true&recursive=true&waitIndex=1`, {
      signal: AbortSignal.timeout(5000),
    }).then((r) => r.arrayBuffer());
  for (let i = 0; i < 3; i++)
    await fetch(`${leader.clientUrl}/health`).then((r) => r.arrayBuffer());
  const after = await scrape(leader);
  const grew = (name: string) => total(after, name) - total(before, name);
  expect(grew("etcd_server_health_success")).toBe(3);
  expect(grew("etcd_server_health_failures")).toBe(0);
  // Each PUT's entry, at least (frames, headers and the hard state come on top).
  expect(grew("etcd_disk_wal_write_bytes_total")).toBeGreaterThan(20 * "metrics/k0v0".length);
  expect(grew("etcd_server_proposals_committed_total")).toBeGreaterThanOrEqual(20);
  expect(grew("etcd_server_proposals_applied_total")).toBeGreaterThanOrEqual(20);
  expect(grew("etcd_disk_wal_fsync_duration_seconds_count")).toBeGreaterThanOrEqual(20);
  expect(grew('etcd_debugging_store_writes_total{action="set"}')).toBe(20);
  expect(grew('etcd_http_received_total{method="PUT"}')).toBe(20);
  expect(grew('etcd_http_successful_duration_seconds_count{method="PUT"}')).toBe(20);
  expect(grew('etcd_http_failed_total{method="GET",code="404"}')).toBe(1);
  expect(grew("etcd_debugging_store_watch_requests_total")).toBe(2);
  expect(grew("etcd_network_peer_sent_bytes_total")).toBeGreaterThan(0);
  expect(grew("etcd_network_peer_received_bytes_total")).toBeGreaterThan(0);
  expect(total(after, "etcd_network_peer_round_trip_time_seconds_count")).toBeGreaterThan(0);
  const follower = cluster.members.find((m) => m !== leader) as MemberProcess;
  const onFollower = await scrape(follower);
  expect(onFollower.get("etcd_server_is_leader")).toBe(0);
  expect(total(onFollower, "etcd_disk_wal_fsync_duration_seconds_count")).toBeGreaterThanOrEqual(
    20,
  );
});

test("an election is counted by the members that see the new leader", async () => {
  const leader = await cluster.leader();
  const others = cluster.members.filter((m) => m !== leader);
  const before = await Promise.all(others.map(scrape));
  await leader.kill("SIGKILL");
  const next = await cluster.leader(15_000);
  const after = await Promise.all(others.map(scrape));
  others.forEach((_, i) => {
    const seen = (s: Samples | undefined) => s?.get("etcd_server_leader_changes_seen_total") ?? 0;
    expect(seen(after[i])).toBe(seen(before[i]) + 1);
  });
  expect((await scrape(next)).get("etcd_server_is_leader")).toBe(1);
}, 30_000);

test("--listen-metrics-urls serves /metrics and /health there, and nothing else", async () => {
  const port = await freePort();
  const member = await startMember({
    extraArgs: ["--listen-metrics-urls", `http://127.0.0.1:${port}`],
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("etcd_server_has_leader 1");
    const health = await fetch(`${url}/health`);
    expect([health.status, await health.text()]).toEqual([200, '{"health":"true"}']);
    const keys = await fetch(`${url}/v2/keys/`);
    await keys.arrayBuffer();
    expect(keys.status).toBe(404);
  } finally {
    await member.stop();
  }
}, 30_000);

test("/debug/vars shows the command line, memory and Raft's status as etcd's does", async () => {
  const leader = await cluster.leader();
  const vars = (await (await fetch(`${leader.clientUrl}/debug/vars`)).json()) as {
    cmdline: string[];
    file_descriptor_limit: number;
    memstats: Record<string, number>;
    "raft.status": { raftState: string; lead: string; id: string; progress: object };
  };
  expect(Object.keys(vars)).toEqual([
    "cmdline",
    "file_descriptor_limit",
    "memstats",
    "raft.status",
  ]);
  expect(vars.cmdline).toContain("--initial-cluster");
  expect(vars.file_descriptor_limit).toBeGreaterThan(0);
  expect(vars.memstats.HeapAlloc).toBeGreaterThan(0);
  const raft = vars["raft.status"];
  expect(Object.keys(raft)).toEqual([
    "id",
    "term",
    "vote",
    "commit",
    "lead",
    "raftState",
    "applied",
    "progress",
    "leadtransferee",
  ]);
  expect([raft.raftState, raft.lead]).toEqual(["StateLeader", raft.id]);
  expect(Object.values(raft.progress).map((p) => (p as { state: string }).state)).toContain(
    "StateReplicate",
  );
});

test("snapshot saves are etcd_disk_backend_commit_duration_seconds and snap save observations", async () => {
  const member = await startMember({ extraArgs: ["--snapshot-count", "10"] });
  try {
    for (let i = 0; i < 40; i++) await put(member, `snap/k${i}`, "v");
    const deadline = Date.now() + 10_000;
    let saves = 0;
    while (saves === 0 && Date.now() < deadline) {
      saves = total(await scrape(member), "etcd_disk_backend_commit_duration_seconds_count");
      if (saves === 0) await Bun.sleep(100);
    }
    expect(saves).toBeGreaterThanOrEqual(1);
    const samples = await scrape(member);
    expect(total(samples, "etcd_debugging_snap_save_total_duration_seconds_count")).toBe(
      total(samples, "etcd_disk_backend_commit_duration_seconds_count"),
    );
  } finally {
    await member.stop();
  }
}, 30_000);
