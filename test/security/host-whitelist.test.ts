/**
 * `--host-whitelist` (DNS rebinding defence): a plain-HTTP client port answers a Host outside
 * the list with etcd's 421 before anything else; listed hosts (with or without a port) are
 * served. Compared with etcd 3.4, and through an etcd-bun proxy.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type MemberProcess,
  SERVER_KINDS,
  startMember,
  startProxyProcess,
} from "../support/cluster-process.ts";
import { rawRequest } from "../support/raw-http.ts";

const WHITELIST = ["--host-whitelist", "example.com,127.0.0.1"];

async function answer(url: string, method: string, target: string, host: string) {
  const res = await rawRequest(url, { method, target, headers: { host } });
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
}

const started: MemberProcess[] = [];
afterAll(async () => {
  for (const m of started) await m.stop();
});

describe("the same answers as etcd 3.4", () => {
  const members = new Map<string, MemberProcess>();
  beforeAll(async () => {
    for (const kind of SERVER_KINDS) {
      const m = await startMember({ kind, extraArgs: WHITELIST });
      started.push(m);
      members.set(kind, m);
    }
  }, 30_000);

  test.each(SERVER_KINDS)(
    "%s: unlisted hosts get 421 with etcd's text; listed ones are served",
    async (kind) => {
      const m = members.get(kind) as MemberProcess;
      const refused = await answer(m.clientUrl, "GET", "/v2/keys/", "evil.com");
      expect(refused.status).toBe(421);
      expect(refused.body).toContain('etcd --host-whitelist "evil.com"');
      for (const [method, target, host] of [
        ["OPTIONS", "/v2/keys/", "evil.com"],
        ["GET", "/v2/keys/../x", "evil.com"],
        ["GET", "/version", "EXAMPLE.com"],
        ["GET", "/v2/keys/", "[::1]:80"],
      ] as const)
        expect((await answer(m.clientUrl, method, target, host)).status).toBe(421);
      expect((await answer(m.clientUrl, "GET", "/v2/keys/", "example.com:2379")).status).toBe(200);
      expect((await answer(m.clientUrl, "GET", "/version", "127.0.0.1")).status).toBe(200);
      if (kind === "etcd-bun" && members.has("etcd")) {
        const etcd = members.get("etcd") as MemberProcess;
        expect(refused).toEqual(await answer(etcd.clientUrl, "GET", "/v2/keys/", "evil.com"));
      }
    },
  );
});

test("an etcd-bun proxy applies it to its own plain-HTTP port", async () => {
  const member = await startMember();
  started.push(member);
  const proxy = await startProxyProcess({
    initialCluster: `default=${member.peerUrl}`,
    extraArgs: WHITELIST,
  });
  started.push(proxy);
  expect((await answer(proxy.clientUrl, "GET", "/v2/keys/", "evil.com")).status).toBe(421);
  expect((await answer(proxy.clientUrl, "GET", "/v2/keys/", "example.com")).status).toBe(200);
}, 30_000);
