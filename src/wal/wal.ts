/**
 * The write-ahead log: Raft entries, hard states and snapshot markers, appended to preallocated
 * segment files with one fdatasync per batch (group commit). It decides framing order, segment
 * cuts and purge; it knows no Raft rules beyond "a later entry at index i replaces the log from i".
 *
 * Durability contract: when save() or saveSnapshot() resolves, every record passed to it is on
 * stable storage. A failed write or fdatasync leaves the Wal unusable and rethrows (a full disk
 * as DiskFullError): the caller must exit (a page cache that failed to write back may have
 * silently dropped data).
 *
 * Not safe for concurrent calls: the member loop awaits each call before the next.
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { assert } from "../util/assert.ts";
import { asDiskFull } from "../util/disk-full.ts";
import { WalError } from "./errors.ts";
import { readWal } from "./reader.ts";
import {
  alignUp,
  encodeEntryFrames,
  encodeFrame,
  entryFrameBytes,
  type WalRecord,
} from "./record.ts";
import {
  DEFAULT_SEGMENT_SIZE_BYTES,
  DIR_MODE,
  fsyncDir,
  parseSegmentName,
  preallocate,
  removeStaleTmpFiles,
  type SegmentName,
  segmentName,
  TMP_SUFFIX,
} from "./segment-file.ts";
import { openSegmentWriter, type SegmentWriter, type WriterKind } from "./segment-writer.ts";
import {
  EMPTY_HARD_STATE,
  type Entry,
  type HardState,
  type SnapshotMarker,
  type WalMetadata,
} from "./types.ts";

export interface WalOptions {
  /** Size of each preallocated segment; a multiple of 8. Default 64 MiB (etcd's). */
  segmentSizeBytes?: number;
  /**
   * How frames reach the file. Default "pwrite": positioned writes measured faster than the
   * mmap writer (see server/bootstrap.ts walOptions for the figures); both are equally durable.
   */
  writer?: WriterKind;
  /** Where repairs and other notable events are reported. Default console.warn. */
  log?: (message: string) => void;
  /** Told how long each save's fdatasync took, in seconds (metrics, slow-disk warnings). */
  onSync?: (seconds: number) => void;
  /** Told the bytes of each write to the tail segment (etcd_disk_wal_write_bytes_total). */
  onWrite?: (bytes: number) => void;
}

interface ResolvedOptions {
  segmentSizeBytes: number;
  writer: WriterKind;
  log: (message: string) => void;
  onSync: ((seconds: number) => void) | undefined;
  onWrite: ((bytes: number) => void) | undefined;
}

export interface WalOpenResult {
  wal: Wal;
  metadata: WalMetadata;
  /** The last hard state saved; all zeros ({term 0, vote "", commit 0}) if none was. */
  hardState: HardState;
  /** Entries after the snapshot's index, in order; later writes of an index already applied. */
  entries: Entry[];
}

/** The tail of the log: where the next frame goes and what it chains from. */
interface Tail {
  writer: SegmentWriter;
  offset: number;
  crc: number;
}

/** A zero-filled file being prepared for the next cut, or the error that stopped it. */
type Prepared = { file: string; ready: Promise<Error | undefined> };

function resolveOptions(opts: WalOptions | undefined): ResolvedOptions {
  const segmentSizeBytes = opts?.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES;
  assert(
    Number.isSafeInteger(segmentSizeBytes) &&
      segmentSizeBytes >= 4096 &&
      segmentSizeBytes % 8 === 0,
    `wal: segmentSizeBytes must be a multiple of 8 and at least 4096, got ${segmentSizeBytes}`,
  );
  return {
    segmentSizeBytes,
    writer: opts?.writer ?? "pwrite",
    log: opts?.log ?? ((message) => console.warn(message)),
    onSync: opts?.onSync,
    onWrite: opts?.onWrite,
  };
}

export class Wal {
  /** fdatasync calls made so far (one per save/saveSnapshot, two more per segment cut). */
  fsyncCount = 0;
  private busy = false;
  private failed = false;
  private closed = false;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private prepared: Prepared | undefined;
  private tmpCounter = 0;
  private releasedIndex = 0;

  private readonly metadata: WalMetadata;
  private readonly segments: SegmentName[];
  private tail: Tail;
  private hardState: HardState;
  private lastIndex: number;
  private lastSnapshotIndex: number;

  private constructor(
    private readonly dir: string,
    private readonly opts: ResolvedOptions,
    state: {
      metadata: WalMetadata;
      segments: SegmentName[];
      tail: Tail;
      hardState: HardState;
      lastIndex: number;
      lastSnapshotIndex: number;
    },
  ) {
    this.metadata = state.metadata;
    this.segments = state.segments;
    this.tail = state.tail;
    this.hardState = state.hardState;
    this.lastIndex = state.lastIndex;
    this.lastSnapshotIndex = state.lastSnapshotIndex;
  }

  /** True if `dir` holds at least one WAL segment. */
  static exists(dir: string): boolean {
    try {
      return fs.readdirSync(dir).some((name) => parseSegmentName(name) !== undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  }

  /**
   * Creates a WAL in `dir` (which must not hold one): builds the first segment in `<dir>.tmp`,
   * then renames the directory into place, so a crash leaves either no WAL or a whole one.
   * The first segment holds crc, metadata, an empty hard state and the snapshot marker {0, 0}.
   */
  static async create(dir: string, metadata: WalMetadata, opts?: WalOptions): Promise<Wal> {
    const o = resolveOptions(opts);
    if (Wal.exists(dir)) throw new WalError(`wal: ${dir} already holds a WAL`);
    const tmpDir = `${dir}${TMP_SUFFIX}`;
    await fsp.rm(tmpDir, { recursive: true, force: true });
    await fsp.mkdir(tmpDir, { recursive: true, mode: DIR_MODE });
    const file = path.join(tmpDir, segmentName(0, 0));
    await preallocate(file, o.segmentSizeBytes);
    const header: WalRecord[] = [
      { type: "crc", prevCrc: 0 },
      {
        type: "metadata",
        metadata: { memberId: metadata.memberId, clusterId: metadata.clusterId },
      },
      { type: "hardState", hardState: { ...EMPTY_HARD_STATE } },
      { type: "snapshot", snapshot: { index: 0, term: 0 } },
    ];
    const { frames } = encodeFrames(header, 0);
    const fd = fs.openSync(file, "r+");
    try {
      fs.writeSync(fd, frames, 0, frames.length, 0);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fsyncDir(tmpDir);
    // An empty directory made by someone else (e.g. mkdir -p of the data dir) is replaced.
    if (fs.existsSync(dir)) await fsp.rmdir(dir);
    await fsp.rename(tmpDir, dir);
    fsyncDir(path.dirname(dir));
    const { wal } = await Wal.open(dir, undefined, opts);
    return wal;
  }

  /**
   * Opens the WAL in `dir` for appending and replays it from the snapshot marker `snap`
   * ({0, 0} if undefined): returns the metadata, the last hard state and the entries after
   * `snap.index`. Repairs a torn tail in the last segment; throws WalError on any other damage.
   */
  static async open(
    dir: string,
    snap: SnapshotMarker | undefined,
    opts?: WalOptions,
  ): Promise<WalOpenResult> {
    const o = resolveOptions(opts);
    removeStaleTmpFiles(dir);
    const r = readWal(dir, snap ?? { index: 0, term: 0 }, o);
    const last = r.segments[r.segments.length - 1];
    assert(last !== undefined, "wal: open without segments");
    const writer = await openSegmentWriter(o.writer, path.join(dir, last.name));
    const tail: Tail = { writer, offset: r.tailOffset, crc: r.tailCrc };
    const wal = new Wal(dir, o, { ...r, tail, hardState: { ...r.hardState } });
    wal.prepareNext();
    return { wal, metadata: r.metadata, hardState: r.hardState, entries: r.entries };
  }

  /** Index of the last entry written (or of a later snapshot marker). */
  get lastEntryIndex(): number {
    return this.lastIndex;
  }

  /** Segment file names, oldest first. */
  segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  /**
   * Appends `entries` (consecutive indexes; the first may be <= the last written index, which
   * replaces the log from there) and then `hardState`, and makes them durable with one
   * fdatasync. Resolves when durable. No-op if there is nothing to write.
   * A first index past the last written one + 1 is a bug, so when a Ready carries a snapshot,
   * persist it first (snapshotter, then saveSnapshot) and its entries after (etcd 3.4's order).
   * `sync: false` writes without the fdatasync, for a Ready whose only change is the commit
   * index (Raft does not need it durable); the next synced save makes it durable too.
   * `blocking: true` runs the fdatasync on the calling thread: ~40 µs sooner than a thread-pool
   * one, for a caller with nothing else to do meanwhile (e.g. a lone write).
   * Unless a segment must be cut, the records are written and the fdatasync started before
   * this returns its promise, so the caller can do other work while the disk syncs.
   */
  async save(
    hardState: HardState | undefined,
    entries: readonly Entry[],
    options: { readonly sync: boolean; readonly blocking?: boolean } = { sync: true },
  ): Promise<void> {
    if (hardState === undefined && entries.length === 0) return;
    await this.exclusive(async () => {
      checkEntries(entries, this.lastIndex);
      if (!this.appendEntriesInPlace(entries)) {
        for (const entry of entries) {
          await this.append({ type: "entry", entry });
          this.lastIndex = entry.index;
        }
      }
      if (hardState !== undefined) {
        checkHardState(hardState);
        const record: WalRecord = { type: "hardState", hardState: { ...hardState } };
        if (!this.appendInPlace(record)) await this.append(record);
        this.hardState = { ...hardState };
      }
      if (options.sync) await this.syncTail(options.blocking === true);
      else this.flush();
    });
  }

  /** Records that a snapshot up to `meta` exists (after the snapshot itself is durable). */
  async saveSnapshot(meta: SnapshotMarker): Promise<void> {
    assert(
      Number.isSafeInteger(meta.index) && meta.index >= 0,
      `wal: bad snapshot index ${meta.index}`,
    );
    assert(
      Number.isSafeInteger(meta.term) && meta.term >= 0,
      `wal: bad snapshot term ${meta.term}`,
    );
    await this.exclusive(async () => {
      await this.append({ type: "snapshot", snapshot: { index: meta.index, term: meta.term } });
      await this.syncTail();
      this.lastSnapshotIndex = Math.max(this.lastSnapshotIndex, meta.index);
      this.lastIndex = Math.max(this.lastIndex, meta.index);
    });
  }

  /**
   * Allows purge() to delete segments whose entries are all at or below `index`. The member
   * calls it with a snapshot's index once that snapshot is saved; purge also never goes past
   * the last snapshot marker saved through this Wal.
   */
  releaseLockTo(index: number): void {
    assert(Number.isSafeInteger(index) && index >= 0, `wal: bad release index ${index}`);
    this.releasedIndex = Math.max(this.releasedIndex, index);
  }

  /**
   * Deletes the oldest released segments until at most `maxWals` remain (0 = keep all).
   * Always keeps the newest segment starting at or before the released index, which
   * open() needs to find that snapshot's marker, and every segment after it.
   * Returns the deleted file names.
   */
  purge(maxWals: number): string[] {
    assert(Number.isSafeInteger(maxWals) && maxWals >= 0, `wal: bad maxWals ${maxWals}`);
    if (maxWals === 0) return [];
    const bound = Math.min(this.releasedIndex, this.lastSnapshotIndex);
    let keepFrom = -1;
    this.segments.forEach((s, i) => {
      if (s.startIndex <= bound) keepFrom = i;
    });
    const count = Math.min(keepFrom, this.segments.length - maxWals);
    if (count <= 0) return [];
    const removed = this.segments.splice(0, count).map((s) => s.name);
    for (const name of removed) fs.rmSync(path.join(this.dir, name));
    fsyncDir(this.dir);
    assert(this.segments.length >= 1, "wal: purge removed the live segment");
    return removed;
  }

  /** Releases files. Pending data was already synced by the call that wrote it. */
  async close(): Promise<void> {
    if (this.closed) return;
    assert(!this.busy, "wal: close during a write");
    this.closed = true;
    const prepared = this.prepared;
    this.prepared = undefined;
    if (prepared !== undefined) {
      const err = await prepared.ready;
      if (err !== undefined)
        this.opts.log(`wal: preallocating ${prepared.file} failed: ${err.message}`);
      await fsp.rm(prepared.file, { force: true });
    }
    await this.tail.writer.close();
  }

  /** Runs one write operation; any failure poisons the Wal (see the durability contract). */
  private async exclusive(op: () => Promise<void>): Promise<void> {
    if (this.failed) throw new WalError(`wal: ${this.dir} is unusable after a failed write`);
    assert(!this.closed, "wal: write after close");
    assert(!this.busy, "wal: concurrent writes; await each save before the next");
    this.busy = true;
    try {
      await op();
    } catch (err) {
      this.failed = true;
      throw asDiskFull(err, this.dir);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Queues every entry's frame as one buffer when they all fit in the tail segment (the usual
   * case); false when a cut is due, for `append` to handle record by record.
   */
  private appendEntriesInPlace(entries: readonly Entry[]): boolean {
    const last = entries[entries.length - 1];
    if (last === undefined) return true;
    let total = 0;
    for (const entry of entries) total += entryFrameBytes(entry);
    if (!this.fits(total)) return false;
    const { frames, crc } = encodeEntryFrames(entries, this.tail.crc, total);
    this.queue(frames, crc);
    this.lastIndex = last.index;
    return true;
  }

  /** Queues one frame if it fits in the tail segment; false when a cut is due first. */
  private appendInPlace(record: WalRecord): boolean {
    const { frame, crc } = encodeFrame(record, this.tail.crc);
    if (!this.fits(frame.length)) return false;
    this.queue(frame, crc);
    return true;
  }

  /** Queues one frame for the tail segment, cutting a new segment first if it does not fit. */
  private async append(record: WalRecord): Promise<void> {
    if (this.appendInPlace(record)) return;
    this.flush();
    await this.cut(record, encodeFrame(record, this.tail.crc).frame.length);
    assert(
      this.appendInPlace(record),
      "wal: a fresh segment cannot hold the record it was cut for",
    );
  }

  private fits(bytes: number): boolean {
    return this.tail.offset + this.pendingBytes + bytes <= this.tail.writer.capacityBytes;
  }

  private queue(frames: Uint8Array, crc: number): void {
    this.pending.push(frames);
    this.pendingBytes += frames.length;
    this.tail.crc = crc;
  }

  /** Writes queued frames to the tail segment (not yet durable). */
  private flush(): void {
    if (this.pendingBytes === 0) return;
    const bytes =
      this.pending.length === 1 ? this.pending[0] : concat(this.pending, this.pendingBytes);
    assert(bytes !== undefined && bytes.length === this.pendingBytes, "wal: pending frames");
    this.tail.writer.writeAt(bytes, this.tail.offset);
    this.tail.offset += bytes.length;
    this.opts.onWrite?.(bytes.length);
    this.pending = [];
    this.pendingBytes = 0;
  }

  private async syncTail(blocking = false): Promise<void> {
    this.flush();
    const started = performance.now();
    if (blocking) this.tail.writer.syncBlocking();
    else await this.tail.writer.sync();
    this.opts.onSync?.((performance.now() - started) / 1000);
    this.fsyncCount++;
  }

  /**
   * Starts a new segment. Crash-safe: the old segment is synced first; the new one gets its
   * header (crc, metadata, last hard state) and is synced under a temporary name, and only
   * then renamed into place. A crash at any point leaves a readable log.
   */
  private async cut(next: WalRecord, nextFrameBytes: number): Promise<void> {
    await this.tail.writer.sync();
    this.fsyncCount++;
    const prev = this.segments[this.segments.length - 1];
    assert(prev !== undefined, "wal: cut without a segment");
    // Names never go down (open and purge pick segments by name), even when the next entry
    // overwrites an uncommitted tail below the previous segment's start.
    const firstIndex = next.type === "entry" ? next.entry.index : this.lastIndex + 1;
    const startIndex = Math.max(firstIndex, prev.startIndex);
    const seg: SegmentName = {
      seq: prev.seq + 1,
      startIndex,
      name: segmentName(prev.seq + 1, startIndex),
    };
    const header = encodeFrames(
      [
        { type: "crc", prevCrc: this.tail.crc },
        { type: "metadata", metadata: this.metadata },
        { type: "hardState", hardState: this.hardState },
      ],
      this.tail.crc,
    );
    const needBytes = alignUp(header.frames.length + nextFrameBytes);
    const file = await this.takePrepared(Math.max(needBytes, this.opts.segmentSizeBytes));
    const writer = await openSegmentWriter(this.opts.writer, file);
    try {
      writer.writeAt(header.frames, 0);
      await writer.sync();
      this.fsyncCount++;
      await fsp.rename(file, path.join(this.dir, seg.name));
      fsyncDir(this.dir);
    } catch (err) {
      await writer.close();
      throw err;
    }
    await this.tail.writer.close();
    this.tail = { writer, offset: header.frames.length, crc: header.crc };
    this.segments.push(seg);
    this.prepareNext();
  }

  /** Starts zero-filling the next segment in the background, off the write path. */
  private prepareNext(): void {
    assert(this.prepared === undefined, "wal: two segments in preparation");
    const file = path.join(this.dir, `segment-${this.tmpCounter++}${TMP_SUFFIX}`);
    const ready = preallocate(file, this.opts.segmentSizeBytes).then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
    this.prepared = { file, ready };
  }

  /** A zero-filled file of at least `sizeBytes`: the prepared one if big enough. */
  private async takePrepared(sizeBytes: number): Promise<string> {
    const prepared = this.prepared;
    this.prepared = undefined;
    if (prepared !== undefined) {
      const err = await prepared.ready;
      if (err !== undefined) throw err;
      if (sizeBytes <= this.opts.segmentSizeBytes) return prepared.file;
      await fsp.rm(prepared.file);
    }
    const file = path.join(this.dir, `segment-${this.tmpCounter++}${TMP_SUFFIX}`);
    await preallocate(file, alignUp(sizeBytes));
    return file;
  }
}

/** Encodes records back to back, chaining their crcs from `prevCrc`. */
function encodeFrames(records: WalRecord[], prevCrc: number): { frames: Uint8Array; crc: number } {
  let crc = prevCrc;
  const parts = records.map((record) => {
    const encoded = encodeFrame(record, crc);
    crc = encoded.crc;
    return encoded.frame;
  });
  return {
    frames: concat(
      parts,
      parts.reduce((n, p) => n + p.length, 0),
    ),
    crc,
  };
}

function concat(parts: Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  assert(offset === totalBytes, "wal: concat length");
  return out;
}

function checkEntries(entries: readonly Entry[], lastIndex: number): void {
  let prev: Entry | undefined;
  for (const e of entries) {
    assert(Number.isSafeInteger(e.index) && e.index >= 1, `wal: bad entry index ${e.index}`);
    assert(Number.isSafeInteger(e.term) && e.term >= 0, `wal: bad entry term ${e.term}`);
    if (prev === undefined) {
      assert(e.index <= lastIndex + 1, `wal: entry ${e.index} leaves a gap after ${lastIndex}`);
    } else {
      assert(e.index === prev.index + 1, `wal: entries not consecutive: ${prev.index}, ${e.index}`);
    }
    prev = e;
  }
}

function checkHardState(hs: HardState): void {
  assert(Number.isSafeInteger(hs.term) && hs.term >= 0, `wal: bad hardState term ${hs.term}`);
  assert(Number.isSafeInteger(hs.commit) && hs.commit >= 0, `wal: bad commit ${hs.commit}`);
}
