/**
 * Saves and loads state-machine snapshots in one bun:sqlite database, `<dir>/snap.db`.
 * It must not know what the snapshot data means, and it must not decide when to snapshot.
 *
 * Durability: journal_mode=WAL with synchronous=FULL, so save() returns only after the row is
 * fsynced; the member writes the WAL's snapshot marker after that, never before.
 * Integrity: every row carries a CRC-32 over (term, index, confState, data); a row that fails it
 * is skipped with a log line and the next older one is tried, as etcd does with `.broken` files.
 *
 * Why sqlite rather than one CRC-checked file per snapshot (tmp + fsync + rename + dir fsync)?
 * Measured with `npx bun test/snap/measure-store.ts 300 100` (2 vCPU VM, ext4, virtio disk with a
 * write-back cache; each save followed by prune to 5 and a loadNewest), in ms:
 *
 *   store   size    saves  save mean / p50 / p99     loadNewest mean / p50 / p99
 *   sqlite   1 MiB  300      3.9 /  2.6 /   9.1        0.55 /  0.36 /   1.9
 *   file     1 MiB  300      1.9 /  1.9 /   2.3        0.24 /  0.14 /   1.5
 *   sqlite  20 MiB  100     77   / 74   / 169         24   / 20   / 144
 *   file    20 MiB  100     26   / 24   /  64         12   / 11   /  91
 *
 * Files are 2-3x faster (sqlite's WAL journal writes each blob twice: log, then checkpoint). We
 * keep sqlite anyway: a snapshot is taken once per --snapshot-count (100,000) entries, so even a
 * 20 MiB one costs under 1% of a 1,000 writes/s member's time; and one transactional file with
 * no `.tmp`/`.broken` bookkeeping, shared with the project's other on-disk state, is simpler.
 * bun:sqlite is synchronous, so save() blocks the event loop for its whole duration (about
 * 80 ms, p99 170 ms, at 20 MiB); the member's periodic snapshots use saveInBackground, which
 * does the same write on a worker thread.
 */
import type { Database } from "bun:sqlite";
import * as fs from "node:fs";
import * as path from "node:path";
import { assert } from "../util/assert.ts";
import { asDiskFull, isDiskFull } from "../util/disk-full.ts";
import {
  openSnapshotDb,
  type Row,
  rowCrc,
  type SaveReply,
  type SaveRequest,
  writeRow,
} from "./snapshot-db.ts";
import type { ConfState, Snapshot } from "./types.ts";

/** The database file inside the snap directory. */
export const SNAP_DB_FILE = "snap.db";
const DIR_MODE = 0o700;

export interface SnapshotterOptions {
  /** Where skipped (corrupt) rows are reported. Default console.warn. */
  log?: (message: string) => void;
  /** Told how long each background save took to be durable, in seconds (metrics). */
  onSaved?: (seconds: number) => void;
}

export class Snapshotter {
  private readonly db: Database;
  private readonly log: (message: string) => void;
  private readonly onSaved: ((seconds: number) => void) | undefined;
  private worker: Worker | undefined;
  private workerFailed = false;
  private closed = false;
  private inFlight:
    | {
        resolve: () => void;
        reject: (error: Error) => void;
        timer: ReturnType<typeof setTimeout>;
      }
    | undefined;

  constructor(
    readonly dir: string,
    opts?: SnapshotterOptions,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    this.log = opts?.log ?? ((message) => console.warn(message));
    this.onSaved = opts?.onSaved;
    this.db = openSnapshotDb(path.join(dir, SNAP_DB_FILE));
  }

  /**
   * Stores `snap` durably (replacing a row with the same index and term), then folds the
   * sqlite journal back into the database file: without it the `-wal` file grows as large as
   * the database and the data dir holds every snapshot twice.
   */
  save(snap: Snapshot): void {
    try {
      writeRow(this.db, snap.meta, snap.data);
    } catch (error) {
      throw asDiskFull(error, path.join(this.dir, SNAP_DB_FILE));
    }
  }

  /**
   * `save` on a worker thread with its own connection: resolves once the row is durable. One
   * call at a time. If the worker cannot be started or fails, the row is written here instead
   * (and later calls stay on this thread).
   */
  async saveInBackground(snap: Snapshot): Promise<void> {
    const started = performance.now();
    await this.saveDurably(snap);
    this.onSaved?.((performance.now() - started) / 1000);
  }

  private async saveDurably(snap: Snapshot): Promise<void> {
    assert(this.inFlight === undefined, "snap: a background save is already running");
    const worker = this.backgroundWorker();
    if (worker !== undefined) {
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => this.settle(new Error("save worker did not answer")),
            SAVE_WORKER_TIMEOUT_MS,
          );
          this.inFlight = { resolve, reject, timer };
          // Shared memory goes as is; anything else as a transferred copy (cloning 11 MB took
          // 10-30 ms here). The caller does not change the data while it is being saved.
          const shared = snap.data.buffer instanceof SharedArrayBuffer;
          const data = shared ? snap.data : snap.data.slice();
          const request: SaveRequest = {
            dbPath: path.join(this.dir, SNAP_DB_FILE),
            meta: snap.meta,
            data,
          };
          worker.postMessage(request, shared ? [] : [data.buffer as ArrayBuffer]);
        });
        return;
      } catch (error) {
        if (this.closed) throw error;
        // The main thread would find the disk just as full.
        if (isDiskFull(error)) throw asDiskFull(error, path.join(this.dir, SNAP_DB_FILE));
        this.log(`snap: ${String(error)}; saving snapshots on the main thread from now on`);
        this.stopWorker();
        this.workerFailed = true;
      }
    }
    this.save(snap);
  }

  private backgroundWorker(): Worker | undefined {
    if (this.worker !== undefined || this.workerFailed) return this.worker;
    try {
      const worker = new Worker(saveWorkerUrl());
      worker.onmessage = (event: MessageEvent<SaveReply>) => {
        const reply = event.data;
        if (reply.ok) this.settle();
        else this.settle(new Error(`background save failed: ${reply.message}`));
      };
      worker.onerror = (event) => this.settle(new Error(`save worker failed: ${event.message}`));
      this.worker = worker;
    } catch (error) {
      this.workerFailed = true;
      this.log(`snap: saving snapshots on the main thread (no worker: ${String(error)})`);
    }
    return this.worker;
  }

  private settle(error?: Error): void {
    const waiter = this.inFlight;
    this.inFlight = undefined;
    clearTimeout(waiter?.timer);
    if (error === undefined) waiter?.resolve();
    else waiter?.reject(error);
  }

  private stopWorker(): void {
    this.worker?.terminate();
    this.worker = undefined;
  }

  /** The newest snapshot (highest index, then term) whose CRC checks out, or undefined. */
  loadNewest(): Snapshot | undefined {
    const keys = this.db
      .query("SELECT idx, term FROM snapshot ORDER BY idx DESC, term DESC")
      .all() as { idx: number; term: number }[];
    for (const { idx, term } of keys) {
      const snap = this.loadRow(idx, term);
      if (snap !== undefined) return snap;
    }
    return undefined;
  }

  /** Every stored snapshot's position, newest first (rows are not CRC-checked here). */
  list(): { index: number; term: number }[] {
    const rows = this.db
      .query("SELECT idx, term FROM snapshot ORDER BY idx DESC, term DESC")
      .all() as { idx: number; term: number }[];
    return rows.map((r) => ({ index: r.idx, term: r.term }));
  }

  /** The snapshot at exactly (index, term), or undefined if absent or corrupt (logged). */
  loadAt(index: number, term: number): Snapshot | undefined {
    return this.loadRow(index, term);
  }

  /** Deletes all but the newest `maxSnapshots` rows (0 = keep all). Returns how many went. */
  prune(maxSnapshots: number): number {
    assert(
      Number.isSafeInteger(maxSnapshots) && maxSnapshots >= 0,
      `snap: bad max ${maxSnapshots}`,
    );
    if (maxSnapshots === 0) return 0;
    const result = this.db
      .query(
        `DELETE FROM snapshot WHERE rowid NOT IN
           (SELECT rowid FROM snapshot ORDER BY idx DESC, term DESC LIMIT $keep)`,
      )
      .run({ keep: maxSnapshots });
    return result.changes;
  }

  close(): void {
    this.closed = true;
    this.stopWorker();
    this.settle(new Error("snap: closed during a background save"));
    this.db.close();
  }

  private loadRow(index: number, term: number): Snapshot | undefined {
    const row = this.db
      .query(
        "SELECT term, idx, conf_state, data, crc FROM snapshot WHERE idx = $idx AND term = $term",
      )
      .get({ idx: index, term }) as Row | null;
    if (row === null) return undefined;
    const where = `${path.join(this.dir, SNAP_DB_FILE)} (index ${index}, term ${term})`;
    if (rowCrc(row.term, row.idx, row.conf_state, row.data) !== row.crc) {
      this.log(`snap: crc mismatch in snapshot ${where}; skipping it`);
      return undefined;
    }
    const confState = parseConfState(row.conf_state);
    if (confState === undefined) {
      this.log(`snap: bad confState in snapshot ${where}; skipping it`);
      return undefined;
    }
    assert(row.idx === index && row.term === term, "snap: row does not match its key");
    return { meta: { index: row.idx, term: row.term, confState }, data: new Uint8Array(row.data) };
  }
}

/**
 * The save worker's code: next to this file when run from source; in the compiled binary, the
 * build's second entrypoint (package.json "build"), named after its path below src/ while this
 * module's URL is the binary's own.
 */
function saveWorkerUrl(): URL {
  if (import.meta.url.includes("/$bunfs/"))
    return new URL("./snap/save-worker.ts", import.meta.url);
  return new URL("./save-worker.ts", import.meta.url);
}

/** A background save that takes longer than this is abandoned and done on the main thread. */
const SAVE_WORKER_TIMEOUT_MS = 20_000;

function parseConfState(json: string): ConfState | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { voters } = parsed as Record<string, unknown>;
  if (!Array.isArray(voters) || !voters.every((v): v is string => typeof v === "string")) {
    return undefined;
  }
  return { voters };
}
