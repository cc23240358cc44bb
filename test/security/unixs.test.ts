/**
 * `unixs://` listen URLs: TLS over a unix socket, with the same certificate rules as https://.
 * A member's listeners are bound directly (a unix socket has no port for the process helpers).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bindListeners, type MemberListeners } from "../../src/member/listeners.ts";
import { makeTestCerts, type TestCerts } from "../support/certs.ts";
import { has } from "../support/namespaces.ts";

let certs: TestCerts;
let dir: string;
let listeners: MemberListeners;
beforeAll(async () => {
  certs = makeTestCerts();
  dir = mkdtempSync(join(tmpdir(), "etcd-bun-unixs-"));
  listeners = await bindListeners({
    listenClientUrls: [`unixs://${join(dir, "client.sock")}`],
    listenPeerUrls: [],
    clientIdleTimeoutS: 10,
    log: () => {},
    clientTls: {
      certFile: certs.server.certFile,
      keyFile: certs.server.keyFile,
      trustedCaFile: certs.caFile,
      clientCertAuth: true,
    },
  });
  listeners.serveClients(() => new Response("over unixs\n"));
});
afterAll(async () => {
  await listeners?.stop(true);
  rmSync(dir, { recursive: true, force: true });
  certs?.remove();
});

/** Asynchronous: the listener answers from this process. */
async function curl(args: readonly string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn([
    "curl",
    "-s",
    "-m",
    "5",
    "--unix-socket",
    join(dir, "client.sock"),
    ...args,
  ]);
  const out = await new Response(proc.stdout).text();
  return { code: await proc.exited, out };
}

test.if(has("curl"))(
  "TLS with a trusted client certificate is served; plain or without one, not",
  async () => {
    const trusted = [
      "--cacert",
      certs.caFile,
      "--cert",
      certs.client.certFile,
      "--key",
      certs.client.keyFile,
    ];
    expect(await curl([...trusted, "https://localhost/v2/keys"])).toEqual({
      code: 0,
      out: "over unixs\n",
    });
    expect((await curl(["--cacert", certs.caFile, "https://localhost/v2/keys"])).out).toBe("");
    expect((await curl(["http://localhost/v2/keys"])).out).toBe("");
  },
);
