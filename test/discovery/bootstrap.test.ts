/**
 * Bootstrapping with `--discovery`, real processes: three members through a self-hosted token
 * (on an etcd-bun member, on a real etcd 3.4, and real etcd members through a token on
 * etcd-bun), and through a discovery service (`etcd-bun discovery` with its embedded store, and
 * Debian's discovery.etcd.io on a real etcd), etcd-bun and real etcd members alike; a member on
 * a full token exits or becomes a proxy; a restarted member ignores the token.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEBIAN_DISCOVERY,
  type DiscoveryServiceProcess,
  type MemberProcess,
  realEtcdInstalled,
  spawnDiscoveryMember,
  startDiscoveryServiceProcess,
  startMember,
} from "../support/cluster-process.ts";

type Kind = "etcd-bun" | "etcd";
const MEMBER_KINDS: Kind[] = realEtcdInstalled ? ["etcd-bun", "etcd"] : ["etcd-bun"];
/** etcd-bun's own service, and Debian's where it and the real etcd are installed. */
const SERVICES: ("etcd-bun" | "debian")[] =
  realEtcdInstalled && existsSync(DEBIAN_DISCOVERY) ? ["etcd-bun", "debian"] : ["etcd-bun"];
const COMBOS: [Kind, Kind][] = realEtcdInstalled
  ? [
      ["etcd-bun", "etcd-bun"],
      ["etcd", "etcd-bun"],
      ["etcd-bun", "etcd"],
    ]
  : [["etcd-bun", "etcd-bun"]];

const started: MemberProcess[] = [];
afterAll(async () => {
  for (const m of started) await m.stop();
});

let tokens = 0;
async function selfHostedToken(host: MemberProcess, size: number): Promise<string> {
  const url = `${host.clientUrl}/v2/keys/discovery/tok${Date.now()}x${tokens++}`;
  const res = await fetch(`${url}/_config/size`, {
    method: "PUT",
    body: new URLSearchParams({ value: String(size) }),
  });
  expect(res.status).toBe(201);
  return url;
}

/** Starts `names` as members of one token and waits until each serves. */
async function bootstrap(kind: Kind, url: string, names: string[]): Promise<MemberProcess[]> {
  const spawned = await Promise.all(
    names.map((name) => spawnDiscoveryMember({ kind, name, discovery: url })),
  );
  for (const s of spawned) started.push(s.member);
  await Promise.all(spawned.map((s) => s.ready()));
  return spawned.map((s) => s.member);
}

interface MemberEntry {
  id: string;
  name: string;
  peerURLs: string[];
}

/** The members agree on one cluster of `names`, whose ids are the token's registrations. */
async function expectOneCluster(members: MemberProcess[], url: string, names: string[]) {
  const clusterIds = new Set<string | null>();
  let list: MemberEntry[] = [];
  for (const m of members) {
    const res = await fetch(`${m.clientUrl}/v2/members`);
    clusterIds.add(res.headers.get("x-etcd-cluster-id"));
    list = ((await res.json()) as { members: MemberEntry[] }).members;
    expect(list.map((e) => e.name).sort()).toEqual([...names].sort());
  }
  expect(clusterIds.size).toBe(1);
  const token = (await (await fetch(url)).json()) as { node: { nodes: { key: string }[] } };
  expect(token.node.nodes.map((n) => n.key.split("/").at(-1)).sort()).toEqual(
    list.map((e) => e.id).sort(),
  );
  const put = await fetch(`${members[0]?.clientUrl}/v2/keys/boot`, {
    method: "PUT",
    body: new URLSearchParams({ value: "ok" }),
  });
  expect(put.status).toBe(201);
}

describe.each(COMBOS)("a token on %s, members %s", (hostKind, memberKind) => {
  let host: MemberProcess;
  beforeAll(async () => {
    host = await startMember({ kind: hostKind });
    started.push(host);
  }, 30_000);

  test("three members bootstrap one cluster through it", async () => {
    const url = await selfHostedToken(host, 3);
    const names = ["d0", "d1", "d2"];
    const members = await bootstrap(memberKind, url, names);
    await expectOneCluster(members, url, names);
  }, 60_000);
});

describe("etcd-bun members and a full token", () => {
  let host: MemberProcess;
  let url: string;
  let members: MemberProcess[];
  beforeAll(async () => {
    host = await startMember();
    started.push(host);
    url = await selfHostedToken(host, 3);
    members = await bootstrap("etcd-bun", url, ["f0", "f1", "f2"]);
  }, 60_000);

  test("--discovery-fallback exit: exit 1 with etcd's lines, nothing registered", async () => {
    const late = await spawnDiscoveryMember({
      name: "f3",
      discovery: url,
      extraArgs: ["--discovery-fallback", "exit"],
    });
    started.push(late.member);
    expect(await late.member.proc.exited).toBe(1);
    expect(late.member.output()).toContain(
      [
        "etcd-bun: failed to join discovery cluster (discovery: cluster is full)",
        `etcd-bun: discovery token ${url} was used, but failed to bootstrap the cluster.`,
        "etcd-bun: please generate a new discovery token and try to bootstrap again.",
      ].join("\n"),
    );
    const token = (await (await fetch(url)).json()) as { node: { nodes: unknown[] } };
    expect(token.node.nodes).toHaveLength(3);
  }, 30_000);

  test("--discovery-fallback proxy (the default): a proxy in front of the token's cluster", async () => {
    const late = await spawnDiscoveryMember({ name: "f4", discovery: url });
    started.push(late.member);
    await late.ready();
    const put = await fetch(`${late.member.clientUrl}/v2/keys/via-fallback`, {
      method: "PUT",
      body: new URLSearchParams({ value: "1" }),
    });
    expect(put.status).toBe(201);
    const direct = await fetch(`${members[1]?.clientUrl}/v2/keys/via-fallback?quorum=true`);
    expect(((await direct.json()) as { node: { value: string } }).node.value).toBe("1");
    expect(late.member.output()).toContain("discovery cluster full, falling back to proxy");
    const file = JSON.parse(readFileSync(join(late.member.dataDir, "proxy", "cluster"), "utf8"));
    expect(file.PeerURLs).toEqual(members.map((m) => m.peerUrl).sort());
    expect(existsSync(join(late.member.dataDir, "member"))).toBe(false);
  }, 30_000);

  test("a restarted member ignores the token, with etcd's warning", async () => {
    const m = members[0] as MemberProcess;
    await m.restart();
    expect(m.output()).toContain(
      "discovery token ignored since a cluster has already been initialized. Valid log found at",
    );
    expect((await fetch(`${m.clientUrl}/v2/keys/via-fallback?quorum=true`)).status).toBe(200);
  }, 30_000);
});

describe.each(SERVICES)("a token from the %s discovery service", (kind) => {
  let service: DiscoveryServiceProcess;
  beforeAll(async () => {
    // Debian's keeps its tokens in a real etcd; ours in its embedded member.
    const store = kind === "debian" ? await startMember({ kind: "etcd" }) : undefined;
    if (store !== undefined) started.push(store);
    service = await startDiscoveryServiceProcess({
      kind,
      ...(store === undefined ? {} : { store: store.clientUrl }),
    });
  }, 30_000);
  afterAll(async () => {
    await service?.stop();
  });

  test.each(MEMBER_KINDS)(
    "three %s members bootstrap through /new?size=3",
    async (memberKind) => {
      const res = await fetch(`${service.url}/new?size=3`);
      expect(res.status).toBe(200);
      const url = await res.text();
      expect(url).toMatch(new RegExp(`^${service.url}/[0-9a-f]{32}$`));
      const names = ["s0", "s1", "s2"];
      const members = await bootstrap(memberKind, url, names);
      await expectOneCluster(members, url, names);
    },
    60_000,
  );
});
