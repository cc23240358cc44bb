/**
 * `--auto-tls` and `--peer-auto-tls`: a self-signed certificate under
 * `<data-dir>/fixtures/{client,peer}`, made once and reused; members with peer auto TLS form a
 * cluster over TLS without a CA. The same checks against etcd 3.4 where they apply to both.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { servedCertificate as served } from "../support/certs.ts";
import {
  type ClusterProcess,
  type MemberProcess,
  SERVER_KINDS,
  startCluster,
  startMember,
} from "../support/cluster-process.ts";

const INSECURE = { rejectUnauthorized: false };

const started: (MemberProcess | ClusterProcess)[] = [];
afterAll(async () => {
  for (const m of started) await m.stop();
});

/** The certificate a TLS listener shows, as openssl prints its text. */
function servedCertificate(url: string): string {
  return served(url, ["-text", "-fingerprint", "-sha256"]);
}

describe.each(SERVER_KINDS)("a %s member with --auto-tls", (kind) => {
  test("serves https with a self-signed certificate kept under fixtures/client", async () => {
    const member = await startMember({ kind, https: INSECURE, extraArgs: ["--auto-tls"] });
    started.push(member);
    const res = await fetch(`${member.clientUrl}/v2/keys/`, { tls: INSECURE });
    expect(res.status).toBe(200);
    // A client that verifies the certificate refuses it: no CA signed it.
    const verified = await fetch(`${member.clientUrl}/v2/keys/`).then(
      () => "served",
      () => "refused",
    );
    expect(verified).toBe("refused");
    const dir = join(member.dataDir, "fixtures", "client");
    expect(existsSync(join(dir, "cert.pem")) && existsSync(join(dir, "key.pem"))).toBe(true);
    const text = servedCertificate(member.clientUrl);
    expect(text).toContain("O = etcd");
    expect(text).toContain("IP Address:127.0.0.1");
    expect(text).toContain("id-ecPublicKey");
    expect(text).toContain("TLS Web Server Authentication");
  }, 30_000);
});

describe("etcd-bun: auto TLS across restarts and peers", () => {
  test("a restart reuses the certificate it made", async () => {
    const member = await startMember({ https: INSECURE, extraArgs: ["--auto-tls"] });
    started.push(member);
    const certFile = join(member.dataDir, "fixtures", "client", "cert.pem");
    const before = readFileSync(certFile, "utf8");
    const servedBefore = servedCertificate(member.clientUrl);
    await member.restart();
    expect(readFileSync(certFile, "utf8")).toBe(before);
    expect(servedCertificate(member.clientUrl)).toBe(servedBefore);
  }, 30_000);

  test("three members with --peer-auto-tls elect a leader and replicate over TLS", async () => {
    const cluster = await startCluster({
      size: 3,
      httpsPeers: true,
      extraArgs: ["--peer-auto-tls"],
    });
    started.push(cluster);
    const [a, b] = cluster.members as [MemberProcess, MemberProcess];
    const put = await fetch(`${a.clientUrl}/v2/keys/auto`, {
      method: "PUT",
      body: new URLSearchParams({ value: "over-tls" }),
    });
    expect(put.status).toBe(201);
    const read = await fetch(`${b.clientUrl}/v2/keys/auto?quorum=true`);
    expect(((await read.json()) as { node: { value: string } }).node.value).toBe("over-tls");
    expect(existsSync(join(a.dataDir, "fixtures", "peer", "cert.pem"))).toBe(true);
    expect(servedCertificate(a.peerUrl)).toContain("O = etcd");
  }, 60_000);

  test("certificate files given win over --auto-tls, with etcd's warning", async () => {
    const member = await startMember({
      https: INSECURE,
      extraArgs: ["--auto-tls", "--cert-file", "/nonexistent.pem", "--key-file", "/k.pem"],
    }).then(
      () => "started",
      (e: unknown) => String(e),
    );
    expect(member).toContain("ignoring client auto TLS since certs given");
    expect(member).toContain("open /nonexistent.pem: no such file or directory");
  }, 30_000);
});
