/**
 * `npm run bench`: starts the clusters it measures (etcd-bun from this source tree and, with
 * `--compare etcd`, the real etcd with `--enable-v2=true`, same topology and fsync settings),
 * runs the workloads of workloads.ts with warm-up and repeats, prints a Markdown table of
 * medians (min–max) with etcd-bun / etcd ratios, and writes every figure to a JSON file.
 * Everything it starts is stopped by PID and every data dir removed, also on Ctrl-C.
 * Options: --compare etcd, --quick, --only <substring>, --repeats N, --json <path>.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { REAL_ETCD } from "../test/support/cluster-process.ts";
import type { ServerKind } from "./cluster.ts";
import { STRACE } from "./fsync-count.ts";
import { parseOptions, UsageError } from "./options.ts";
import { cleanupAll, installSignalCleanup, trackDir } from "./procs.ts";
import { buildJson, buildRows, formatTable } from "./report.ts";
import { runAll } from "./runner.ts";
import { allWorkloads } from "./workloads.ts";
import { WRK } from "./wrk-driver.ts";

function machine(): Record<string, string | number> {
  const loadavg = readFileSync("/proc/loadavg", "utf8").trim();
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    bun: Bun.version,
    loadavgAtStart: loadavg,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  for (const tool of [WRK, STRACE, ...(options.compare ? [REAL_ETCD] : [])]) {
    if (!existsSync(tool))
      throw new Error(`${tool} is not installed (apt-get install wrk strace etcd-server)`);
  }
  const only = options.only;
  const workloads = allWorkloads().filter(
    (w) => only === undefined || w.id.includes(only) || w.title.includes(only),
  );
  if (workloads.length === 0) throw new UsageError(`--only ${only}: no workload matches`);
  const kinds: ServerKind[] = options.compare ? ["etcd-bun", "etcd"] : ["etcd-bun"];
  const rootDir = mkdtempSync(join(tmpdir(), "etcd-bun-bench-"));
  trackDir(rootDir);
  installSignalCleanup();
  const info = machine();
  process.stderr.write(
    `${workloads.length} workloads × ${kinds.join(" + ")} × ${options.repeats} repeats ` +
      `(cluster warm-up ${options.clusterWarmupMs} ms, run warm-up ${options.warmupMs} ms, runs ${options.runMs} ms); ${info.cores} cores, load ${info.loadavgAtStart}\n` +
      "drivers: wrk (C) + Lua script for request/response workloads; a Bun fetch client process for fills and watches\n",
  );
  try {
    const results = await runAll(workloads, kinds, options, rootDir);
    const rows = buildRows(workloads, results);
    console.log(formatTable(rows, workloads));
    mkdirSync(dirname(options.jsonPath), { recursive: true });
    const json = buildJson({ options, workloads, results, rows, machine: info });
    writeFileSync(options.jsonPath, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`\nJSON: ${options.jsonPath}`);
  } finally {
    cleanupAll();
  }
}

try {
  await main();
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
