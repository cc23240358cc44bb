/**
 * An existing etcd v2 client library (`node-etcd`) against an etcd-bun member process:
 * set, get, compare-and-swap, in-order create, recursive listing, delete, and a watcher.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import Etcd from "node-etcd";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";

let member: MemberProcess;
let etcd: Etcd;

beforeAll(async () => {
  member = await startMember();
  etcd = new Etcd([member.clientUrl]);
});
afterAll(async () => {
  await member?.stop();
});

type Node = { key?: string; value?: string; dir?: boolean; nodes?: Node[]; modifiedIndex?: number };
type Body = { action: string; node: Node; prevNode?: Node };

function call(fn: (cb: (err: unknown, body: unknown) => void) => void): Promise<Body> {
  return new Promise((resolve, reject) => {
    fn((err, body) => (err ? reject(err) : resolve(body as Body)));
  });
}

test("node-etcd set, get, CAS, in-order create, list and delete", async () => {
  const set = await call((cb) => etcd.set("app/config", "v1", cb));
  expect(set.action).toBe("set");
  expect(set.node.value).toBe("v1");
  const got = await call((cb) => etcd.get("app/config", cb));
  expect(got.node.value).toBe("v1");
  const swapped = await call((cb) => etcd.compareAndSwap("app/config", "v2", "v1", cb));
  expect(swapped.action).toBe("compareAndSwap");
  expect(swapped.prevNode?.value).toBe("v1");
  await expect(
    call((cb) => etcd.compareAndSwap("app/config", "v3", "v1", cb)),
  ).rejects.toMatchObject({
    errorCode: 101,
  });
  const job = await call((cb) => etcd.create("app/queue", "job", cb));
  expect(job.node.key).toMatch(/^\/app\/queue\/\d{20}$/);
  const listing = await call((cb) => etcd.get("app", { recursive: true, sorted: true }, cb));
  expect(listing.node.nodes?.map((n) => n.key)).toEqual(["/app/config", "/app/queue"]);
  const removed = await call((cb) => etcd.del("app", { recursive: true }, cb));
  expect(removed.action).toBe("delete");
  await expect(call((cb) => etcd.get("app/config", cb))).rejects.toMatchObject({ errorCode: 100 });
});

test("node-etcd watcher receives a change", async () => {
  const watcher = etcd.watcher("watched");
  const received = new Promise<Body>((resolve) => watcher.on("change", (v) => resolve(v as Body)));
  await Bun.sleep(100);
  await call((cb) => etcd.set("watched", "hello", cb));
  const event = await received;
  watcher.stop();
  expect(event.action).toBe("set");
  expect(event.node.value).toBe("hello");
});
