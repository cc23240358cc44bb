import { expect, test } from "bun:test";
import { HeartbeatWatch } from "../../src/server/heartbeat-watch.ts";

function watchAt() {
  const clock = { ms: 0 };
  const lines: string[] = [];
  const watch = new HeartbeatWatch(
    100,
    () => clock.ms,
    (line) => lines.push(line),
  );
  return { clock, lines, watch };
}

test("heartbeats within two intervals of the last one to the same peer are on time", () => {
  const { clock, lines, watch } = watchAt();
  for (const ms of [0, 100, 250, 450]) {
    clock.ms = ms;
    watch.sent("b", 2);
    watch.sent("c", 2);
  }
  expect([watch.late, lines]).toEqual([0, []]);
});

test("a late one is counted and logged in etcd's words; other peers' are judged by their own", () => {
  const { clock, lines, watch } = watchAt();
  watch.sent("b", 2);
  clock.ms = 70;
  watch.sent("c", 2);
  clock.ms = 260;
  watch.sent("b", 2);
  watch.sent("c", 2);
  expect(watch.late).toBe(1);
  expect(lines).toEqual([
    "warning: failed to send out heartbeat on time (exceeded the 100ms timeout for 60ms, to b)",
    "warning: server is likely overloaded",
  ]);
});

test("a new term (a new leadership) starts afresh", () => {
  const { clock, watch } = watchAt();
  watch.sent("b", 2);
  clock.ms = 10_000;
  watch.sent("b", 5);
  clock.ms = 10_100;
  watch.sent("b", 5);
  expect(watch.late).toBe(0);
});
