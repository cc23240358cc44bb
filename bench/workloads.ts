/**
 * The workloads: what each measures and how. Each has an optional `prepare` (once per cluster)
 * and a `measure` (once per repeat, warm-up included) returning named figures. The runner owns
 * clusters, ordering and repeats; this module must not start or stop clusters.
 */
import { cpus } from "node:os";
import { type FillJob, VALUE_BYTES } from "./bun-client.ts";
import { runClient } from "./client-process.ts";
import { type Cluster, restartMember } from "./cluster.ts";
import { countSyncs } from "./fsync-count.ts";
import type { BenchOptions } from "./options.ts";
import { cpuSeconds, diskUsageBytes, machineJiffies, rssBytes } from "./procs.ts";
import type { SeqJob, SeqResult } from "./seq-client.ts";
import type { WatchJob, WatchResult } from "./watch-client.ts";
import { runWrk, type WrkMode, type WrkResult } from "./wrk-driver.ts";

export type Figures = Record<string, number>;

export interface MetricSpec {
  readonly key: string;
  readonly label: string;
  readonly digits: number;
}

export interface BenchContext {
  readonly cluster: Cluster;
  readonly options: BenchOptions;
  /** Scratch directory for strace output and the like (removed at the end). */
  readonly scratchDir: string;
}

export interface Workload {
  readonly id: string;
  readonly title: string;
  readonly members: 1 | 3;
  /** "fresh": needs clusters of its own (memory, restart), started after the others. */
  readonly phase: "shared" | "fresh";
  readonly driver: string;
  readonly metrics: readonly MetricSpec[];
  prepare?(ctx: BenchContext): Promise<void>;
  measure(ctx: BenchContext, repeat: number): Promise<Figures>;
}

const WRK_DRIVER = "wrk (C, epoll) + bench/wrk/etcd-v2.lua, separate process";
const BUN_DRIVER = "bench/bun-client.ts (Bun fetch), separate process";
const SEQ_DRIVER =
  "bench/seq-client.ts (Bun, one raw TCP connection, every latency), separate process";
const GET_KEYS = 1000;
const PUT_KEYS = 10_000;
const PUT_PREFIX = "/v2/keys/bench-put/";

const RATE: MetricSpec = { key: "perSec", label: "req/s", digits: 0 };
const WRITES: MetricSpec = { key: "perSec", label: "writes/s", digits: 0 };
const P50: MetricSpec = { key: "p50Ms", label: "p50 ms", digits: 2 };
const P99: MetricSpec = { key: "p99Ms", label: "p99 ms", digits: 2 };

async function leaderUrl(cluster: Cluster): Promise<string> {
  return cluster.members[await cluster.leaderIndex()]?.clientUrl ?? "";
}

function pidsOf(cluster: Cluster): number[] {
  const proxy = cluster.runningProxy;
  return [...cluster.members, ...(proxy ? [proxy] : [])].map((m) => m.proc.pid);
}

/** Runs `fn` and adds the servers' and the driver's CPU use, in cores (CPU-seconds per second). */
async function withCpu(
  cluster: Cluster,
  fn: () => Promise<{ figures: Figures; driverCpuSec: number }>,
): Promise<Figures> {
  const pids = pidsOf(cluster);
  const before = pids.map(cpuSeconds);
  const machineBefore = machineJiffies();
  const started = performance.now();
  const { figures, driverCpuSec } = await fn();
  const wallSec = (performance.now() - started) / 1000;
  const serverSec = pids.map(cpuSeconds).reduce((sum, s, i) => sum + s - (before[i] ?? 0), 0);
  const machineAfter = machineJiffies();
  // Busy share of all cores, times the core count: includes other tenants of a shared machine.
  const machineCpu =
    ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) *
    cpus().length;
  return {
    ...figures,
    serverCpu: serverSec / wallSec,
    driverCpu: driverCpuSec / wallSec,
    machineCpu,
  };
}

function wrkFigures(r: WrkResult): Figures {
  return {
    perSec: r.perSec,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors,
    connections: r.connections,
  };
}

async function wrkMeasure(
  ctx: BenchContext,
  run: {
    urls: string[];
    connections: number;
    mode: WrkMode;
    prefix: string;
    keys: number;
    authorization?: string;
  },
) {
  await runWrk({ ...run, durationMs: ctx.options.warmupMs });
  return await withCpu(ctx.cluster, async () => {
    const r = await runWrk({ ...run, durationMs: ctx.options.runMs });
    return { figures: wrkFigures(r), driverCpuSec: r.driverCpuSec };
  });
}

async function fill(url: string, prefix: string, count: number) {
  const job: FillJob = { mode: "fill", url, prefix, count, concurrency: 64 };
  return (await runClient<{ perSec: number }>(job)).result;
}

type PutSpread = "one" | "spread" | "leader";

function putWorkload(members: 1 | 3, connections: number, spread: PutSpread): Workload {
  const where =
    spread === "one" ? "" : spread === "spread" ? ", spread over members" : ", all to leader";
  const sequential = connections === 1;
  return {
    id: `${members}m-put-c${connections}${spread === "one" ? "" : `-${spread}`}`,
    title: `${members}m PUT ${sequential ? "sequential, 1 client" : `${connections} conns${where}`}`,
    members,
    phase: "shared",
    driver: sequential ? SEQ_DRIVER : WRK_DRIVER,
    metrics: [WRITES, P50, P99],
    async measure(ctx) {
      const urls =
        spread === "spread"
          ? ctx.cluster.members.map((m) => m.clientUrl)
          : [await leaderUrl(ctx.cluster)];
      if (sequential) return await sequentialMeasure(ctx, urls[0] ?? "");
      return await wrkMeasure(ctx, {
        urls,
        connections,
        mode: "put",
        prefix: PUT_PREFIX,
        keys: PUT_KEYS,
      });
    },
  };
}

/** One client, one request at a time (seq-client.ts says why this is not wrk). */
async function sequentialMeasure(ctx: BenchContext, url: string): Promise<Figures> {
  const job = (durationMs: number): SeqJob => ({
    mode: "seq",
    url,
    prefix: PUT_PREFIX,
    keys: PUT_KEYS,
    valueBytes: VALUE_BYTES,
    durationMs,
  });
  await runClient<SeqResult>(job(ctx.options.warmupMs));
  return await withCpu(ctx.cluster, async () => {
    const { result: r, driverCpuSec } = await runClient<SeqResult>(job(ctx.options.runMs));
    const figures: Figures = {
      perSec: r.requests / (r.durationUs / 1e6),
      p50Ms: r.p50Us / 1000,
      p99Ms: r.p99Us / 1000,
      errors: r.errors,
      connections: 1,
    };
    return { figures, driverCpuSec };
  });
}

function getWorkload(members: 1 | 3, quorum: boolean): Workload {
  return {
    id: `${members}m-${quorum ? "qget" : "get"}-c64`,
    title: `${members}m GET${quorum ? " quorum=true" : ""} 64 conns${members > 1 ? ", spread" : ""}`,
    members,
    phase: "shared",
    driver: WRK_DRIVER,
    metrics: [RATE, P50, P99],
    async prepare(ctx) {
      await fill(await leaderUrl(ctx.cluster), "bench-get/", GET_KEYS);
    },
    async measure(ctx) {
      const urls = ctx.cluster.members.map((m) => m.clientUrl);
      const mode = quorum ? "qget" : "get";
      return await wrkMeasure(ctx, {
        urls,
        connections: 64,
        mode,
        prefix: "/v2/keys/bench-get/",
        keys: GET_KEYS,
      });
    },
  };
}

function recursiveGetWorkload(members: 1 | 3): Workload {
  return {
    id: `${members}m-rget`,
    title: `${members}m GET dir of N keys ?recursive&sorted, 1 client`,
    members,
    phase: "shared",
    driver: WRK_DRIVER,
    metrics: [P50, P99, RATE],
    async prepare(ctx) {
      await fill(await leaderUrl(ctx.cluster), "bench-dir/", ctx.options.dirKeys);
    },
    async measure(ctx) {
      const urls = [await leaderUrl(ctx.cluster)];
      const prefix = "/v2/keys/bench-dir?recursive=true&sorted=true";
      return await wrkMeasure(ctx, { urls, connections: 1, mode: "path", prefix, keys: 1 });
    },
  };
}

/** Watch fan-out: about 10,000 notifications/s in total, at most 100 writes/s. */
function watchWorkload(members: 1 | 3, watchers: number): Workload {
  return {
    id: `${members}m-watch-${watchers}`,
    title: `${members}m watch fan-out, ${watchers} watchers${members > 1 ? " spread" : ""}`,
    members,
    phase: "shared",
    driver: BUN_DRIVER,
    metrics: [P50, P99, { key: "missed", label: "missed events", digits: 0 }],
    async measure(ctx, repeat) {
      const writesPerSec = Math.min(100, 10_000 / watchers);
      const job: WatchJob = {
        mode: "watch",
        urls: ctx.cluster.members.map((m) => m.clientUrl),
        writerUrl: await leaderUrl(ctx.cluster),
        dir: `bench-watch-${watchers}-${repeat}-${Date.now()}`,
        watchers,
        writes: Math.max(5, Math.round((writesPerSec * ctx.options.runMs) / 1000)),
        writesPerSec,
      };
      return await withCpu(ctx.cluster, async () => {
        const { result, driverCpuSec } = await runClient<WatchResult>(job);
        return { figures: { ...result }, driverCpuSec };
      });
    },
  };
}

function fsyncWorkload(members: 1 | 3): Workload {
  return {
    id: `${members}m-fsync`,
    title: `${members}m fdatasync per acked write (PUT 64 conns to leader, under strace)`,
    members,
    phase: "shared",
    driver: `${WRK_DRIVER}; strace -f -c attached to every member`,
    metrics: [
      { key: "syncsPerWrite", label: "fdatasync+fsync per write per member", digits: 3 },
      { key: "perSec", label: "writes/s while traced", digits: 0 },
    ],
    async measure(ctx) {
      const urls = [await leaderUrl(ctx.cluster)];
      const run = {
        urls,
        connections: 64,
        mode: "put" as const,
        prefix: PUT_PREFIX,
        keys: PUT_KEYS,
      };
      await runWrk({ ...run, durationMs: ctx.options.warmupMs });
      const traced = await countSyncs(pidsOf(ctx.cluster), ctx.scratchDir, () =>
        runWrk({ ...run, durationMs: ctx.options.runMs }),
      );
      const writes = traced.result.requests;
      return {
        perSec: traced.result.perSec,
        syncs: traced.syncs,
        syncsPerWrite: traced.syncs / members / writes,
      };
    },
  };
}

function memoryWorkload(members: 1 | 3): Workload {
  return {
    id: `${members}m-memory`,
    title: `${members}m memory after N keys of 256 B (fresh cluster)`,
    members,
    phase: "fresh",
    driver: `${BUN_DRIVER} (64 concurrent PUTs to fill)`,
    metrics: [
      { key: "rssMiB", label: "RSS MiB (max member)", digits: 0 },
      { key: "dataDirMiB", label: "data dir MiB (max member, du)", digits: 0 },
      { key: "fillPerSec", label: "fill writes/s (64 conns)", digits: 0 },
    ],
    async prepare(ctx) {
      const r = await fill(await leaderUrl(ctx.cluster), "bench-mem/", ctx.options.memoryKeys);
      fillRates.set(ctx.cluster, r.perSec);
    },
    async measure(ctx) {
      await Bun.sleep(1000);
      const rss = ctx.cluster.members.map((m) => rssBytes(m.proc.pid));
      const disk = ctx.cluster.members.map((m) => diskUsageBytes(m.dataDir));
      const mib = (xs: number[]) => Math.max(...xs) / 2 ** 20;
      return {
        rssMiB: mib(rss),
        dataDirMiB: mib(disk),
        fillPerSec: fillRates.get(ctx.cluster) ?? 0,
      };
    },
  };
}

const fillRates = new Map<Cluster, number>();

/** Watch fan-out with every watcher connected to a proxy (the writer goes to the leader). */
function proxyWatchWorkload(watchers: number): Workload {
  return {
    id: `1m-proxy-watch-${watchers}`,
    title: `1m watch fan-out through a proxy, ${watchers} watchers`,
    members: 1,
    phase: "shared",
    driver: BUN_DRIVER,
    metrics: [
      P50,
      P99,
      { key: "missed", label: "missed events", digits: 0 },
      { key: "proxyRssMiB", label: "proxy RSS MiB", digits: 0 },
    ],
    async prepare(ctx) {
      await ctx.cluster.proxy();
    },
    async measure(ctx, repeat) {
      const proxy = await ctx.cluster.proxy();
      const writesPerSec = Math.min(100, 10_000 / watchers);
      const job: WatchJob = {
        mode: "watch",
        urls: [proxy.clientUrl],
        writerUrl: await leaderUrl(ctx.cluster),
        dir: `bench-proxy-watch-${watchers}-${repeat}-${Date.now()}`,
        watchers,
        writes: Math.max(5, Math.round((writesPerSec * ctx.options.runMs) / 1000)),
        writesPerSec,
      };
      return await withCpu(ctx.cluster, async () => {
        const { result, driverCpuSec } = await runClient<WatchResult>(job);
        const proxyRssMiB = rssBytes(proxy.proc.pid) / 2 ** 20;
        return { figures: { ...result, proxyRssMiB }, driverCpuSec };
      });
    },
  };
}

/** PUT or GET at 64 connections through a proxy of the cluster's own kind. */
function proxyWorkload(mode: "put" | "get"): Workload {
  return {
    id: `1m-proxy-${mode}-c64`,
    title: `1m ${mode.toUpperCase()} 64 conns through a proxy (--proxy on)`,
    members: 1,
    phase: "shared",
    driver: WRK_DRIVER,
    metrics: [mode === "put" ? WRITES : RATE, P50, P99],
    async prepare(ctx) {
      await ctx.cluster.proxy();
      if (mode === "get") await fill(await leaderUrl(ctx.cluster), "bench-proxy-get/", GET_KEYS);
    },
    async measure(ctx) {
      const proxy = await ctx.cluster.proxy();
      return await wrkMeasure(ctx, {
        urls: [proxy.clientUrl],
        connections: 64,
        mode,
        prefix: mode === "put" ? PUT_PREFIX : "/v2/keys/bench-proxy-get/",
        keys: mode === "put" ? PUT_KEYS : GET_KEYS,
      });
    },
  };
}

const AUTH_USER = "bench";
const AUTH_PASSWORD = "bench-password";
const ROOT_AUTH = `Basic ${btoa("root:bench-root")}`;

/** Creates a root user and a user whose role may read and write the bench keys. */
async function authSetUp(url: string): Promise<void> {
  const put = async (path: string, body: unknown, ok: number[]) => {
    const res = await fetch(`${url}${path}`, {
      method: "PUT",
      headers: { authorization: ROOT_AUTH, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!ok.includes(res.status)) throw new Error(`PUT ${path}: ${res.status} ${text}`);
  };
  await put("/v2/auth/users/root", { user: "root", password: "bench-root" }, [200, 201]);
  const patterns = ["/bench-put/*", "/bench-auth-get/*"];
  const permissions = { kv: { read: patterns, write: patterns } };
  await put("/v2/auth/roles/bench", { role: "bench", permissions }, [201, 409]);
  const user = { user: AUTH_USER, password: AUTH_PASSWORD, roles: ["bench"] };
  await put(`/v2/auth/users/${AUTH_USER}`, user, [200, 409]);
}

async function setAuth(url: string, on: boolean): Promise<void> {
  const res = await fetch(`${url}/v2/auth/enable`, {
    method: on ? "PUT" : "DELETE",
    headers: { authorization: ROOT_AUTH },
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`auth ${on ? "enable" : "disable"}: ${res.status}`);
}

/**
 * PUT and GET at 64 connections on one member, without auth and then with auth on (as a user
 * with a role, Basic credentials on every request), side by side in the same repeat: the
 * ratio is what auth costs. Auth is turned off again at the end.
 */
function authWorkload(): Workload {
  return {
    id: "1m-auth-c64",
    title: "1m PUT and GET 64 conns, auth off vs on (Basic, a user with a role)",
    members: 1,
    phase: "shared",
    driver: WRK_DRIVER,
    metrics: [
      { key: "putPerSec", label: "PUT/s auth off", digits: 0 },
      { key: "putAuthPerSec", label: "PUT/s auth on", digits: 0 },
      { key: "putRatio", label: "PUT on/off", digits: 2 },
      { key: "getPerSec", label: "GET/s auth off", digits: 0 },
      { key: "getAuthPerSec", label: "GET/s auth on", digits: 0 },
      { key: "getRatio", label: "GET on/off", digits: 2 },
    ],
    async prepare(ctx) {
      const url = await leaderUrl(ctx.cluster);
      await fill(url, "bench-auth-get/", GET_KEYS);
      await authSetUp(url);
    },
    async measure(ctx, repeat) {
      const url = await leaderUrl(ctx.cluster);
      const authorization = `Basic ${btoa(`${AUTH_USER}:${AUTH_PASSWORD}`)}`;
      const put = { urls: [url], connections: 64, mode: "put" as const, prefix: PUT_PREFIX };
      const get = { urls: [url], connections: 64, mode: "get" as const };
      const getPrefix = "/v2/keys/bench-auth-get/";
      const runBoth = async (auth: string | undefined) => ({
        put: await wrkMeasure(ctx, {
          ...put,
          keys: PUT_KEYS,
          ...(auth && { authorization: auth }),
        }),
        get: await wrkMeasure(ctx, {
          ...get,
          prefix: getPrefix,
          keys: GET_KEYS,
          ...(auth && { authorization: auth }),
        }),
      });
      // Odd repeats measure with auth first: a snapshot or a slow spell of a shared machine
      // then does not always fall on the same side.
      const authFirst = repeat % 2 === 1;
      let off: { put: Figures; get: Figures } | undefined;
      if (!authFirst) off = await runBoth(undefined);
      await setAuth(url, true);
      let on: { put: Figures; get: Figures };
      try {
        on = await runBoth(authorization);
      } finally {
        await setAuth(url, false);
      }
      off ??= await runBoth(undefined);
      const rate = (f: Figures) => f.perSec ?? 0;
      const errors = [off.put, off.get, on.put, on.get].reduce((n, f) => n + (f.errors ?? 0), 0);
      return {
        putPerSec: rate(off.put),
        putAuthPerSec: rate(on.put),
        putRatio: rate(on.put) / rate(off.put),
        getPerSec: rate(off.get),
        getAuthPerSec: rate(on.get),
        getRatio: rate(on.get) / rate(off.get),
        errors,
        serverCpu: on.put.serverCpu ?? 0,
      };
    },
  };
}

function restartWorkload(members: 1 | 3): Workload {
  return {
    id: `${members}m-restart`,
    title: `${members}m restart with N keys: spawn → first GET 200${members > 1 ? " (a follower)" : ""}`,
    members,
    phase: "fresh",
    driver: "bench process polls GET every 5 ms",
    metrics: [{ key: "restartMs", label: "ms to serve", digits: 0 }],
    async measure(ctx) {
      const leader = await ctx.cluster.leaderIndex();
      const index = members === 1 ? 0 : (leader + 1) % members;
      const member = ctx.cluster.members[index];
      if (member === undefined) throw new Error("no member to restart");
      const restartMs = await restartMember(member, "/v2/keys/bench-mem/k0");
      await ctx.cluster.leaderIndex();
      return { restartMs };
    },
  };
}

/**
 * Brings a freshly started cluster to steady state before its first measured run: etcd-bun's
 * JIT compiles the hot paths during the first seconds of load (a cold 3-member cluster served
 * sequential PUTs ~20% slower in its first 5 s than later). Both server kinds get the same
 * load: PUTs (64 connections, then 1) to the leader, then GETs and quorum GETs spread over the
 * members, on keys of their own. Not used before the memory and restart clusters.
 */
export async function warmUp(cluster: Cluster, totalMs: number): Promise<void> {
  const leader = await leaderUrl(cluster);
  const all = cluster.members.map((m) => m.clientUrl);
  const ms = (share: number) => Math.max(1000, Math.round(share * totalMs));
  const prefix = "/v2/keys/bench-warmup/";
  const keys = GET_KEYS;
  await runWrk({ urls: [leader], connections: 64, mode: "put", prefix, keys, durationMs: ms(0.3) });
  await runWrk({ urls: [leader], connections: 1, mode: "put", prefix, keys, durationMs: ms(0.2) });
  await fill(leader, "bench-warmup/", keys);
  await runWrk({ urls: all, connections: 64, mode: "get", prefix, keys, durationMs: ms(0.3) });
  await runWrk({ urls: all, connections: 64, mode: "qget", prefix, keys, durationMs: ms(0.2) });
}

export function allWorkloads(): Workload[] {
  const list: Workload[] = [];
  for (const members of [1, 3] as const) {
    list.push(putWorkload(members, 1, members === 1 ? "one" : "leader"));
    for (const c of [16, 64, 256]) {
      if (members === 1) list.push(putWorkload(1, c, "one"));
      else list.push(putWorkload(3, c, "spread"), putWorkload(3, c, "leader"));
    }
    list.push(
      getWorkload(members, false),
      getWorkload(members, true),
      recursiveGetWorkload(members),
    );
    list.push(watchWorkload(members, 100), watchWorkload(members, 1000), fsyncWorkload(members));
    list.push(memoryWorkload(members), restartWorkload(members));
  }
  list.push(proxyWorkload("put"), proxyWorkload("get"), proxyWatchWorkload(1000));
  list.push(authWorkload());
  return list;
}
