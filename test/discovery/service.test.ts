/**
 * `etcd-bun discovery` as a process: its API answered as Debian's discovery.etcd.io answers the
 * same requests (side by side, when installed), tokens kept across a restart in the embedded
 * store, `--token-ttl`, and the request counters.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import {
  DEBIAN_DISCOVERY,
  type DiscoveryServiceProcess,
  type MemberProcess,
  realEtcdInstalled,
  startDiscoveryServiceProcess,
  startMember,
} from "../support/cluster-process.ts";

const services: DiscoveryServiceProcess[] = [];
const members: MemberProcess[] = [];
afterAll(async () => {
  for (const s of services) await s.stop();
  for (const m of members) await m.stop();
});

async function service(extraArgs: string[] = []): Promise<DiscoveryServiceProcess> {
  const s = await startDiscoveryServiceProcess({ kind: "etcd-bun", extraArgs });
  services.push(s);
  return s;
}

async function newToken(s: DiscoveryServiceProcess, size = 3): Promise<string> {
  const res = await fetch(`${s.url}/new?size=${size}`);
  expect(res.status).toBe(200);
  return (await res.text()).slice(s.url.length + 1);
}

interface Exchange {
  readonly method: string;
  /** With `{token}` for a token made for the run. */
  readonly path: string;
  readonly body?: string;
}

/** The same requests for both services, in order (the registrations build on each other). */
const EXCHANGES: Exchange[] = [
  { method: "GET", path: "/" },
  { method: "GET", path: "/robots.txt" },
  { method: "GET", path: "/health" },
  { method: "POST", path: "/health" },
  { method: "GET", path: "/nonexistent" },
  { method: "GET", path: "/new?size=abc" },
  { method: "GET", path: "/new?size=1.5" },
  { method: "GET", path: "/new?size=99999999999999999999" },
  { method: "GET", path: "/{token}" },
  { method: "GET", path: "/{token}/" },
  { method: "GET", path: "/{token}/_config/size" },
  { method: "GET", path: "/{token}/_config" },
  { method: "GET", path: "/{token}/abc" },
  { method: "PUT", path: "/{token}/m1?prevExist=false", body: "value=a=http://10.0.0.1:2380" },
  { method: "PUT", path: "/{token}/m1?prevExist=false", body: "value=a=http://10.0.0.1:2380" },
  { method: "GET", path: "/{token}?recursive=true" },
  { method: "GET", path: "/{token}?wait=true&waitIndex=1&recursive=true" },
  { method: "DELETE", path: "/{token}/m1" },
  { method: "PUT", path: "/{token}", body: "dir=true" },
  { method: "POST", path: "/{token}", body: "value=x" },
  { method: "PUT", path: "/{token}/_config/size", body: "value=9" },
  { method: "DELETE", path: "/{token}" },
  { method: "HEAD", path: "/{token}" },
  { method: "OPTIONS", path: "/{token}" },
  { method: "GET", path: "/{token}/a/b" },
  { method: "GET", path: "/{TOKEN}" },
  { method: "GET", path: "/0123456789abcdef0123456789abcdef" },
];

/** What must be equal: status, content type, Location, and the body with run-specific parts out. */
async function observe(s: DiscoveryServiceProcess, token: string, e: Exchange) {
  const path = e.path.replace("{token}", token).replace("{TOKEN}", token.toUpperCase());
  const res = await fetch(s.url + path, {
    method: e.method,
    redirect: "manual",
    ...(e.body === undefined
      ? {}
      : { body: e.body, headers: { "Content-Type": "application/x-www-form-urlencoded" } }),
  });
  const body = (await res.text())
    .replaceAll(token, "TOKEN")
    .replace(/"(modifiedIndex|createdIndex|index)":\d+/g, '"$1":N')
    .replace(/\[\d+\]/g, "[N]");
  return {
    request: `${e.method} ${e.path}`,
    status: res.status,
    type: res.headers.get("content-type"),
    location: res.headers.get("location"),
    cors: res.headers.get("access-control-allow-origin"),
    body,
  };
}

describe.if(realEtcdInstalled && existsSync(DEBIAN_DISCOVERY))(
  "side by side with Debian's discovery.etcd.io",
  () => {
    let ours: DiscoveryServiceProcess;
    let theirs: DiscoveryServiceProcess;
    beforeAll(async () => {
      const store = await startMember({ kind: "etcd" });
      members.push(store);
      ours = await service();
      theirs = await startDiscoveryServiceProcess({ kind: "debian", store: store.clientUrl });
      services.push(theirs);
    }, 30_000);

    test("every exchange answers the same", async () => {
      const ourToken = await newToken(ours, 2);
      const theirToken = await newToken(theirs, 2);
      for (const e of EXCHANGES) {
        const got = await observe(ours, ourToken, e);
        const want = await observe(theirs, theirToken, e);
        expect(got).toEqual(want);
      }
    }, 30_000);

    test("with its store down: the same refusals for a new token and for health", async () => {
      const store = await startMember({ kind: "etcd" });
      members.push(store);
      const ourOwn = await startDiscoveryServiceProcess({
        kind: "etcd-bun",
        store: store.clientUrl,
      });
      const their = await startDiscoveryServiceProcess({ kind: "debian", store: store.clientUrl });
      services.push(ourOwn, their);
      await store.stop();
      for (const e of [
        { method: "GET", path: "/new?size=3" },
        { method: "GET", path: "/health" },
      ])
        expect(await observe(ourOwn, "", e)).toEqual(await observe(their, "", e));
    }, 30_000);

    test("where it differs on purpose: sizes out of 1..1000 are refused", async () => {
      for (const size of ["0", "-1", "1001"]) {
        const res = await fetch(`${ours.url}/new?size=${size}`);
        expect([res.status, await res.text()]).toEqual([
          400,
          `size must be between 1 and 1000, got ${size}\n`,
        ]);
        expect((await fetch(`${theirs.url}/new?size=${size}`)).status).toBe(200);
      }
    });
  },
);

describe("the embedded store", () => {
  test("tokens survive a restart of the service", async () => {
    const s = await service();
    const token = await newToken(s, 5);
    await s.restart();
    const res = await fetch(`${s.url}/${token}/_config/size`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { node: { value: string } }).node.value).toBe("5");
  }, 30_000);

  test("--token-ttl removes a token and its registrations once it expires", async () => {
    const s = await service(["--token-ttl", "1"]);
    const token = await newToken(s, 1);
    const put = await fetch(`${s.url}/${token}/abc`, {
      method: "PUT",
      body: new URLSearchParams({ value: "a=http://10.0.0.1:2380" }),
    });
    expect(put.status).toBe(201);
    expect((await fetch(`${s.url}/${token}`)).status).toBe(200);
    const deadline = Date.now() + 5000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await Bun.sleep(250);
      status = (await fetch(`${s.url}/${token}`)).status;
    }
    expect(status).toBe(404);
  }, 30_000);

  test("/metrics counts requests by endpoint, code and method", async () => {
    const s = await service();
    const token = await newToken(s);
    await fetch(`${s.url}/new?size=x`);
    await fetch(`${s.url}/${token}`);
    await fetch(`${s.url}/health`);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).toContain('endpoint_new_requests_total{code="200",method="GET"} 1\n');
    expect(text).toContain('endpoint_new_requests_total{code="400",method="GET"} 1\n');
    expect(text).toContain('endpoint_token_requests_total{code="200",method="GET"} 1\n');
    expect(text).toContain('endpoint_health_requests_total{code="200",method="GET"} 1\n');
    expect(text).toContain("# TYPE endpoint_token_requests_total counter\n");
  }, 30_000);
});
