import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MsgSnap } from "../../src/raft/types.ts";
import { heartbeat, startMember, type TestMember, waitFor } from "./harness.ts";

/** A private CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl. */
interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function run(cmd: string[], cwd: string): void {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString()}`);
}

function makePki(dir: string): Pki {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run(
    [
      "openssl",
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=test-ca",
    ],
    dir,
  );
  for (const name of ["server", "client"]) {
    run(
      [
        "openssl",
        "req",
        ...ec,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
        "-subj",
        `/CN=${name}`,
      ],
      dir,
    );
    writeFileSync(join(dir, `${name}.ext`), "subjectAltName=IP:127.0.0.1\n");
  }
  for (const name of ["server", "client"]) {
    run(
      ["openssl", "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key"].concat(
        ["-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`],
      ),
      dir,
    );
  }
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return {
    ca: read("ca.pem"),
    serverCert: read("server.pem"),
    serverKey: read("server.key"),
    clientCert: read("client.pem"),
    clientKey: read("client.key"),
  };
}

let dir = "";
let pki: Pki;
const running: TestMember[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "transport-tls-"));
  pki = makePki(dir);
});

afterAll(async () => {
  await Promise.all(running.splice(0).map((m) => m.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe("transport over TLS with client certificates", () => {
  test("stream and snapshot POST work over mTLS; a member without a client cert is refused", async () => {
    const serverTls = {
      cert: pki.serverCert,
      key: pki.serverKey,
      ca: pki.ca,
      requestCert: true,
      rejectUnauthorized: true,
    };
    const clientTls = { cert: pki.clientCert, key: pki.clientKey, ca: pki.ca };
    const a = startMember({ id: "a", serverTls, tls: clientTls });
    const b = startMember({ id: "b", serverTls, tls: clientTls });
    const rogue = startMember({ id: "c", tls: { ca: pki.ca } });
    running.push(a, b, rogue);
    expect(b.url.startsWith("https://")).toBe(true);
    a.transport.addPeer("b", [b.url]);
    b.transport.addPeer("a", [a.url]);
    b.transport.addPeer("c", [rogue.url]);
    const snap: MsgSnap = {
      type: "MsgSnap",
      from: "a",
      to: "b",
      term: 2,
      snapshot: {
        meta: { index: 9, term: 2, confState: { voters: ["a", "b"] } },
        data: new Uint8Array(1000).fill(3),
      },
    };
    a.transport.send([heartbeat("a", "b", 1), snap]);
    await waitFor(() => b.received.length === 2 && a.snapshots.length === 1, "tls delivery", 5000);
    expect(a.snapshots[0]).toEqual({ peerId: "b", ok: true });
    expect(b.received.find((m) => m.type === "MsgSnap")).toEqual(snap);

    rogue.transport.addPeer("b", [b.url]);
    rogue.transport.send([heartbeat("c", "b", 1)]);
    await waitFor(() => rogue.unreachable.length > 0, "certless dial refused", 5000);
    expect(b.received.filter((m) => m.from === "c")).toHaveLength(0);
  });
});
