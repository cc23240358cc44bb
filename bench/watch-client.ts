/**
 * Watch fan-out, inside the bun-client process. The writer stamps `performance.now()` into each
 * value (padded to 256 bytes); each watcher long-polls `<dir>?wait=true&recursive=true&waitIndex=i`,
 * takes now - stamp when the poll returns, and re-arms with waitIndex = modifiedIndex + 1, so no
 * event can be skipped unless the server drops it. Misses are the writer's indexes a watcher never
 * saw (index gaps, or an "event index cleared" error).
 */
import { put, VALUE_BYTES } from "./bun-client.ts";
import { percentile } from "./stats.ts";

export interface WatchJob {
  readonly mode: "watch";
  /** Watchers go round-robin over these; the writer uses writerUrl. */
  readonly urls: readonly string[];
  readonly writerUrl: string;
  readonly dir: string;
  readonly watchers: number;
  readonly writes: number;
  readonly writesPerSec: number;
}

export interface WatchResult {
  readonly notifications: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly missed: number;
  readonly errors: number;
}

/** How long watchers may lag behind the last write before the run is cut off. */
const DRAIN_TIMEOUT_MS = 10_000;

interface WatchEvent {
  node?: { modifiedIndex?: number; value?: string };
  errorCode?: number;
  index?: number;
}

async function watcher(job: WatchJob, url: string, firstIndex: number, state: WatchState) {
  const seen = new Set<number>();
  let waitIndex = firstIndex;
  while (state.lastIndex === 0 || waitIndex <= state.lastIndex) {
    const path = `${url}/v2/keys/${job.dir}?wait=true&recursive=true&waitIndex=${waitIndex}`;
    let event: WatchEvent;
    try {
      const res = await fetch(path, { signal: state.abort.signal });
      event = (await res.json()) as WatchEvent;
    } catch {
      if (state.abort.signal.aborted) break;
      state.errors++;
      continue;
    }
    const now = performance.now();
    const index = event.node?.modifiedIndex;
    if (index === undefined) {
      state.errors++; // e.g. 401 event index cleared: skip ahead, the gap counts as missed.
      waitIndex = (event.index ?? waitIndex) + 1;
      continue;
    }
    seen.add(index);
    const stamp = Number.parseFloat(event.node?.value ?? "NaN");
    if (Number.isFinite(stamp)) state.latencies.push(now - stamp); // The end marker has none.
    waitIndex = index + 1;
  }
  return seen;
}

interface WatchState {
  lastIndex: number;
  errors: number;
  readonly latencies: number[];
  readonly abort: AbortController;
}

export async function runWatch(job: WatchJob): Promise<WatchResult> {
  const dirRes = await fetch(`${job.writerUrl}/v2/keys/${job.dir}`, {
    method: "PUT",
    body: "dir=true",
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  const startIndex = Number(dirRes.headers.get("x-etcd-index"));
  await dirRes.arrayBuffer();
  const state: WatchState = {
    lastIndex: 0,
    errors: 0,
    latencies: [],
    abort: new AbortController(),
  };
  const watchers = Array.from({ length: job.watchers }, (_, i) =>
    watcher(job, job.urls[i % job.urls.length] ?? "", startIndex + 1, state),
  );
  // Let every long poll reach the server before the first write.
  await Bun.sleep(300 + job.watchers);
  const written: number[] = [];
  const intervalMs = 1000 / job.writesPerSec;
  const started = performance.now();
  for (let n = 0; n < job.writes; n++) {
    const wait = started + n * intervalMs - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    const stamp = performance.now().toFixed(3);
    written.push(
      await put(job.writerUrl, `${job.dir}/k${n % 100}`, stamp.padEnd(VALUE_BYTES, "x")),
    );
  }
  state.lastIndex = written[written.length - 1] ?? startIndex;
  const timer = setTimeout(() => state.abort.abort(), DRAIN_TIMEOUT_MS);
  // A watcher that saw the last write before lastIndex was set waits past it: release it.
  await put(job.writerUrl, `${job.dir}/end`, "end".padEnd(VALUE_BYTES, "x"));
  const seenSets = await Promise.all(watchers);
  clearTimeout(timer);
  let missed = 0;
  for (const seen of seenSets) for (const index of written) if (!seen.has(index)) missed++;
  const latencies = state.latencies;
  return {
    notifications: latencies.length,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    missed,
    errors: state.errors,
  };
}
