/**
 * The whole-member simulator from the command line (test/member-sim): one seed, or a search.
 *   bun scripts/member-sim.ts --seed 17          replay one run, printing its options and result
 *   bun scripts/member-sim.ts --runs 1000 [--from N]   search seeds; prints each failure's seed
 *   add --lost-tail to give m0 a disk that silently loses its synced tail (see withLostTail)
 */
import {
  optionsForSeed,
  runSimulation,
  type SimOptions,
  withLostTail,
} from "../test/member-sim/member-sim.ts";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : undefined;
};
const lostTail = args.includes("--lost-tail");
const optionsFor = (s: number): SimOptions =>
  lostTail ? withLostTail(optionsForSeed(s)) : optionsForSeed(s);
const seed = flag("--seed");
if (seed !== undefined) {
  const options = optionsFor(seed);
  console.log(JSON.stringify(options));
  const r = await runSimulation(options);
  console.log(
    `seed ${seed}: ${r.ok ? "ok" : `FAILED: ${r.problem}`} operations=${r.operations} completed=${r.completed} crashes=${r.crashes} injected=${r.injectedFailures} detected=${r.detectedLosses} membership=${r.membershipChanges}`,
  );
  process.exit(r.ok ? 0 : 1);
}
const runs = flag("--runs") ?? 100;
const from = flag("--from") ?? Math.floor(Math.random() * 1e9);
let failed = 0;
const started = performance.now();
for (let s = from; s < from + runs; s++) {
  const r = await runSimulation(optionsFor(s));
  if (!r.ok) {
    failed++;
    console.log(`seed ${s}: FAILED: ${r.problem}`);
  }
}
const secs = ((performance.now() - started) / 1000).toFixed(0);
console.log(
  `${runs} runs from seed ${from} in ${secs} s: ${failed === 0 ? "all passed" : `${failed} failed`}`,
);
process.exit(failed === 0 ? 0 : 1);
