/**
 * Turns the runner's figures into the printed table (medians with min–max, etcd-bun / etcd
 * ratios from the same run) and the JSON document with every figure of every repeat.
 */
import type { ServerKind } from "./cluster.ts";
import type { BenchOptions } from "./options.ts";
import type { Results } from "./runner.ts";
import { type Summary, summarize } from "./stats.ts";
import type { Workload } from "./workloads.ts";

export interface MetricRow {
  readonly workload: string;
  readonly metric: string;
  readonly key: string;
  readonly etcdBun: Summary | undefined;
  readonly etcd: Summary | undefined;
  /** etcd-bun median / etcd median. */
  readonly ratio: number | undefined;
}

function summaryOf(results: Results, w: Workload, kind: ServerKind, key: string) {
  const runs = results.get(w.id)?.get(kind);
  if (runs === undefined || runs.length === 0) return undefined;
  return summarize(runs.map((f) => f[key] ?? Number.NaN));
}

/** Figures every workload may have besides its own; the errors row only appears when non-zero. */
const COMMON_METRICS = [
  { key: "errors", label: "errors (non-2xx, socket, timeout)", digits: 0 },
  { key: "serverCpu", label: "CPU cores: servers", digits: 2 },
  { key: "driverCpu", label: "CPU cores: driver", digits: 2 },
  { key: "machineCpu", label: "CPU cores: whole machine", digits: 2 },
];

export function buildRows(workloads: readonly Workload[], results: Results): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const w of workloads) {
    if (!results.has(w.id)) continue;
    for (const m of [...w.metrics, ...COMMON_METRICS]) {
      const etcdBun = summaryOf(results, w, "etcd-bun", m.key);
      const etcd = summaryOf(results, w, "etcd", m.key);
      if (etcdBun === undefined || Number.isNaN(etcdBun.median)) continue;
      if (m.key === "errors" && etcdBun.max === 0 && (etcd === undefined || etcd.max === 0))
        continue;
      const ratio =
        etcd === undefined || etcd.median === 0 ? undefined : etcdBun.median / etcd.median;
      rows.push({ workload: w.title, metric: m.label, key: m.key, etcdBun, etcd, ratio });
    }
  }
  return rows;
}

function digitsFor(key: string, workloads: readonly Workload[]): number {
  for (const w of workloads) for (const m of w.metrics) if (m.key === key) return m.digits;
  return 2;
}

function cell(s: Summary | undefined, digits: number): string {
  if (s === undefined) return "–";
  const f = (x: number) => x.toFixed(digits);
  return s.samples.length > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

/** A Markdown table: one row per workload and figure. */
export function formatTable(rows: readonly MetricRow[], workloads: readonly Workload[]): string {
  const lines = [
    "| workload | figure | etcd-bun median (min–max) | etcd median (min–max) | etcd-bun / etcd |",
    "|---|---|---|---|---|",
  ];
  let previous = "";
  for (const r of rows) {
    const digits =
      COMMON_METRICS.find((m) => m.key === r.key)?.digits ?? digitsFor(r.key, workloads);
    const name = r.workload === previous ? "" : r.workload;
    previous = r.workload;
    const ratio =
      r.ratio === undefined || !Number.isFinite(r.ratio) ? "–" : `${r.ratio.toFixed(2)}×`;
    lines.push(
      `| ${name} | ${r.metric} | ${cell(r.etcdBun, digits)} | ${cell(r.etcd, digits)} | ${ratio} |`,
    );
  }
  return lines.join("\n");
}

export function buildJson(args: {
  options: BenchOptions;
  workloads: readonly Workload[];
  results: Results;
  rows: readonly MetricRow[];
  machine: Record<string, string | number>;
}) {
  const { options, workloads, results, rows, machine } = args;
  return {
    command: `bun bench/main.ts ${process.argv.slice(2).join(" ")}`.trim(),
    date: new Date().toISOString(),
    machine,
    options,
    workloads: workloads
      .filter((w) => results.has(w.id))
      .map((w) => ({
        id: w.id,
        title: w.title,
        members: w.members,
        driver: w.driver,
        runs: Object.fromEntries(results.get(w.id) ?? new Map()),
      })),
    table: rows,
  };
}
