/**
 * Runs bench/bun-client.ts as a separate Bun process for one job and returns its JSON result
 * and the CPU seconds it used.
 */
import { resolve } from "node:path";
import type { ClientJob } from "./bun-client.ts";
import { trackProcess } from "./procs.ts";

const CLIENT = resolve(import.meta.dir, "bun-client.ts");
/** Bun's fetch keeps at most 256 requests in flight unless told otherwise (1,000 watchers). */
const MAX_HTTP_REQUESTS = "4096";

export async function runClient<T>(job: ClientJob): Promise<{ result: T; driverCpuSec: number }> {
  const proc = Bun.spawn([process.execPath, CLIENT, JSON.stringify(job)], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: MAX_HTTP_REQUESTS },
  });
  trackProcess(proc);
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  await proc.exited;
  const line = stdout.split("\n").find((l) => l.startsWith("{"));
  if (proc.exitCode !== 0 || line === undefined) {
    throw new Error(`bun-client ${job.mode} failed (exit ${proc.exitCode}):\n${stderr}`);
  }
  const usage = proc.resourceUsage();
  return {
    result: JSON.parse(line) as T,
    driverCpuSec: usage === undefined ? 0 : Number(usage.cpuTime.total) / 1e6,
  };
}
