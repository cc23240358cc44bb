/**
 * The whole-member simulator in CI: a fixed set of seeds (including every seed that once found
 * a bug), plus a few random ones, printed so a failure can be replayed with
 * `bun scripts/member-sim.ts --seed N`.
 */
import { expect, test } from "bun:test";
import { optionsForSeed, runSimulation, type SimOptions, withLostTail } from "./member-sim.ts";

/** Seeds that found bugs, each with what it found (they must keep passing). */
const REGRESSION_SEEDS = [
  // A lost ReadIndex request or answer left every later quorum read on that member waiting
  // until a leader change; reads are now asked again after 500 ms.
  4, 8,
  // A crash between saving a snapshot received from the leader and the hard state of the same
  // Ready made every restart stop on "HardState commit 3 outside [125, 125]".
  24,
  // With a disk that lost its vote as well as entries, two members' logs diverged under an
  // acknowledged match; stale or duplicated acks each drew another append and the rejected
  // probe was resent at once, doubling appends and acks every half second. Raft now ignores
  // acks that acknowledge nothing (as etcd's does) and waits a heartbeat to re-probe. The disk
  // no longer loses votes (Raft cannot survive that).
  10174,
  // A disk that silently dropped its last synced entries (hard state kept) let its member, back
  // up with a shorter log, vote a candidate without an acknowledged write into leadership: a
  // stale read. No WAL can tell a lost last record from a torn one, and Raft cannot survive
  // that, so the fault is now what checksums can find: synced records rot with records after
  // them, and the member refuses to start on its corrupt WAL.
  900000,
  // Two members added, neither started yet, then a third removed: the cluster had no quorum,
  // and the two live members disagreed on the member list (one never applied the removal), so
  // the simulated operator, always taking the list from the same member, had every join refused
  // for a mismatched member count. It now takes the list from another member on each refusal.
  1004554,
  // A membership change that Raft kept dropping (no leader) outlived its waiter: the waiter's
  // timeout rejected a promise nobody awaited yet, which a real member's fatal handler turns
  // into an exit. The proposer now observes the waiter from the start.
  3000738,
  // A sync failed after the faults had ended, on the one member left besides a corrupt one; the
  // final phase never restarted it, so the cluster had no quorum. Down members now restart in
  // the final phase too, as an operator restarts a member that stopped on an I/O error.
  1071003,
];

const FIXED_SEEDS = Array.from({ length: 160 }, (_, i) => i + 1);
const RANDOM_SEEDS = Array.from({ length: 4 }, () => Math.floor(Math.random() * 1e9));

/** Runs the seeds (their options through `adjust`), summing what the tests look at. */
async function runSeeds(
  seeds: readonly number[],
  adjust: (o: SimOptions) => SimOptions = (o) => o,
) {
  const failures: string[] = [];
  let completed = 0;
  let detected = 0;
  let changes = 0;
  for (const seed of seeds) {
    const r = await runSimulation(adjust(optionsForSeed(seed)));
    completed += r.completed;
    detected += r.detectedLosses;
    changes += r.membershipChanges;
    if (!r.ok) failures.push(`seed ${seed}: ${r.problem}`);
  }
  return { failures, completed, detected, changes };
}

test("a member whose disk corrupts synced records refuses to start; the others go on", async () => {
  // Seeds 1-120 with a corrupt disk on member m0 (only it crashes): no wrong answer, no hang.
  const seeds = Array.from({ length: 120 }, (_, i) => i + 1).filter(
    (s) => optionsForSeed(s).corruptMember >= 0,
  );
  const { failures, detected } = await runSeeds(seeds);
  expect(failures).toEqual([]);
  // The fault really happens: some members do find their WAL corrupt.
  expect(detected).toBeGreaterThan(5);
}, 120_000);

test("a member whose disk silently lost its acknowledged tail stops with one line once that shows", async () => {
  // The torn acknowledged tail: a lying fsync. Its own commit index at restart, or a leader's
  // heartbeat, shows the log short; the member must stop with etcd's "out of range" line (it
  // once retried that assertion for ever). Raft cannot promise safety under this fault (the
  // member may vote before the loss shows), so it has these fixed seeds, not the search.
  const seeds = Array.from({ length: 60 }, (_, i) => i + 1).filter(
    (s) => optionsForSeed(s).crashRate > 0,
  );
  const { failures, detected } = await runSeeds(seeds, withLostTail);
  expect(failures).toEqual([]);
  expect(detected).toBeGreaterThan(seeds.length / 2);
}, 120_000);

test("members are added and removed under faults (through the members API's code and a real join)", async () => {
  const seeds = Array.from({ length: 60 }, (_, i) => i + 1).filter(
    (s) => optionsForSeed(s).membershipRate > 0,
  );
  const { failures, changes } = await runSeeds(seeds);
  expect(failures).toEqual([]);
  expect(changes).toBeGreaterThan(20);
}, 120_000);

test("regression seeds pass", async () => {
  const { failures } = await runSeeds(REGRESSION_SEEDS);
  expect(failures).toEqual([]);
});

for (let batch = 0; batch < FIXED_SEEDS.length; batch += 40) {
  const seeds = FIXED_SEEDS.slice(batch, batch + 40);
  test(`seeds ${seeds[0]}..${seeds.at(-1)}: linearizable, durable, live`, async () => {
    const { failures, completed } = await runSeeds(seeds);
    expect(failures).toEqual([]);
    // The workload must really run: a simulator whose clients never finish proves nothing.
    expect(completed).toBeGreaterThan(seeds.length * 30);
  }, 120_000);
}

test(`random seeds ${RANDOM_SEEDS.join(", ")} (replay: bun scripts/member-sim.ts --seed N)`, async () => {
  const { failures } = await runSeeds(RANDOM_SEEDS);
  expect(failures).toEqual([]);
}, 60_000);
