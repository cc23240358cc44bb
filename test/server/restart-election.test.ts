/**
 * A lone voter restarts without waiting out an election timeout: the member's start campaigns
 * at once, so the restart (which waits for its attributes to be published through Raft, as
 * etcd's does) takes far less than the election timeout; with
 * `--initial-election-tick-advance=false` it waits one out, as etcd's (measured against etcd
 * 3.4.23: a fresh one-member start is fast-forwarded whatever the flag, a restart is not).
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

test("with --initial-election-tick-advance=false, a one-member restart waits out an election timeout", async () => {
  const electionMs = 1500;
  const first = await startTestMember({ electionMs, heartbeatMs: 100 });
  await first.member.stop();
  const started = performance.now();
  member = await startTestMember({ ...first.settings, initialElectionTickAdvance: false });
  const restartMs = performance.now() - started;
  // Raft campaigns only after a randomized timeout of at least one election timeout.
  expect(restartMs).toBeGreaterThanOrEqual(electionMs);
  expect((await fetch(`${member.url}/v2/keys/`)).status).toBe(200);
});

test("a fresh one-member start campaigns at once even with --initial-election-tick-advance=false, as etcd's", async () => {
  const electionMs = 4000;
  const started = performance.now();
  member = await startTestMember({
    electionMs,
    heartbeatMs: 100,
    initialElectionTickAdvance: false,
  });
  expect(performance.now() - started).toBeLessThan(electionMs / 2);
});
