/**
 * A multi-connection Bun client run as its own process (so its CPU is not the bench's nor the
 * servers'): `bun bench/bun-client.ts '<json ClientJob>'` prints one JSON result line.
 *   fill:  PUT `count` keys `<prefix>k<n>` with 256-byte values over `concurrency` connections.
 *   watch: `watchers` long-poll watchers on a dir (spread over `urls`) while one writer PUTs
 *          `writes` timestamped values at `writesPerSec`; see watch-client.ts.
 *   seq:   sequential PUTs over one raw keep-alive connection; see seq-client.ts.
 * Bun's fetch allows 256 requests in flight by default; the parent raises it with
 * BUN_CONFIG_MAX_HTTP_REQUESTS for 1,000 watchers.
 */
import { runSequential, type SeqJob } from "./seq-client.ts";
import { runWatch, type WatchJob } from "./watch-client.ts";

export interface FillJob {
  readonly mode: "fill";
  readonly url: string;
  readonly prefix: string;
  readonly count: number;
  readonly concurrency: number;
}

export type ClientJob = FillJob | WatchJob | SeqJob;

export const VALUE_BYTES = 256;
const FORM = { "content-type": "application/x-www-form-urlencoded" };

export async function put(url: string, key: string, value: string): Promise<number> {
  const res = await fetch(`${url}/v2/keys/${key}`, {
    method: "PUT",
    body: `value=${value}`,
    headers: FORM,
  });
  const body = (await res.json()) as { node?: { modifiedIndex?: number } };
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${key}: ${res.status}`);
  return body.node?.modifiedIndex ?? 0;
}

async function runFill(job: FillJob) {
  const value = "f".repeat(VALUE_BYTES);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let n = next++; n < job.count; n = next++) await put(job.url, `${job.prefix}k${n}`, value);
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { keys: job.count, seconds, perSec: job.count / seconds };
}

if (import.meta.main) {
  const job = JSON.parse(process.argv[2] ?? "{}") as ClientJob;
  const result =
    job.mode === "fill"
      ? await runFill(job)
      : job.mode === "seq"
        ? await runSequential(job)
        : await runWatch(job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
