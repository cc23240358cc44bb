import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientTls } from "../../src/net/tls.ts";

const dir = mkdtempSync(join(tmpdir(), "etcd-bun-tls-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a dialler's certificate follows its files; an unreadable file keeps the last good one", async () => {
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  writeFileSync(certFile, "CERT-A");
  writeFileSync(keyFile, "KEY-A");
  const tls = clientTls({ certFile, keyFile, trustedCaFile: "", clientCertAuth: false });
  expect([tls.cert, tls.key, "ca" in tls]).toEqual(["CERT-A", "KEY-A", false]);
  writeFileSync(`${certFile}.new`, "CERT-B");
  renameSync(`${certFile}.new`, certFile);
  utimesSync(certFile, new Date(), new Date(Date.now() + 5000));
  // Looked at again at most once a second (a proxy dials per request).
  await Bun.sleep(1100);
  expect(tls.cert).toBe("CERT-B");
  rmSync(certFile);
  await Bun.sleep(1100);
  expect(tls.cert).toBe("CERT-B");
});
