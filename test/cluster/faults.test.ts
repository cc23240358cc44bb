/**
 * Faults on real clusters: a member cut off from its peers (through TCP relays in front of the
 * peer ports) cannot write and serves no stale quorum read, while the majority goes on; after
 * healing it converges. A SIGSTOPped leader is replaced and rejoins on SIGCONT. A 5-member
 * cluster survives the loss of two members.
 */
import { afterEach, expect, test } from "bun:test";
import {
  type ClusterProcess,
  type MemberProcess,
  startCluster,
} from "../support/cluster-process.ts";

let cluster: ClusterProcess | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const FAST = ["--heartbeat-interval", "50", "--election-timeout", "500"];

async function put(m: MemberProcess, key: string, value: string, timeoutMs = 15_000) {
  const res = await fetch(`${m.clientUrl}/v2/keys${key}`, {
    method: "PUT",
    body: new URLSearchParams({ value }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { errorCode?: number; index?: number };
  return { status: res.status, body, etcdIndex: res.headers.get("x-etcd-index") };
}

async function read(m: MemberProcess, key: string, quorum = false) {
  const res = await fetch(`${m.clientUrl}/v2/keys${key}${quorum ? "?quorum=true" : ""}`, {
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await res.json()) as { node?: { value?: string }; errorCode?: number };
  return { status: res.status, value: body.node?.value, errorCode: body.errorCode };
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await Bun.sleep(50);
  }
  return check();
}

test("an isolated member cannot write or read stale at quorum; it converges after healing", async () => {
  cluster = await startCluster({ size: 3, relays: true, extraArgs: FAST });
  const leader = await cluster.leader();
  const index = cluster.members.findIndex((m) => m !== leader);
  const isolated = cluster.members[index];
  if (isolated === undefined) throw new Error("no follower");
  expect((await put(leader, "/p", "old")).status).toBe(201);
  expect(await until(async () => (await read(isolated, "/p")).value === "old", 5000)).toBe(true);
  await cluster.isolate(index);
  expect((await put(leader, "/p", "new")).status).toBe(200); // the majority keeps going
  const write = await put(isolated, "/q", "x", 30_000);
  expect(write.status).toBe(500);
  expect(write.body.errorCode).toBe(300);
  // etcd answers errors that are not the store's with index 0, in the body and the header.
  expect([write.body.index, write.etcdIndex]).toEqual([0, "0"]);
  const quorumRead = await read(isolated, "/p", true);
  expect(quorumRead.status).toBe(500); // never the stale "old"
  expect(quorumRead.errorCode).toBe(300);
  const metrics = await (await fetch(`${isolated.clientUrl}/metrics`)).text();
  expect(metrics).toMatch(/^etcd_server_read_indexes_failed_total [1-9]/m);
  expect((await read(isolated, "/p")).value).toBe("old"); // a local read may be stale, as etcd's
  cluster.heal();
  expect(await until(async () => (await read(isolated, "/p")).value === "new", 15_000)).toBe(true);
  expect((await read(isolated, "/p", true)).value).toBe("new");
}, 120_000);

test("a SIGSTOPped leader is replaced; after SIGCONT it follows the new leader", async () => {
  cluster = await startCluster({ size: 3, extraArgs: FAST });
  const old = await cluster.leader();
  old.proc.kill("SIGSTOP");
  try {
    const next = await until(async () => {
      const l = await cluster?.leader(2000).catch(() => undefined);
      return l !== undefined && l !== old;
    }, 15_000);
    expect(next).toBe(true);
    const leader = await cluster.leader();
    expect((await put(leader, "/while-stopped", "1")).status).toBe(201);
  } finally {
    old.proc.kill("SIGCONT");
  }
  expect(await until(async () => (await read(old, "/while-stopped")).value === "1", 15_000)).toBe(
    true,
  );
  const self = (await (await fetch(`${old.clientUrl}/v2/stats/self`)).json()) as { state: string };
  expect(self.state).toBe("StateFollower");
}, 120_000);

test("a 5-member cluster keeps writing with two members down", async () => {
  cluster = await startCluster({ size: 5, extraArgs: FAST });
  const leader = await cluster.leader();
  const others = cluster.members.filter((m) => m !== leader);
  await Promise.all(others.slice(0, 2).map((m) => m.kill("SIGKILL")));
  for (let i = 0; i < 20; i++) expect((await put(leader, `/five${i}`, String(i))).status).toBe(201);
  const survivor = others[3];
  if (survivor === undefined) throw new Error("no survivor");
  expect((await read(survivor, "/five19", true)).value).toBe("19");
}, 120_000);
