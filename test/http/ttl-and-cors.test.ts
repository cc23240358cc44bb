/**
 * TTL expiry driven by the leader's SYNC proposals (keys and dirs disappear, watchers get an
 * `expire` event) and the `--cors` policy, through the real HTTP server.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestMember, type TestMember } from "../support/in-process.ts";

let m: TestMember;
beforeAll(async () => {
  m = await startTestMember({ cors: ["http://allowed.test"] });
});
afterAll(async () => {
  await m?.stop();
});

const put = (key: string, body: Record<string, string>) =>
  fetch(`${m.url}/v2/keys${key}`, { method: "PUT", body: new URLSearchParams(body) });

test("a key with a TTL expires and its watcher gets an expire event", async () => {
  const created = await put("/ttl/k", { value: "v", ttl: "1" });
  expect(created.status).toBe(201);
  const body = (await created.json()) as { node: { ttl: number; expiration: string } };
  expect(body.node.ttl).toBe(1);
  expect(Date.parse(body.node.expiration)).toBeGreaterThan(Date.now());
  const watch = await fetch(`${m.url}/v2/keys/ttl/k?wait=true`);
  const event = JSON.parse(await watch.text()) as {
    action: string;
    node: { key: string };
    prevNode: { value: string };
  };
  expect(event.action).toBe("expire");
  expect(event.node.key).toBe("/ttl/k");
  expect(event.prevNode.value).toBe("v");
  expect((await fetch(`${m.url}/v2/keys/ttl/k`)).status).toBe(404);
  const stats = (await (await fetch(`${m.url}/v2/stats/store`)).json()) as { expireCount: number };
  expect(stats.expireCount).toBeGreaterThanOrEqual(1);
});

test("a dir with a TTL expires with its whole subtree", async () => {
  expect((await put("/ttldir", { dir: "true", ttl: "1" })).status).toBe(201);
  expect((await put("/ttldir/child", { value: "c" })).status).toBe(201);
  const watch = await fetch(`${m.url}/v2/keys/ttldir/child?wait=true`);
  const event = JSON.parse(await watch.text()) as {
    action: string;
    node: { key: string; dir: boolean };
  };
  expect(event.action).toBe("expire");
  expect(event.node).toMatchObject({ key: "/ttldir", dir: true });
  expect((await fetch(`${m.url}/v2/keys/ttldir/child`)).status).toBe(404);
});

test("CORS headers go only to an allowed origin; OPTIONS is answered before routing", async () => {
  const allowed = await fetch(`${m.url}/v2/keys/`, { headers: { origin: "http://allowed.test" } });
  expect(allowed.headers.get("access-control-allow-origin")).toBe("http://allowed.test");
  expect(allowed.headers.get("access-control-allow-methods")).toBe(
    "POST, GET, OPTIONS, PUT, DELETE",
  );
  const other = await fetch(`${m.url}/v2/keys/`, { headers: { origin: "http://other.test" } });
  expect(other.headers.get("access-control-allow-origin")).toBeNull();
  const preflight = await fetch(`${m.url}/no/such/path`, {
    method: "OPTIONS",
    headers: { origin: "http://allowed.test" },
  });
  expect(preflight.status).toBe(200);
  expect(await preflight.text()).toBe("");
  expect(preflight.headers.get("access-control-allow-headers")).toBe(
    "accept, content-type, authorization",
  );
});
