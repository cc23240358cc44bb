import { describe, expect, test } from "bun:test";
import { runSim, type SimResult } from "./sim.ts";

function expectOk(r: SimResult): void {
  // On failure, the message carries the seed: replay with `bun scripts/sim.ts --seed N`.
  if (!r.ok) throw new Error(`sim seed ${r.seed} failed: ${r.error}`);
  expect(r.ok).toBe(true);
}

describe("raft cluster simulator", () => {
  test("is deterministic for a seed", () => {
    const a = runSim(42, 800);
    const b = runSim(42, 800);
    expect(a).toEqual(b);
    expect(a.stats.entriesApplied).toBeGreaterThan(0);
  });

  // A fixed set of seeds in batches; each derives its own mix of faults (see configFromSeed).
  // 510 runs of 2,000 ticks each in CI; `bun scripts/sim.ts --runs N` searches further.
  const BATCH = 30;
  const TICKS = 2000;
  for (let first = 1; first <= 510; first += BATCH) {
    const seeds = Array.from({ length: BATCH }, (_, i) => first + i);
    test(`seeds ${first}..${first + BATCH - 1} x ${TICKS} ticks keep every safety property`, () => {
      let elections = 0;
      let applied = 0;
      for (const seed of seeds) {
        const r = runSim(seed, TICKS);
        expectOk(r);
        elections += r.stats.elections;
        applied += r.stats.entriesApplied;
      }
      // The runs must actually exercise the cluster.
      expect(elections).toBeGreaterThan(seeds.length);
      expect(applied).toBeGreaterThan(seeds.length * 100);
    }, 120_000);
  }

  const LONG_SEEDS = [7001, 7002, 7003, 7004, 7005];
  test(`${LONG_SEEDS.length} seeds x 6000 ticks`, () => {
    for (const seed of LONG_SEEDS) expectOk(runSim(seed, 6000));
  }, 60_000);
});
