/**
 * A lone voter restarts without waiting out an election timeout: the member's start campaigns
 * at once, so the restart (which waits for its attributes to be published through Raft, as
 * etcd's does) takes far less than the election timeout.
 */
import { afterEach, expect, test } from "bun:test";
import { startTestMember, type TestMember } from "../support/in-process.ts";

let member: TestMember | undefined;
afterEach(async () => {
  await member?.stop();
  member = undefined;
});

test("a one-member restart is served well within one election timeout", async () => {
  const electionMs = 4000;
  member = await startTestMember({ electionMs, heartbeatMs: 100 });
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${member.url}/v2/keys/k${i}`, {
      method: "PUT",
      body: new URLSearchParams({ value: "v" }),
    });
    expect(res.status).toBe(201);
  }
  const started = performance.now();
  member = await member.restart();
  const restartMs = performance.now() - started;
  expect(restartMs).toBeLessThan(electionMs / 2);
  const res = await fetch(`${member.url}/v2/keys/k19`);
  expect(((await res.json()) as { node: { value: string } }).node.value).toBe("v");
});
