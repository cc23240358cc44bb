/**
 * Long-poll watches outlive the server's idle timeout: the listener's idle timeout is lowered
 * to 2 s here (a test knob), and a watch that waits 5 s for its event must still get it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";

let member: MemberProcess;
beforeAll(async () => {
  member = await startMember({ env: { ETCDBUN_CLIENT_IDLE_TIMEOUT_S: "2" } });
});
afterAll(async () => {
  await member?.stop();
});

test("a watch waiting longer than the idle timeout still receives its event", async () => {
  const watch = fetch(`${member.clientUrl}/v2/keys/slow?wait=true`).then((r) => r.text());
  await Bun.sleep(5000);
  const put = await fetch(`${member.clientUrl}/v2/keys/slow`, {
    method: "PUT",
    body: new URLSearchParams({ value: "late" }),
  });
  expect(put.status).toBe(201);
  const event = JSON.parse(await watch) as { action: string; node: { value: string } };
  expect(event).toMatchObject({ action: "set", node: { value: "late" } });
}, 30_000);
