/**
 * Runtime reconfiguration with real processes and etcdctl: grow a cluster 1 → 3 with
 * `member add` + `--initial-cluster-state existing`, remove members (the removed one exits),
 * the members API's error answers, operator mistakes when joining, and disaster recovery with
 * `--force-new-cluster`.
 */
import { afterEach, expect, test } from "bun:test";
import {
  type ClusterProcess,
  freePort,
  type MemberProcess,
  startCluster,
  startMember,
} from "../support/cluster-process.ts";
import { addAndStartMember, postMember, whileUnhealthy } from "../support/membership.ts";

const FAST = ["--heartbeat-interval", "50", "--election-timeout", "500"];
let started: MemberProcess[] = [];
let cluster: ClusterProcess | undefined;
afterEach(async () => {
  await Promise.all(started.map((m) => m.stop()));
  await cluster?.stop();
  started = [];
  cluster = undefined;
});

function etcdctl(endpoint: string, args: string[]) {
  const r = Bun.spawnSync(["etcdctl", "--endpoints", endpoint, ...args], {
    env: { ...process.env, ETCDCTL_API: "2" },
  });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

/**
 * etcdctl, run again while the change is refused because a member has been connected for less
 * than 5 s (500 "unhealthy cluster", which etcdctl reports as "has no leader"), as with the
 * real etcd. Bounded: about 12 s.
 */
async function etcdctlWhileRefused(endpoint: string, args: string[]) {
  let r = etcdctl(endpoint, args);
  for (let i = 0; i < 60 && r.code !== 0 && r.out.includes("has no leader"); i++) {
    await Bun.sleep(200);
    r = etcdctl(endpoint, args);
  }
  return r;
}

async function put(m: MemberProcess, key: string, value: string) {
  const res = await fetch(`${m.clientUrl}/v2/keys${key}`, {
    method: "PUT",
    body: new URLSearchParams({ value }),
    signal: AbortSignal.timeout(15_000),
  });
  await res.arrayBuffer();
  return res.status;
}

async function read(m: MemberProcess, key: string) {
  const res = await fetch(`${m.clientUrl}/v2/keys${key}?quorum=true`);
  return ((await res.json()) as { node?: { value?: string } }).node?.value;
}

/** `member add` through etcdctl, then start the new member with the lines it printed. */
async function addAndStart(seed: MemberProcess, name: string): Promise<MemberProcess> {
  const peerUrl = `http://127.0.0.1:${await freePort()}`;
  const added = await etcdctlWhileRefused(seed.clientUrl, ["member", "add", name, peerUrl]);
  expect(added.out).toContain("Added member");
  expect(added.code).toBe(0);
  expect(added.out).toContain(`Added member named ${name} with ID`);
  const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(added.out)?.[1];
  expect(added.out).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"');
  if (initialCluster === undefined) throw new Error(added.out);
  const member = await startMember({
    name,
    peerUrl,
    initialCluster,
    initialClusterState: "existing",
    extraArgs: FAST,
  });
  started.push(member);
  return member;
}

test.skipIf(Bun.which("etcdctl") === null)(
  "grow 1 → 3 with member add, then remove one (it exits)",
  async () => {
    const first = await startMember({ name: "infra0", extraArgs: FAST });
    started.push(first);
    expect(await put(first, "/grow/before", "1")).toBe(201);
    const second = await addAndStart(first, "infra1");
    const third = await addAndStart(first, "infra2");
    expect(await put(third, "/grow/after", "2")).toBe(201);
    for (const m of [first, second, third]) {
      expect(await read(m, "/grow/before")).toBe("1");
      expect(await read(m, "/grow/after")).toBe("2");
    }
    const list = etcdctl(first.clientUrl, ["member", "list"]);
    expect(list.out.trim().split("\n")).toHaveLength(3);
    expect(list.out).not.toContain("unstarted");
    // Remove the third: it learns it was removed and exits.
    const id = /^([0-9a-f]+): name=infra2/m.exec(list.out)?.[1] ?? "";
    const removed = await etcdctlWhileRefused(first.clientUrl, ["member", "remove", id]);
    expect(removed.out).toContain(`Removed member ${id} from cluster`);
    expect(await Promise.race([third.proc.exited, Bun.sleep(10_000).then(() => "running")])).toBe(
      0,
    );
    expect(third.output()).toContain("this member has been permanently removed from the cluster");
    expect(await put(first, "/grow/two", "3")).toBe(201);
    // A removed id stays removed.
    const again = await fetch(`${first.clientUrl}/v2/members/${id}`, { method: "DELETE" });
    expect(again.status).toBe(410);
    expect(await again.json()).toEqual({ message: `Member permanently removed: ${id}` });
  },
  120_000,
);

test("the members API refuses bad requests with etcd's status codes", async () => {
  const m = await startMember({ extraArgs: FAST });
  started.push(m);
  const post = (body: string, type = "application/json") =>
    fetch(`${m.clientUrl}/v2/members`, { method: "POST", body, headers: { "content-type": type } });
  const form = await post(
    '{"peerURLs":["http://127.0.0.1:1"]}',
    "application/x-www-form-urlencoded",
  );
  expect(form.status).toBe(415);
  expect(await form.json()).toEqual({
    message: "Bad Content-Type application/x-www-form-urlencoded, accept application/json",
  });
  const scheme = await post('{"peerURLs":["ftp://x:1"]}');
  expect(scheme.status).toBe(400);
  expect(await scheme.json()).toEqual({
    message: "URL scheme must be http, https, unix, or unixs: ftp://x:1",
  });
  expect((await post("{bad")).status).toBe(400);
  const dup = await post(JSON.stringify({ peerURLs: [m.peerUrl] }));
  expect(dup.status).toBe(409);
  expect(await dup.json()).toEqual({ message: "membership: peerURL exists" });
  const unknown = await fetch(`${m.clientUrl}/v2/members/abc`, { method: "DELETE" });
  expect(unknown.status).toBe(404);
  expect(await unknown.json()).toEqual({ message: "No such member: abc" });
});

test("strict reconfig check: a 2-member cluster with one member down refuses another add", async () => {
  const first = await startMember({ name: "infra0", extraArgs: FAST });
  started.push(first);
  const added = await postMember(first, [`http://127.0.0.1:${await freePort()}`]);
  expect(added.status).toBe(201); // 1 started of 2 is allowed, as in etcd
  const member = (await added.json()) as { id: string; name: string; clientURLs: string[] };
  expect(member).toMatchObject({ name: "", clientURLs: [] });
  // Now 1 of 2 members is started: a third would need 2 started for its quorum.
  const refused = await postMember(first, [`http://127.0.0.1:${await freePort()}`]);
  expect(refused.status).toBe(500);
  expect(await refused.json()).toEqual({
    message: "etcdserver: re-configuration failed due to not enough started members",
  });
}, 60_000);

test("joining mistakes get a clear error and do not touch the cluster", async () => {
  const first = await startMember({ name: "infra0", extraArgs: FAST });
  started.push(first);
  // Not added with member add: no member has these peer URLs.
  const error = await startMember({
    name: "stray",
    initialCluster: `infra0=${first.peerUrl},stray=http://127.0.0.1:1`,
    initialClusterState: "existing",
  }).then(
    () => undefined,
    (e: unknown) => String(e),
  );
  expect(error).toContain("cannot start member: no member of cluster");
  expect(error).toContain("add this member first");
  const members = (await (await fetch(`${first.clientUrl}/v2/members`)).json()) as {
    members: unknown[];
  };
  expect(members.members).toHaveLength(1);
  // Added, but started with an initial cluster that does not match the cluster's members.
  const peerUrl = `http://127.0.0.1:${await freePort()}`;
  const added = await postMember(first, [peerUrl]);
  expect(added.status).toBe(201);
  const countError = await startMember({
    name: "infra1",
    peerUrl,
    initialCluster: `infra0=${first.peerUrl},infra1=${peerUrl},extra=http://127.0.0.1:1`,
    initialClusterState: "existing",
  }).then(
    () => undefined,
    (e: unknown) => String(e),
  );
  expect(countError).toContain("cannot start member: member count is unequal");
  // Joining with an --initial-cluster that names only itself: nothing to ask.
  const alone = await startMember({ name: "lonely", initialClusterState: "existing" }).then(
    () => undefined,
    (e: unknown) => String(e),
  );
  expect(alone).toContain(
    "cannot start member: could not retrieve cluster information from the given URLs: --initial-cluster names no member but this one",
  );
});

test("--force-new-cluster rebuilds a one-member cluster from a survivor's data dir", async () => {
  cluster = await startCluster({ size: 3, extraArgs: FAST });
  const leader = await cluster.leader();
  for (let i = 0; i < 30; i++) expect(await put(leader, `/dr/k${i}`, String(i))).toBe(201);
  // Rebuild from the most up-to-date data dir (the leader's), as etcd's recovery guide says:
  // a follower may not have received the last committed writes yet.
  const survivor = leader;
  await Promise.all(cluster.members.map((m) => m.kill("SIGKILL")));
  const rebuilt = await startMember({
    name: survivor.name,
    dataDir: survivor.dataDir,
    peerUrl: survivor.peerUrl, // the address its member record still holds
    extraArgs: ["--force-new-cluster", ...FAST],
  });
  started.push(rebuilt);
  for (let i = 0; i < 30; i++) expect(await read(rebuilt, `/dr/k${i}`)).toBe(String(i));
  expect(await put(rebuilt, "/dr/new", "x")).toBe(201);
  const members = (await (await fetch(`${rebuilt.clientUrl}/v2/members`)).json()) as {
    members: { name: string }[];
  };
  expect(members.members.map((m) => m.name)).toEqual([survivor.name]);
  // Members are then added back one by one.
  const readded = await addAndStartMember(rebuilt, "infra-readded", FAST);
  started.push(readded);
  expect(await read(readded, "/dr/k29")).toBe("29");
  expect(await put(readded, "/dr/after-readd", "y")).toBe(201);
}, 120_000);

test.skipIf(Bun.which("etcdctl") === null)(
  "migrate a member: copy its data dir, member update, start it at new ports",
  async () => {
    cluster = await startCluster({ size: 3, extraArgs: FAST });
    const leader = await cluster.leader();
    expect(await put(leader, "/mig/before", "1")).toBe(201);
    const moving = cluster.members.find((m) => m !== leader);
    if (moving === undefined) throw new Error("no follower");
    const list = etcdctl(leader.clientUrl, ["member", "list"]);
    const id = new RegExp(`^([0-9a-f]+): name=${moving.name} `, "m").exec(list.out)?.[1] ?? "";
    await moving.kill("SIGKILL");
    const newDir = `${moving.dataDir}-moved`;
    Bun.spawnSync(["cp", "-a", moving.dataDir, newDir]);
    const newPeer = `http://127.0.0.1:${await freePort()}`;
    const updated = etcdctl(leader.clientUrl, ["member", "update", id, newPeer]);
    expect(updated.out).toContain(`Updated member with ID ${id} in cluster`);
    expect(await put(leader, "/mig/during", "2")).toBe(201);
    const moved = await startMember({
      name: moving.name,
      dataDir: newDir,
      peerUrl: newPeer,
      extraArgs: FAST,
    });
    started.push(moved);
    const deadline = Date.now() + 15_000;
    while (
      (await read(moved, "/mig/during").catch(() => undefined)) !== "2" &&
      Date.now() < deadline
    ) {
      await Bun.sleep(100);
    }
    expect(await read(moved, "/mig/before")).toBe("1");
    expect(await read(moved, "/mig/during")).toBe("2");
    const after = etcdctl(leader.clientUrl, ["member", "list"]);
    expect(after.out).toContain(`${id}: name=${moving.name} peerURLs=${newPeer}`);
  },
  120_000,
);

test("removing the leader hands leadership over first; writes go on", async () => {
  cluster = await startCluster({ size: 3, extraArgs: FAST });
  const leader = await cluster.leader();
  const members = (await (await fetch(`${leader.clientUrl}/v2/members/leader`)).json()) as {
    id: string;
  };
  const res = await whileUnhealthy(() =>
    fetch(`${leader.clientUrl}/v2/members/${members.id}`, { method: "DELETE" }),
  );
  expect(`${res.status} ${await res.text()}`).toBe("204 ");
  expect(await Promise.race([leader.proc.exited, Bun.sleep(10_000).then(() => "running")])).toBe(0);
  expect(leader.output()).toContain("transferred leadership to");
  const next = await cluster.leader();
  expect(next).not.toBe(leader);
  expect(await put(next, "/after-leader-removal", "1")).toBe(201);
  const list = (await (await fetch(`${next.clientUrl}/v2/members`)).json()) as {
    members: unknown[];
  };
  expect(list.members).toHaveLength(2);
}, 120_000);

test("a member added but started with --initial-cluster-state new is refused clearly", async () => {
  const first = await startMember({ name: "infra0", extraArgs: FAST });
  started.push(first);
  const peerUrl = `http://127.0.0.1:${await freePort()}`;
  const added = await postMember(first, [peerUrl]);
  expect(added.status).toBe(201);
  const error = await startMember({
    name: "infra1",
    peerUrl,
    initialCluster: `infra0=${first.peerUrl},infra1=${peerUrl}`,
    initialClusterState: "new",
    extraArgs: FAST,
  }).then(
    () => undefined,
    (e: unknown) => String(e),
  );
  expect(error).toContain("start it with --initial-cluster-state existing");
}, 60_000);
