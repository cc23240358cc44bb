/**
 * Watches through the real HTTP server: long polls that wait, streams that carry many events,
 * the history (waitIndex) and its 401, and a client disconnect freeing its watcher.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestMember, type TestMember } from "../support/in-process.ts";

let m: TestMember;
beforeAll(async () => {
  m = await startTestMember();
});
afterAll(async () => {
  await m?.stop();
});

const put = (key: string, value: string) =>
  fetch(`${m.url}/v2/keys${key}`, { method: "PUT", body: new URLSearchParams({ value }) }).then(
    (r) => r.json(),
  );

async function watchers(): Promise<number> {
  const stats = (await (await fetch(`${m.url}/v2/stats/store`)).json()) as { watchers: number };
  return stats.watchers;
}

test("a long poll waits for the next change and returns it", async () => {
  const response = await fetch(`${m.url}/v2/keys/lp?wait=true`);
  expect(response.status).toBe(200); // headers are sent before any event, as etcd does
  const body = response.text();
  expect(await Promise.race([body, Bun.sleep(200).then(() => "still waiting")])).toBe(
    "still waiting",
  );
  await put("/lp", "changed");
  const event = JSON.parse(await body) as { action: string; node: { value: string } };
  expect(event.action).toBe("set");
  expect(event.node.value).toBe("changed");
});

test("a stream watch delivers every event as one JSON line", async () => {
  const controller = new AbortController();
  const res = await fetch(`${m.url}/v2/keys/st?wait=true&stream=true&recursive=true`, {
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("x-etcd-index")).not.toBeNull();
  const reader = res.body?.getReader();
  if (reader === undefined) throw new Error("no body");
  for (let i = 0; i < 3; i++) await put(`/st/k${i}`, `v${i}`);
  let text = "";
  while (text.split("\n").length < 4) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  const events = text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { node: { key: string } });
  expect(events.map((e) => e.node.key)).toEqual(["/st/k0", "/st/k1", "/st/k2"]);
  controller.abort();
});

test("waitIndex in the history answers at once; an index older than 1000 events is 401", async () => {
  const first = (await put("/hist", "a")) as { node: { modifiedIndex: number } };
  await put("/hist", "b");
  const res = await fetch(`${m.url}/v2/keys/hist?wait=true&waitIndex=${first.node.modifiedIndex}`);
  const event = (await res.json()) as { node: { value: string } };
  expect(event.node.value).toBe("a");
  for (let i = 0; i < 1005; i++) await put("/fill", String(i));
  const old = await fetch(`${m.url}/v2/keys/hist?wait=true&waitIndex=${first.node.modifiedIndex}`);
  expect(old.status).toBe(400);
  const error = (await old.json()) as { errorCode: number; cause: string };
  expect(error.errorCode).toBe(401);
  expect(error.cause).toMatch(/^the requested history has been cleared \[\d+\/\d+\]$/);
});

test("a client that disconnects frees its watcher", async () => {
  const before = await watchers();
  const controller = new AbortController();
  const res = await fetch(`${m.url}/v2/keys/gone?wait=true`, { signal: controller.signal });
  expect(res.status).toBe(200);
  const body = res.text().catch(() => "aborted");
  expect(await watchers()).toBe(before + 1);
  controller.abort();
  expect(await body).toBe("aborted");
  const deadline = Date.now() + 5000;
  while ((await watchers()) !== before && Date.now() < deadline) await Bun.sleep(20);
  expect(await watchers()).toBe(before);
});
