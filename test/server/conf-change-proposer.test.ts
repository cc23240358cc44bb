/**
 * A membership change that Raft keeps dropping (no leader) while its waiter times out: the
 * caller gets the error, and no rejection goes unhandled (the member's fatal handler takes
 * every unhandled rejection, so one would end the process).
 */
import { expect, test } from "bun:test";
import type { RawNode } from "../../src/raft/raw-node.ts";
import { ProposalDroppedError } from "../../src/raft/types.ts";
import { proposeConfChange } from "../../src/server/conf-change-proposer.ts";
import { ManualTime } from "../support/manual-time.ts";

type Host = Parameters<typeof proposeConfChange>[0];

/** A follower's view for the proposer: `raft` and the waiter come from the test. */
function follower(time: ManualTime, over: Pick<Host, "raft" | "newRequest"> & Partial<Host>): Host {
  return {
    time,
    memberId: "1",
    electionMs: 1000,
    isLeader: () => false,
    leader: () => "",
    stopping: () => false,
    requestTimeoutMs: () => 5000,
    failRequest: () => {},
    schedule: () => {},
    log: () => {},
    ...over,
  };
}

test("a waiter that times out while the proposal is still being retried is reported, not left unhandled", async () => {
  const time = new ManualTime();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    const raft = {
      proposeConfChange: () => {
        throw new ProposalDroppedError("no leader");
      },
    } as unknown as RawNode;
    const timedOut = new Error("etcdserver: request timed out");
    const outcome = proposeConfChange(
      follower(time, {
        raft,
        requestTimeoutMs: () => 200,
        newRequest: () => ({
          id: "r1",
          // The waiter gives up at 100 ms, while proposals are retried until 200 ms.
          applied: new Promise((_, reject) => time.after(100, () => reject(timedOut))),
        }),
      }),
      "addNode",
      "2",
      ["http://127.0.0.1:2380"],
    ).then(
      () => "resolved",
      (error: unknown) => error,
    );
    for (let ms = 0; ms < 300; ms += 10) {
      time.advance(10);
      await Bun.sleep(0);
    }
    expect(await outcome).toBe(timedOut);
    expect(unhandled).toEqual([]);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("a follower's change the leader dropped without a word is asked for again after an election timeout", async () => {
  const time = new ManualTime(0);
  const proposedAt: number[] = [];
  const applied = Promise.withResolvers<object>();
  const raft = {
    proposeConfChange: () => {
      proposedAt.push(time.now());
      // The leader takes the second copy only (the first arrived before it could take one).
      if (proposedAt.length === 2) time.after(5, () => applied.resolve({}));
    },
  } as unknown as RawNode;
  const outcome = proposeConfChange(
    follower(time, {
      raft,
      leader: () => "3",
      newRequest: () => ({ id: "r1", applied: applied.promise }),
    }),
    "removeNode",
    "2",
    [],
  ).then(
    () => "applied",
    (error: unknown) => error,
  );
  for (let ms = 0; ms < 3000; ms += 10) {
    time.advance(10);
    await Bun.sleep(0);
  }
  expect(await outcome).toBe("applied");
  expect(proposedAt).toEqual([0, 1000]);
});
