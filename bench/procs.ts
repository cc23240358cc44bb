/**
 * Everything the bench starts is registered here, so it can be stopped by PID and its
 * directories removed at the end, on an error, and on Ctrl-C (SIGINT/SIGTERM). Also reads
 * per-process figures from /proc (CPU time, RSS) and directory sizes.
 */
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

const live = new Set<Subprocess>();
const dirs = new Set<string>();

export function trackProcess(proc: Subprocess): void {
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
}

export function trackDir(dir: string): void {
  dirs.add(dir);
}

/** SIGKILLs one tracked process by its PID and waits for it to exit. */
export async function killProcess(proc: Subprocess): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, "SIGKILL");
  await proc.exited;
  live.delete(proc);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Synchronous so it also works from a signal handler right before exit. */
export function cleanupAll(): void {
  for (const proc of live) {
    try {
      process.kill(proc.pid, "SIGKILL");
    } catch (error) {
      // Already gone (ESRCH) is fine; anything else is worth a line.
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") console.error(error);
    }
  }
  live.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

export function installSignalCleanup(): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping every process the bench started\n`);
      cleanupAll();
      process.exit(130);
    });
  }
}

const CLOCK_TICKS_PER_SEC = 100;

/** utime+stime of a live process and all its threads, in seconds (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC;
  } catch {
    return 0;
  }
}

/** Resident set size of a live process in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** Bytes allocated on disk under `dir` (like `du -s`: blocks, not apparent size). */
export function diskUsageBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += diskUsageBytes(path);
    else total += statSync(path).blocks * 512;
  }
  return total;
}

/** Busy and total jiffies of the whole machine, from the first line of /proc/stat. */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Runs a driver process to completion and returns the JSON object it printed on a line of its
 * own, with the CPU seconds it used. Fails (with its output) on a non-zero exit or no JSON.
 */
export async function runJsonProcess<T>(
  label: string,
  argv: string[],
  env: Record<string, string>,
): Promise<{ json: T; driverCpuSec: number }> {
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  trackProcess(proc);
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  await proc.exited;
  const line = stdout.split("\n").find((l) => l.startsWith("{"));
  if (proc.exitCode !== 0 || line === undefined) {
    throw new Error(`${label} failed (exit ${proc.exitCode}): ${stderr}\n${stdout}`);
  }
  const usage = proc.resourceUsage();
  const driverCpuSec = usage === undefined ? 0 : Number(usage.cpuTime.total) / 1e6;
  return { json: JSON.parse(line) as T, driverCpuSec };
}
