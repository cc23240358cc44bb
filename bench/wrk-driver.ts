/**
 * Load driver for request/response workloads: Debian's wrk (C, epoll, one thread per member or
 * up to two for one host) with bench/wrk/etcd-v2.lua. It runs in its own process, so its CPU
 * time is measured separately from the servers'.
 */
import { resolve } from "node:path";
import { runJsonProcess } from "./procs.ts";

const SCRIPT = resolve(import.meta.dir, "wrk/etcd-v2.lua");
export const WRK = "/usr/bin/wrk";
/** Threads per wrk process when every connection goes to one host: one per core here. */
const SINGLE_HOST_THREADS = 2;

export type WrkMode = "put" | "get" | "qget" | "path";

export interface WrkRun {
  /** Client URLs; threads are pinned one per URL, connections split evenly between them. */
  readonly urls: readonly string[];
  readonly connections: number;
  readonly mode: WrkMode;
  /** Path prefix of the keys (or the full path with mode "path"). */
  readonly prefix: string;
  readonly keys: number;
  readonly durationMs: number;
  /** Authorization header value sent with every request. */
  readonly authorization?: string;
}

export interface WrkResult {
  readonly requests: number;
  /** Connections actually opened (rounded down to a multiple of the thread count). */
  readonly connections: number;
  readonly perSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx/3xx answers, socket errors and timeouts. */
  readonly errors: number;
  readonly driverCpuSec: number;
}

interface WrkJson {
  requests: number;
  durationUs: number;
  errConnect: number;
  errRead: number;
  errWrite: number;
  errStatus: number;
  errTimeout: number;
  p50Us: number;
  p99Us: number;
}

export function threadsFor(run: Pick<WrkRun, "urls" | "connections">): number {
  return run.urls.length > 1 ? run.urls.length : Math.min(SINGLE_HOST_THREADS, run.connections);
}

export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const threads = threadsFor(run);
  const connections = Math.floor(run.connections / threads) * threads;
  const hosts = run.urls.map((u) => new URL(u).host).join(",");
  const durationSec = Math.max(1, Math.round(run.durationMs / 1000));
  const args = [WRK, `-t${threads}`, `-c${connections}`, `-d${durationSec}s`, "--timeout", "10s"];
  args.push("-s", SCRIPT, run.urls[0] ?? "", "--", run.mode, run.prefix, String(run.keys));
  const { json: j, driverCpuSec } = await runJsonProcess<WrkJson>("wrk", args, {
    WRK_HOSTS: hosts,
    WRK_AUTH: run.authorization ?? "",
  });
  return {
    requests: j.requests,
    connections,
    perSec: j.requests / (j.durationUs / 1e6),
    p50Ms: j.p50Us / 1000,
    p99Ms: j.p99Us / 1000,
    errors: j.errConnect + j.errRead + j.errWrite + j.errStatus + j.errTimeout,
    driverCpuSec,
  };
}
