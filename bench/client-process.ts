/**
 * Runs bench/bun-client.ts as a separate Bun process for one job and returns its JSON result
 * and the CPU seconds it used.
 */
import { resolve } from "node:path";
import type { ClientJob } from "./bun-client.ts";
import { runJsonProcess } from "./procs.ts";

const CLIENT = resolve(import.meta.dir, "bun-client.ts");
/** Bun's fetch keeps at most 256 requests in flight unless told otherwise (1,000 watchers). */
const MAX_HTTP_REQUESTS = "4096";

export async function runClient<T>(job: ClientJob): Promise<{ result: T; driverCpuSec: number }> {
  const { json, driverCpuSec } = await runJsonProcess<T>(
    `bun-client ${job.mode}`,
    [process.execPath, CLIENT, JSON.stringify(job)],
    { BUN_CONFIG_MAX_HTTP_REQUESTS: MAX_HTTP_REQUESTS },
  );
  return { result: json, driverCpuSec };
}
