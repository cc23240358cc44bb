/**
 * Counts fdatasync/fsync calls of running members with `strace -f -c -e trace=fdatasync,fsync
 * -p PID…` while a workload runs. ptrace stops the tracee at every syscall (attaching cannot use
 * --seccomp-bpf), so the traced servers run slower than untraced ones: the count per write is
 * the figure of interest, not the throughput during the trace.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { trackProcess } from "./procs.ts";

export const STRACE = "/usr/bin/strace";
/** Time for strace to attach to every thread before the workload starts. */
const ATTACH_MS = 700;

export async function countSyncs<T>(
  pids: readonly number[],
  outDir: string,
  workload: () => Promise<T>,
): Promise<{ syncs: number; result: T }> {
  const out = join(outDir, `strace-${Date.now()}.txt`);
  const args = [STRACE, "-f", "-c", "-e", "trace=fdatasync,fsync", "-o", out];
  for (const pid of pids) args.push("-p", String(pid));
  const proc = Bun.spawn(args, { stdout: "ignore", stderr: "pipe" });
  trackProcess(proc);
  await Bun.sleep(ATTACH_MS);
  if (proc.exitCode !== null) {
    throw new Error(`strace exited: ${await new Response(proc.stderr).text()}`);
  }
  const result = await workload();
  process.kill(proc.pid, "SIGINT");
  await proc.exited;
  return { syncs: parseCalls(readFileSync(out, "utf8")), result };
}

/** Sums the "calls" column of the fdatasync and fsync rows of a `strace -c` summary. */
function parseCalls(summary: string): number {
  let calls = 0;
  for (const line of summary.split("\n")) {
    const cols = line.trim().split(/\s+/);
    const name = cols[cols.length - 1];
    if (name !== "fdatasync" && name !== "fsync") continue;
    // % time, seconds, usecs/call, calls, [errors], syscall
    calls += Number(cols[3]);
  }
  return calls;
}
