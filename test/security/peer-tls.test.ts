/**
 * TLS between members, with real processes: a 3-member cluster on https peer URLs with
 * `--peer-client-cert-auth`, etcd-bun and etcd 3.4 alike: it forms and replicates; the peer port
 * answers only clients with a certificate from the trusted CA; a member with another CA's
 * certificate cannot join.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeTestCerts, type TestCerts } from "../support/certs.ts";
import {
  type ClusterProcess,
  type FetchTls,
  freePort,
  type MemberProcess,
  SERVER_KINDS,
  startCluster,
  startMember,
} from "../support/cluster-process.ts";
import { addAndStartMember, removeMemberAndWait } from "../support/membership.ts";

const TRIES = 5;

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs?.remove());

const peerFlags = (pair: { certFile: string; keyFile: string }, caFile: string) => [
  "--peer-cert-file",
  pair.certFile,
  "--peer-key-file",
  pair.keyFile,
  "--peer-trusted-ca-file",
  caFile,
  "--peer-client-cert-auth",
];

async function outcome(url: string, tls: FetchTls): Promise<number | string> {
  try {
    const res = await fetch(url, { tls, signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return "refused";
  }
}

describe.each(SERVER_KINDS)("a 3-member %s cluster with peer TLS", (kind) => {
  let cluster: ClusterProcess;
  beforeAll(async () => {
    cluster = await startCluster({
      size: 3,
      kind,
      httpsPeers: true,
      extraArgs: [...peerFlags(certs.server, certs.caFile), "--peer-crl-file", certs.crlFile],
    });
  }, 60_000);
  const extra: MemberProcess[] = [];
  afterAll(async () => {
    for (const m of extra) await m.stop();
    await cluster?.stop();
  });

  test("it elects a leader and replicates writes over TLS", async () => {
    const [a, b] = cluster.members;
    expect(a?.peerUrl.startsWith("https://")).toBe(true);
    const put = await fetch(`${a?.clientUrl}/v2/keys/over-tls`, {
      method: "PUT",
      body: new URLSearchParams({ value: "1" }),
    });
    expect(put.status).toBe(201);
    const read = await fetch(`${b?.clientUrl}/v2/keys/over-tls?quorum=true`);
    expect(((await read.json()) as { node: { value: string } }).node.value).toBe("1");
  });

  test("the peer port serves only an unrevoked certificate from the trusted CA", async () => {
    const peer = cluster.members[0]?.peerUrl ?? "";
    // A member's own certificate (etcd 3.4 also checks its SAN names the connecting address).
    const trusted = { ca: certs.ca, cert: certs.server.cert, key: certs.server.key };
    expect(await outcome(`${peer}/members`, trusted)).toBe(200);
    const rogue = { ca: certs.ca, cert: certs.rogue.cert, key: certs.rogue.key };
    const revoked = { ca: certs.ca, cert: certs.revoked.cert, key: certs.revoked.key };
    for (let i = 0; i < TRIES; i++) {
      expect(await outcome(`${peer}/members`, revoked)).toBe("refused");
      expect(await outcome(`${peer}/raft/stream`, revoked)).toBe("refused");
      expect(await outcome(`${peer}/members`, { ca: certs.ca })).toBe("refused");
      expect(await outcome(`${peer}/members`, rogue)).toBe("refused");
      expect(await outcome(`${peer}/raft/stream`, rogue)).toBe("refused");
    }
  });

  test("a member added with a trusted certificate joins over TLS and catches up", async () => {
    const seed = cluster.members[0] as MemberProcess;
    const added = await addAndStartMember(
      seed,
      "infra3",
      peerFlags(certs.server, certs.caFile),
      kind,
      "https",
    );
    extra.push(added);
    const read = await fetch(`${added.clientUrl}/v2/keys/over-tls`);
    expect(read.status).toBe(200);
    await removeMemberAndWait(seed, added);
  }, 60_000);

  test("a member with another CA's certificate cannot join", async () => {
    const peerUrl = `https://127.0.0.1:${await freePort()}`;
    const initialCluster = [
      ...cluster.members.map((m) => `${m.name}=${m.peerUrl}`),
      `rogue=${peerUrl}`,
    ].join(",");
    const error = await startMember({
      kind,
      name: "rogue",
      peerUrl,
      initialCluster,
      initialClusterState: "existing",
      extraArgs: peerFlags(certs.rogue, certs.caFile),
    }).then(
      () => "joined",
      (e: unknown) => String(e),
    );
    expect(error).not.toBe("joined");
    const members = await fetch(`${cluster.members[0]?.clientUrl}/v2/members`);
    expect(((await members.json()) as { members: unknown[] }).members).toHaveLength(3);
  }, 60_000);
});

const RULES = SERVER_KINDS.flatMap((kind) => [
  [kind, "--peer-cert-allowed-cn", "server"] as const,
  [kind, "--peer-cert-allowed-hostname", "127.0.0.1"] as const,
]);

describe.each(RULES)("a 3-member %s cluster with %s %s", (kind, flag, value) => {
  let cluster: ClusterProcess;
  beforeAll(async () => {
    cluster = await startCluster({
      size: 3,
      kind,
      httpsPeers: true,
      extraArgs: [...peerFlags(certs.server, certs.caFile), flag, value],
    });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test("members whose certificates pass the rule form the cluster and replicate", async () => {
    const [a, b] = cluster.members as [MemberProcess, MemberProcess];
    const put = await fetch(`${a.clientUrl}/v2/keys/ruled`, {
      method: "PUT",
      body: new URLSearchParams({ value: "1" }),
    });
    expect(put.status).toBe(201);
    const read = await fetch(`${b.clientUrl}/v2/keys/ruled?quorum=true`);
    expect(read.status).toBe(200);
  });

  test("a certificate from the trusted CA that fails the rule is refused, every time", async () => {
    const peer = cluster.members[0]?.peerUrl ?? "";
    const other = { ca: certs.ca, cert: certs.client.cert, key: certs.client.key };
    const passing = { ca: certs.ca, cert: certs.server.cert, key: certs.server.key };
    for (let i = 0; i < TRIES; i++) {
      expect(await outcome(`${peer}/members`, other)).toBe("refused");
      expect(await outcome(`${peer}/raft/stream`, other)).toBe("refused");
    }
    expect(await outcome(`${peer}/members`, passing)).toBe(200);
  });
});
