/**
 * Issue 11 item 4: a write larger than etcd's v2 form limit (10 MiB) is refused before it
 * reaches Raft, as etcd 3.4 refuses it (400, errorCode 210), and the largest accepted write,
 * even one whose JSON is six times its size (control bytes, escaped), still replicates to every
 * member. The cluster keeps serving writes right after.
 */
import { afterEach, expect, test } from "bun:test";
import { V2_FORM_BYTES_MAX } from "../../src/transport/limits.ts";
import {
  type ClusterProcess,
  type MemberProcess,
  startCluster,
} from "../support/cluster-process.ts";

let cluster: ClusterProcess | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const FORM = { "Content-Type": "application/x-www-form-urlencoded" };

async function putBody(m: MemberProcess, key: string, body: string) {
  const res = await fetch(`${m.clientUrl}/v2/keys${key}`, {
    method: "PUT",
    headers: FORM,
    body,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, text: await res.text(), connection: res.headers.get("connection") };
}

/** Waits until a member's local read of `key` has a value of `length` characters. */
async function replicated(m: MemberProcess, key: string, length: number): Promise<number> {
  const deadline = Date.now() + 30_000;
  let seen = -1;
  while (Date.now() < deadline) {
    const res = await fetch(`${m.clientUrl}/v2/keys${key}`);
    const body = (await res.json()) as { node?: { value?: string } };
    seen = body.node?.value?.length ?? -1;
    if (seen === length) return seen;
    await Bun.sleep(100);
  }
  return seen;
}

test("an oversized write is refused like etcd's; the largest accepted one replicates; writes go on", async () => {
  cluster = await startCluster({ size: 3 });
  const leader = await cluster.leader();
  const followers = cluster.members.filter((m) => m !== leader);

  // 70 MB, the size that wedged the cluster: refused with etcd's error, before Raft.
  const huge = await putBody(leader, "/huge", `value=${"a".repeat(70_000_000)}`);
  expect(huge.status).toBe(400);
  expect(JSON.parse(huge.text)).toEqual({
    errorCode: 210,
    message: "Invalid POST form",
    cause: "http: POST too large",
    index: 0,
  });
  expect(huge.connection).toBe("close");
  // One byte over the limit, through a follower.
  const over = await putBody(
    followers[0] as MemberProcess,
    "/over",
    `value=${"a".repeat(V2_FORM_BYTES_MAX - 5)}`,
  );
  expect(over.status).toBe(400);

  // Exactly the limit, made of a control byte JSON escapes to six (a ~60 MB response body; the
  // Raft entry carries the value as UTF-8, so it stays about 10 MB).
  const valueLength = V2_FORM_BYTES_MAX - "value=".length;
  const max = await putBody(leader, "/max", `value=${"\u0001".repeat(valueLength)}`);
  expect(max.status).toBe(201);
  for (const f of followers) expect(await replicated(f, "/max", valueLength)).toBe(valueLength);

  // Every member keeps taking writes right after.
  for (const [i, m] of cluster.members.entries()) {
    const small = await putBody(m, `/after${i}`, `value=v${i}`);
    expect(small.status).toBe(201);
  }
}, 180_000);
