/**
 * TLS on the client port, with real processes and openssl-made certificates: the same cases
 * against an etcd-bun member and an etcd 3.4 member (`--cert-file`, `--key-file`,
 * `--trusted-ca-file`, `--client-cert-auth`), then a TLS proxy in front of the etcd-bun one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeTestCerts, serverTlsFlags, type TestCerts } from "../support/certs.ts";
import {
  type FetchTls,
  type MemberProcess,
  SERVER_KINDS,
  startMember,
  startProxyProcess,
} from "../support/cluster-process.ts";
import { has } from "../support/namespaces.ts";

const TRIES = 10;

let certs: TestCerts;
const started: MemberProcess[] = [];
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(async () => {
  for (const m of started) await m.stop();
  certs?.remove();
});

const serverFlags = (clientCertAuth: boolean) => serverTlsFlags(certs, clientCertAuth);

const trusted = (): FetchTls => ({ ca: certs.ca, cert: certs.client.cert, key: certs.client.key });

/** How a request with `tls` ends: its status, or "refused" when no response came. */
async function outcome(
  url: string,
  tls: FetchTls,
  init: RequestInit = {},
): Promise<number | string> {
  try {
    const res = await fetch(url, { ...init, tls, signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status;
  } catch (error) {
    if (error instanceof Error && error.name === "TimeoutError") return "timed out";
    return "refused";
  }
}

describe.each(SERVER_KINDS)("a %s member with --client-cert-auth", (kind) => {
  let member: MemberProcess;
  beforeAll(async () => {
    member = await startMember({ kind, https: trusted(), extraArgs: serverFlags(true) });
    started.push(member);
  }, 30_000);

  test("a client with a certificate from the trusted CA writes and reads", async () => {
    const put = await outcome(`${member.clientUrl}/v2/keys/tls`, trusted(), {
      method: "PUT",
      body: new URLSearchParams({ value: "1" }),
    });
    expect(put).toBe(201);
    expect(await outcome(`${member.clientUrl}/v2/keys/tls`, trusted())).toBe(200);
  });

  test("no certificate, or one from another CA: refused at the handshake, every time", async () => {
    const rogue = { ca: certs.ca, cert: certs.rogue.cert, key: certs.rogue.key };
    for (let i = 0; i < TRIES; i++) {
      expect(await outcome(`${member.clientUrl}/v2/keys/tls`, { ca: certs.ca })).toBe("refused");
      expect(await outcome(`${member.clientUrl}/v2/keys/tls`, rogue)).toBe("refused");
    }
  });

  test("an expired certificate from the trusted CA: refused, every time", async () => {
    const expired = { ca: certs.ca, cert: certs.expired.cert, key: certs.expired.key };
    for (let i = 0; i < TRIES; i++)
      expect(await outcome(`${member.clientUrl}/v2/keys/tls`, expired)).toBe("refused");
  });

  test("a client that does not trust the member's CA refuses it", async () => {
    const res = await outcome(`${member.clientUrl}/v2/keys/tls`, {
      cert: certs.client.cert,
      key: certs.client.key,
    });
    expect(res).toBe("refused");
  });

  test("plain HTTP to the TLS port fails at once, never a success or a hang", async () => {
    const plain = member.clientUrl.replace("https://", "http://");
    const started = performance.now();
    const res = await outcome(`${plain}/v2/keys/tls`, {});
    // etcd answers 400 "Client sent an HTTP request to an HTTPS server."; etcd-bun closes.
    expect([400, "refused"]).toContain(res);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  test.if(has("etcdctl"))("etcdctl with --ca-file, --cert-file and --key-file", async () => {
    const run = (args: string[]) =>
      Bun.spawnSync(
        [
          "etcdctl",
          "--endpoints",
          member.clientUrl,
          "--ca-file",
          certs.caFile,
          "--cert-file",
          certs.client.certFile,
          "--key-file",
          certs.client.keyFile,
          ...args,
        ],
        { env: { ...process.env, ETCDCTL_API: "2" } },
      );
    expect(run(["set", "/ctl", "v"]).exitCode).toBe(0);
    const got = run(["get", "/ctl"]);
    expect([got.exitCode, got.stdout.toString()]).toEqual([0, "v\n"]);
  });
});

describe.each(SERVER_KINDS)("a %s member with --client-crl-file", (kind) => {
  let member: MemberProcess;
  beforeAll(async () => {
    const flags = [...serverFlags(true), "--client-crl-file", certs.crlFile];
    member = await startMember({ kind, https: trusted(), extraArgs: flags });
    started.push(member);
  }, 30_000);

  test("a revoked certificate is refused every time; others are served", async () => {
    const revoked = { ca: certs.ca, cert: certs.revoked.cert, key: certs.revoked.key };
    for (let i = 0; i < TRIES; i++)
      expect(await outcome(`${member.clientUrl}/v2/keys/`, revoked)).toBe("refused");
    expect(await outcome(`${member.clientUrl}/v2/keys/`, trusted())).toBe(200);
  });
});

describe.each(SERVER_KINDS)("a %s member with --client-cert-allowed-hostname", (kind) => {
  let member: MemberProcess;
  const asServer = () => ({ ca: certs.ca, cert: certs.server.cert, key: certs.server.key });
  beforeAll(async () => {
    const flags = [...serverFlags(true), "--client-cert-allowed-hostname", "127.0.0.1"];
    member = await startMember({ kind, https: asServer(), extraArgs: flags });
    started.push(member);
  }, 30_000);

  test("only a certificate naming the host is served; a watch and a write go through", async () => {
    for (let i = 0; i < TRIES; i++)
      expect(await outcome(`${member.clientUrl}/v2/keys/`, trusted())).toBe("refused");
    const watch = fetch(`${member.clientUrl}/v2/keys/gated?wait=true`, { tls: asServer() });
    await Bun.sleep(200);
    const put = await outcome(`${member.clientUrl}/v2/keys/gated`, asServer(), {
      method: "PUT",
      body: new URLSearchParams({ value: "through" }),
    });
    expect(put).toBe(201);
    const event = (await (await watch).json()) as { node: { value: string } };
    expect(event.node.value).toBe("through");
  });
});

/** curl's exit code for a handshake with these curl options (0: served; 35: refused). */
function curlHandshake(url: string, options: readonly string[]): number {
  const client = ["--cert", certs.client.certFile, "--key", certs.client.keyFile];
  const args = ["curl", "-s", "-o", "/dev/null", "--cacert", certs.caFile, ...client];
  return Bun.spawnSync([...args, ...options, url]).exitCode;
}

describe.each(SERVER_KINDS)("a %s member with --cipher-suites", (kind) => {
  let member: MemberProcess;
  beforeAll(async () => {
    const flags = [
      ...serverFlags(true),
      "--cipher-suites",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ];
    member = await startMember({ kind, https: trusted(), extraArgs: flags });
    started.push(member);
  }, 30_000);

  test.if(has("curl"))("TLS 1.2 with a listed suite only; TLS 1.3 as before; never TLS 1.1", () => {
    const url = `${member.clientUrl}/v2/keys/`;
    const tls12 = ["--tls-max", "1.2"];
    expect(curlHandshake(url, [...tls12, "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"])).toBe(0);
    expect(curlHandshake(url, [...tls12, "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384"])).toBe(35);
    expect(curlHandshake(url, ["--tlsv1.3"])).toBe(0);
    expect(curlHandshake(url, ["--tlsv1.1", "--tls-max", "1.1"])).toBe(35);
  });
});

describe("etcd-bun: TLS beyond the member above", () => {
  test("without --client-cert-auth any client that trusts the CA is served", async () => {
    const member = await startMember({ https: { ca: certs.ca }, extraArgs: serverFlags(false) });
    started.push(member);
    expect(await outcome(`${member.clientUrl}/v2/keys/`, { ca: certs.ca })).toBe(200);
  }, 30_000);

  test("a proxy on https forwards to an https member with its client certificate", async () => {
    const member = await startMember({ https: trusted(), extraArgs: serverFlags(true) });
    started.push(member);
    const proxy = await startProxyProcess({
      initialCluster: `default=${member.peerUrl}`,
      https: trusted(),
      extraArgs: serverFlags(true),
    });
    started.push(proxy);
    const put = await outcome(`${proxy.clientUrl}/v2/keys/via-tls-proxy`, trusted(), {
      method: "PUT",
      body: new URLSearchParams({ value: "1" }),
    });
    expect(put).toBe(201);
    expect(await outcome(`${proxy.clientUrl}/v2/keys/via-tls-proxy`, { ca: certs.ca })).toBe(
      "refused",
    );
  }, 30_000);

  test("a proxy with only --peer-* files dials https members with them, as etcd's proxy does", async () => {
    const member = await startMember({ https: trusted(), extraArgs: serverFlags(true) });
    started.push(member);
    const proxy = await startProxyProcess({
      initialCluster: `default=${member.peerUrl}`,
      extraArgs: [
        "--peer-cert-file",
        certs.client.certFile,
        "--peer-key-file",
        certs.client.keyFile,
        "--peer-trusted-ca-file",
        certs.caFile,
      ],
    });
    started.push(proxy);
    const put = await fetch(`${proxy.clientUrl}/v2/keys/via-peer-files`, {
      method: "PUT",
      body: new URLSearchParams({ value: "1" }),
    });
    expect(put.status).toBe(201);
    const direct = await outcome(`${member.clientUrl}/v2/keys/via-peer-files`, trusted());
    expect(direct).toBe(200);
  }, 30_000);

  test("a proxy refuses --client-cert-allowed-hostname with one line (not ignored)", async () => {
    const member = await startMember({ https: trusted(), extraArgs: serverFlags(true) });
    started.push(member);
    const error = await startProxyProcess({
      initialCluster: `default=${member.peerUrl}`,
      https: trusted(),
      extraArgs: [...serverFlags(true), "--client-cert-allowed-hostname", "127.0.0.1"],
    }).then(
      () => "started",
      (e: unknown) => String(e),
    );
    expect(error).toContain(
      "etcd-bun: cannot start proxy: --client-cert-allowed-hostname is not supported for a proxy yet",
    );
  }, 30_000);

  test("an unknown cipher suite name stops the start with etcd's line", async () => {
    const error = await startMember({
      https: trusted(),
      extraArgs: [
        ...serverFlags(true),
        "--cipher-suites",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,NOPE",
      ],
    }).then(
      () => "started",
      (e: unknown) => String(e),
    );
    expect(error).toContain('unexpected TLS cipher suite "NOPE"');
  }, 30_000);

  test("a certificate file that cannot be read stops the start with one line", async () => {
    const error = await startMember({
      https: trusted(),
      extraArgs: ["--cert-file", "/nonexistent.pem", "--key-file", certs.server.keyFile],
    }).then(
      () => "started",
      (e: unknown) => String(e),
    );
    expect(error).toContain(
      "etcd-bun: cannot start member: open /nonexistent.pem: no such file or directory",
    );
  }, 30_000);
});
