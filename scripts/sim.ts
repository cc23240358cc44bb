/**
 * Runs the raft cluster simulator.
 *   bun scripts/sim.ts --seed N [--ticks T] [--trace [--trace-msgs]]   replay one seed
 *   bun scripts/sim.ts --runs K [--start S] [--ticks T]   search K random seeds
 * Exits 1 and prints the seed of the first failing run.
 */

import { configFromSeed, runSim, type SimResult } from "../test/sim/sim.ts";

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function summary(r: SimResult): string {
  const s = r.stats;
  return `seed ${r.seed}: ${r.ok ? "ok" : "FAIL"} ticks=${r.ticks} elections=${s.elections} proposals=${s.proposals} applied=${s.entriesApplied} maxCommit=${s.maxCommit} crashes=${s.crashes} snapshots=${s.snapshotsInstalled} confChanges=${s.confChanges} reads=${s.readsServed} delivered=${s.messagesDelivered} dropped=${s.messagesDropped}`;
}

const ticksFlag = flag("ticks");
const ticks = ticksFlag === undefined ? undefined : Number(ticksFlag);
const seedFlag = flag("seed");
if (seedFlag !== undefined) {
  const seed = Number(seedFlag);
  console.log(JSON.stringify(configFromSeed(seed, ticks)));
  const trace = process.argv.includes("--trace") ? (l: string) => console.log(l) : undefined;
  const r = runSim(seed, ticks, trace, process.argv.includes("--trace-msgs"));
  console.log(summary(r));
  if (!r.ok) {
    console.log(r.error);
    process.exit(1);
  }
} else {
  const runs = Number(flag("runs") ?? "100");
  // Without --start, pick a fresh range so repeated searches cover new seeds.
  const start = Number(flag("start") ?? String(Math.floor(Math.random() * 1e9)));
  let failed = 0;
  for (let seed = start; seed < start + runs; seed++) {
    const r = runSim(seed, ticks);
    if (!r.ok) {
      failed++;
      console.log(summary(r));
      console.log(r.error);
      console.log(
        `replay: bun scripts/sim.ts --seed ${seed}${ticks === undefined ? "" : ` --ticks ${ticks}`}`,
      );
      break;
    }
  }
  console.log(`${runs} runs from seed ${start}: ${failed === 0 ? "all passed" : "failed"}`);
  process.exit(failed === 0 ? 0 : 1);
}
