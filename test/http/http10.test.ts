/**
 * HTTP/1.0 requests without a Host header, as load balancers send for health checks
 * (HAProxy's `option httpchk GET /health`): served by a member, a proxy and the discovery
 * service exactly as with a Host, and by etcd-bun as by etcd 3.4.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type DiscoveryServiceProcess,
  type MemberProcess,
  SERVER_KINDS,
  startDiscoveryServiceProcess,
  startMember,
  startProxyProcess,
} from "../support/cluster-process.ts";
import { rawRequest } from "../support/raw-http.ts";

const FORM = { "content-type": "application/x-www-form-urlencoded" };

async function http10(url: string, method: string, target: string, body?: string) {
  const res = await rawRequest(url, {
    method,
    target,
    http10: true,
    ...(body === undefined ? {} : { body, headers: FORM }),
  });
  const text = await res.text();
  return { status: res.status, body: text };
}

/** The answers that matter to a client, with the indexes (which differ by server) left out. */
async function session(url: string, key: string) {
  const node = (text: string) => {
    const parsed = JSON.parse(text) as { action?: string; node?: { key: string; value?: string } };
    return { action: parsed.action, key: parsed.node?.key, value: parsed.node?.value };
  };
  const health = await http10(url, "GET", "/health");
  const put = await http10(url, "PUT", `/v2/keys/${key}`, "value=one");
  const get = await http10(url, "GET", `/v2/keys/${key}`);
  const missing = await http10(url, "GET", "/v2/keys/none");
  return {
    health: { status: health.status, body: JSON.parse(health.body) },
    put: { status: put.status, ...node(put.body), key: node(put.body).key === `/${key}` },
    get: { status: get.status, ...node(get.body), key: node(get.body).key === `/${key}` },
    missing: { status: missing.status, errorCode: JSON.parse(missing.body).errorCode },
    version: (await http10(url, "GET", "/version")).status,
  };
}

const EXPECTED = {
  health: { status: 200, body: { health: "true" } },
  put: { status: 201, action: "set", key: true, value: "one" },
  get: { status: 200, action: "get", key: true, value: "one" },
  missing: { status: 404, errorCode: 100 },
  version: 200,
};

const started: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  for (const s of started) await s.stop();
});

describe("HTTP/1.0 without a Host header", () => {
  const members = new Map<string, MemberProcess>();
  beforeAll(async () => {
    for (const kind of SERVER_KINDS) {
      const m = await startMember({ kind });
      started.push(m);
      members.set(kind, m);
    }
  }, 30_000);

  test.each(SERVER_KINDS)("a %s member serves it", async (kind) => {
    const m = members.get(kind) as MemberProcess;
    expect(await session(m.clientUrl, "direct")).toEqual(EXPECTED);
  });

  test("an etcd-bun proxy serves it", async () => {
    const m = members.get("etcd-bun") as MemberProcess;
    const proxy = await startProxyProcess({ initialCluster: `${m.name}=${m.peerUrl}` });
    started.push(proxy);
    expect(await session(proxy.clientUrl, "proxied")).toEqual(EXPECTED);
  });

  test("the etcd-bun discovery service serves it", async () => {
    const service: DiscoveryServiceProcess = await startDiscoveryServiceProcess({
      kind: "etcd-bun",
    });
    started.push(service);
    const health = await http10(service.url, "GET", "/health");
    expect(health.status).toBe(200);
    const token = await http10(service.url, "GET", "/new?size=3");
    expect(token.status).toBe(200);
    expect(token.body).toStartWith(`${service.url}/`);
  });
});
