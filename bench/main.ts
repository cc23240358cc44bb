/**
 * `bun run bench`: PUT throughput and latency against one etcd-bun member (and, with
 * `--compare etcd`, against the real etcd 3.4 started the same way, side by side).
 * Workloads: sequential PUT (one client) and concurrent PUT over 64 keep-alive connections,
 * 256-byte values, fsync on. Prints a table and writes JSON to `.bench/results.json`.
 * The load generator is an in-process Bun client (fetch with keep-alive); see its figures
 * next to the server's to judge whether it is the bottleneck.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { realEtcdInstalled, startCluster } from "../test/support/cluster-process.ts";

interface Figures {
  readonly writesPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
}

interface Workload {
  readonly name: string;
  readonly connections: number;
  /** Members in the cluster; connections are spread over all of them. */
  readonly members: number;
}

const WORKLOADS: readonly Workload[] = [
  { name: "1 member, sequential PUT", connections: 1, members: 1 },
  { name: "1 member, PUT, 64 connections", connections: 64, members: 1 },
  { name: "3 members, PUT, 64 connections spread", connections: 64, members: 3 },
];
/** Each measurement runs for this long after a warm-up of WARMUP_MS. */
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 5000);
const WARMUP_MS = 1000;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const VALUE = "v".repeat(256);

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function putLoop(url: string, worker: number, until: number, latencies: number[]) {
  let i = 0;
  const body = `value=${VALUE}`;
  while (performance.now() < until) {
    const start = performance.now();
    const res = await fetch(`${url}/v2/keys/bench/w${worker}k${i++ % 1000}`, {
      method: "PUT",
      body,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    await res.arrayBuffer();
    if (res.status !== 200 && res.status !== 201) throw new Error(`PUT failed: ${res.status}`);
    latencies.push(performance.now() - start);
  }
}

async function measure(urls: readonly string[], connections: number): Promise<Figures> {
  const url = (w: number) => urls[w % urls.length] ?? "";
  const warm: number[] = [];
  const warmUntil = performance.now() + WARMUP_MS;
  await Promise.all(
    Array.from({ length: connections }, (_, w) => putLoop(url(w), w, warmUntil, warm)),
  );
  const latencies: number[] = [];
  const start = performance.now();
  const until = start + RUN_MS;
  await Promise.all(
    Array.from({ length: connections }, (_, w) => putLoop(url(w), w, until, latencies)),
  );
  const elapsedSec = (performance.now() - start) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    writesPerSec: latencies.length / elapsedSec,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    requests: latencies.length,
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function benchTarget(kind: "etcd-bun" | "etcd") {
  const results: Record<string, Figures[]> = {};
  for (const workload of WORKLOADS) {
    results[workload.name] = [];
    for (let r = 0; r < REPEATS; r++) {
      const cluster = await startCluster({ size: workload.members, kind });
      try {
        const urls = cluster.members.map((m) => m.clientUrl);
        const figures = await measure(urls, workload.connections);
        results[workload.name]?.push(figures);
        process.stderr.write(
          `  ${kind} ${workload.name} run ${r + 1}/${REPEATS}: ${figures.writesPerSec.toFixed(0)} writes/s\n`,
        );
      } finally {
        await cluster.stop();
      }
    }
  }
  return results;
}

function summarize(runs: Figures[]) {
  return {
    writesPerSec: median(runs.map((f) => f.writesPerSec)),
    writesPerSecMin: Math.min(...runs.map((f) => f.writesPerSec)),
    writesPerSecMax: Math.max(...runs.map((f) => f.writesPerSec)),
    p50Ms: median(runs.map((f) => f.p50Ms)),
    p99Ms: median(runs.map((f) => f.p99Ms)),
  };
}

async function main() {
  const compare = process.argv.includes("--compare") && process.argv.includes("etcd");
  if (compare && !realEtcdInstalled)
    throw new Error("--compare etcd: /usr/bin/etcd is not installed");
  process.stderr.write(
    `driver: in-process Bun fetch client; ${REPEATS} runs × ${RUN_MS} ms each\n`,
  );
  const ours = await benchTarget("etcd-bun");
  const theirs = compare ? await benchTarget("etcd") : undefined;
  const rows = WORKLOADS.map((w) => {
    const a = summarize(ours[w.name] ?? []);
    const b = theirs === undefined ? undefined : summarize(theirs[w.name] ?? []);
    return {
      workload: w.name,
      etcdBun: a,
      etcd: b,
      ratio: b === undefined ? undefined : a.writesPerSec / b.writesPerSec,
    };
  });
  console.log(
    "| workload | etcd-bun writes/s (min-max) | p50 ms | p99 ms | etcd writes/s | p50 ms | p99 ms | ratio |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const a = r.etcdBun;
    const b = r.etcd;
    console.log(
      `| ${r.workload} | ${a.writesPerSec.toFixed(0)} (${a.writesPerSecMin.toFixed(0)}-${a.writesPerSecMax.toFixed(0)}) | ${a.p50Ms.toFixed(2)} | ${a.p99Ms.toFixed(2)} | ` +
        (b === undefined
          ? "– | – | – | – |"
          : `${b.writesPerSec.toFixed(0)} (${b.writesPerSecMin.toFixed(0)}-${b.writesPerSecMax.toFixed(0)}) | ${b.p50Ms.toFixed(2)} | ${b.p99Ms.toFixed(2)} | ${(r.ratio ?? 0).toFixed(2)}× |`),
    );
  }
  mkdirSync(".bench", { recursive: true });
  writeFileSync(
    ".bench/results.json",
    `${JSON.stringify({ runMs: RUN_MS, repeats: REPEATS, rows }, null, 2)}\n`,
  );
  console.log("JSON: .bench/results.json");
}

await main();
