/**
 * The v2 form limit on one member, boundary by boundary, as measured on etcd 3.4: a body of
 * exactly 10 MiB is accepted, one byte more gets 400 errorCode 210 for PUT and POST alike.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { V2_FORM_BYTES_MAX } from "../../src/transport/limits.ts";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";

let member: MemberProcess;
beforeAll(async () => {
  member = await startMember({});
});
afterAll(async () => {
  await member.stop();
});

async function send(method: string, key: string, valueLength: number) {
  const res = await fetch(`${member.clientUrl}/v2/keys${key}`, {
    method,
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: `value=${"a".repeat(valueLength)}`,
  });
  return { status: res.status, body: (await res.json()) as { errorCode?: number; cause?: string } };
}

const atLimit = V2_FORM_BYTES_MAX - "value=".length;

for (const method of ["PUT", "POST"]) {
  test(`${method}: a body of exactly 10 MiB is accepted, one byte more is refused`, async () => {
    expect((await send(method, `/at-${method}`, atLimit)).status).toBe(201);
    const over = await send(method, `/over-${method}`, atLimit + 1);
    expect(over.status).toBe(400);
    expect(over.body.errorCode).toBe(210);
    expect(over.body.cause).toBe("http: POST too large");
  }, 60_000);
}
