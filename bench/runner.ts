/**
 * Runs the selected workloads: per topology, first the workloads sharing one cluster per server
 * kind, then those needing fresh clusters. Server kinds are interleaved run by run (etcd-bun,
 * etcd, etcd-bun, …) so both see the same machine load. Every cluster is stopped on the way out.
 */
import { type Cluster, type ServerKind, startCluster } from "./cluster.ts";
import type { BenchOptions } from "./options.ts";
import { Progress } from "./progress.ts";
import { type BenchContext, type Figures, type Workload, warmUp } from "./workloads.ts";

/** results.get(workload id).get(kind) = figures of each repeat. */
export type Results = Map<string, Map<ServerKind, Figures[]>>;

interface Group {
  readonly members: 1 | 3;
  readonly phase: Workload["phase"];
  readonly workloads: readonly Workload[];
}

function groups(workloads: readonly Workload[]): Group[] {
  const out: Group[] = [];
  for (const members of [1, 3] as const) {
    for (const phase of ["shared", "fresh"] as const) {
      const ws = workloads.filter((w) => w.members === members && w.phase === phase);
      if (ws.length > 0) out.push({ members, phase, workloads: ws });
    }
  }
  return out;
}

export async function runAll(
  workloads: readonly Workload[],
  kinds: readonly ServerKind[],
  options: BenchOptions,
  rootDir: string,
): Promise<Results> {
  const results: Results = new Map();
  const stepsPerWorkload = kinds.length * (options.repeats + 1);
  const progress = new Progress(workloads.length * stepsPerWorkload);
  for (const group of groups(workloads)) {
    progress.log(`— ${group.members}-member clusters: ${kinds.join(", ")}`);
    const clusters: Cluster[] = [];
    try {
      for (const kind of kinds) clusters.push(await startCluster(kind, group.members, rootDir));
      if (group.phase === "shared") {
        for (const c of clusters) {
          progress.log(`${c.kind} · ${group.members}-member cluster · warm-up`);
          await warmUp(c, options.clusterWarmupMs);
        }
      }
      for (const w of group.workloads)
        await runWorkload(w, clusters, { options, rootDir, progress, results });
    } finally {
      await Promise.all(clusters.map((c) => c.stop()));
    }
  }
  return results;
}

interface RunState {
  readonly options: BenchOptions;
  readonly rootDir: string;
  readonly progress: Progress;
  readonly results: Results;
}

async function runWorkload(w: Workload, clusters: readonly Cluster[], s: RunState) {
  const byKind = new Map<ServerKind, Figures[]>();
  s.results.set(w.id, byKind);
  const ctxOf = (cluster: Cluster): BenchContext => ({
    cluster,
    options: s.options,
    scratchDir: s.rootDir,
  });
  for (const cluster of clusters) {
    byKind.set(cluster.kind, []);
    s.progress.step(`${cluster.kind} · ${w.title} · prepare`);
    const started = performance.now();
    await w.prepare?.(ctxOf(cluster));
    s.progress.finish(
      `${cluster.kind} · ${w.id} · prepared in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  for (let repeat = 0; repeat < s.options.repeats; repeat++) {
    for (const cluster of clusters) {
      s.progress.step(`${cluster.kind} · ${w.title} · run ${repeat + 1}/${s.options.repeats}`);
      const figures = await w.measure(ctxOf(cluster), repeat);
      byKind.get(cluster.kind)?.push(figures);
      s.progress.finish(`${cluster.kind} · ${w.id} · ${describe(figures)}`);
    }
  }
}

function describe(figures: Figures): string {
  return Object.entries(figures)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`)
    .join(" ");
}
