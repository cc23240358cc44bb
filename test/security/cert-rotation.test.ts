/**
 * Certificate rotation without a restart: when the certificate and key files change, new
 * connections get the new certificate while open ones (a waiting watch) go on; files that do
 * not fit together leave the current certificate in place. The same steps against etcd 3.4,
 * which reads the files at every handshake.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestCerts, servedCertificate, type TestCerts } from "../support/certs.ts";
import { type MemberProcess, SERVER_KINDS, startMember } from "../support/cluster-process.ts";

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs?.remove());

/** The served certificate's subject line (openssl), e.g. "subject=CN = server". */
function servedSubject(url: string): string {
  return servedCertificate(url, ["-subject"]);
}

/** Replaces a file the way a careful operator does: write aside, rename over. */
function replace(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

async function eventually(what: () => string, expected: string, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  let last = what();
  while (last !== expected && Date.now() < deadline) {
    await Bun.sleep(100);
    last = what();
  }
  return last;
}

describe.each(SERVER_KINDS)("a %s member whose certificate files change", (kind) => {
  let member: MemberProcess;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "etcd-bun-rotation-"));
    writeFileSync(join(dir, "cert.pem"), certs.server.cert);
    writeFileSync(join(dir, "key.pem"), certs.server.key);
    const flags = ["--cert-file", join(dir, "cert.pem"), "--key-file", join(dir, "key.pem")];
    member = await startMember({ kind, https: { ca: certs.ca }, extraArgs: flags });
  }, 30_000);
  afterAll(async () => {
    await member?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("new connections get the new certificate; a waiting watch goes on", async () => {
    expect(servedSubject(member.clientUrl)).toBe("subject=CN = server");
    const watch = fetch(`${member.clientUrl}/v2/keys/rotated?wait=true`, {
      tls: { ca: certs.ca },
    }).then((r) => r.json() as Promise<{ node: { value: string } }>);
    await Bun.sleep(300);
    replace(join(dir, "key.pem"), certs.server2.key);
    replace(join(dir, "cert.pem"), certs.server2.cert);
    expect(await eventually(() => servedSubject(member.clientUrl), "subject=CN = server2")).toBe(
      "subject=CN = server2",
    );
    const put = await fetch(`${member.clientUrl}/v2/keys/rotated`, {
      method: "PUT",
      body: new URLSearchParams({ value: "after" }),
      tls: { ca: certs.ca },
    });
    expect(put.status).toBe(201);
    expect((await watch).node.value).toBe("after");
  }, 30_000);

  test("a certificate that does not match its key is not taken", async () => {
    replace(join(dir, "cert.pem"), certs.server.cert);
    await Bun.sleep(2500);
    // etcd fails such handshakes; etcd-bun keeps serving the last good pair.
    const subject = (() => {
      try {
        return servedSubject(member.clientUrl);
      } catch {
        return "handshake failed";
      }
    })();
    expect(["subject=CN = server2", "handshake failed"]).toContain(subject);
    if (kind === "etcd-bun") {
      expect(subject).toBe("subject=CN = server2");
      expect(member.output()).toContain("changed but cannot be used");
    }
  }, 30_000);
});
