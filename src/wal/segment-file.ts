/**
 * Segment files on disk: names, listing, zero-filled preallocation and directory fsync. It must
 * not know the record format; the Wal decides what goes in a segment and when to cut.
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { assert } from "../util/assert.ts";
import { DiskFullError, isDiskFull } from "../util/disk-full.ts";
import { WalError } from "./errors.ts";

/** etcd's segment size: a cut every 64 MiB keeps replay and purge granular but rare. */
export const DEFAULT_SEGMENT_SIZE_BYTES = 64 * 1024 * 1024;
/** Zero-filling writes this much per call: large enough to be cheap, small enough to not hog. */
const ZERO_CHUNK_BYTES = 1024 * 1024;
const zeroChunk = new Uint8Array(ZERO_CHUNK_BYTES);
const SEGMENT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
/** Suffix of a preallocated segment that has not been named yet; removed on open. */
export const TMP_SUFFIX = ".tmp";
/** Segment files are private to the member, as etcd's are. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

export interface SegmentName {
  seq: number;
  /** The index of the first entry the segment was cut for; lower indexes live in earlier ones. */
  startIndex: number;
  name: string;
}

export function segmentName(seq: number, startIndex: number): string {
  assert(Number.isSafeInteger(seq) && seq >= 0, `wal: bad segment seq ${seq}`);
  assert(Number.isSafeInteger(startIndex) && startIndex >= 0, `wal: bad index ${startIndex}`);
  const hex = (n: number) => n.toString(16).padStart(16, "0");
  return `${hex(seq)}-${hex(startIndex)}.wal`;
}

export function parseSegmentName(name: string): SegmentName | undefined {
  const m = SEGMENT_NAME.exec(name);
  if (!m?.[1] || !m[2]) return undefined;
  const seq = Number.parseInt(m[1], 16);
  const startIndex = Number.parseInt(m[2], 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(startIndex)) return undefined;
  return { seq, startIndex, name };
}

/** The WAL's segments ordered by seq; throws if the sequence has a gap. */
export function listSegments(dir: string): SegmentName[] {
  const segments = fs
    .readdirSync(dir)
    .map(parseSegmentName)
    .filter((s): s is SegmentName => s !== undefined)
    .sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < segments.length; i++) {
    const prev = segments[i - 1];
    const cur = segments[i];
    assert(prev !== undefined && cur !== undefined, "wal: segment list");
    if (cur.seq !== prev.seq + 1) {
      throw new WalError(
        `wal: segment sequence gap in ${dir}: ${prev.name} is followed by ${cur.name}`,
      );
    }
    if (cur.startIndex < prev.startIndex) {
      throw new WalError(`wal: segment index goes backwards in ${dir}: ${prev.name}, ${cur.name}`);
    }
  }
  return segments;
}

/** Removes preallocated files a crash left behind before they were named. */
export function removeStaleTmpFiles(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    if (name.endsWith(TMP_SUFFIX)) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** fsyncs a directory so renames and unlinks in it survive a power loss. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes zeros over [from, to) of an open file, growing it if needed. Zeros are written (not
 * ftruncate holes) so later appends need no block allocation in their fdatasync (bun-facts §1).
 */
export function zeroRangeSync(fd: number, from: number, to: number): void {
  for (let pos = from; pos < to; ) {
    const n = fs.writeSync(fd, zeroChunk, 0, Math.min(ZERO_CHUNK_BYTES, to - pos), pos);
    assert(n > 0, "wal: zero write made no progress");
    pos += n;
  }
}

/** Async twin of zeroRangeSync for the preallocation pipeline; yields between chunks. */
/**
 * Writes zeros over [from, to), syncing after every chunk: on ext4 (data=ordered) the live
 * segment's fdatasync waits for other files' dirty data, so a background preallocation must
 * never leave much of it (one 64 MiB burst stalled acknowledged writes for ~35 ms).
 */
async function zeroRange(handle: fsp.FileHandle, from: number, to: number): Promise<void> {
  for (let pos = from; pos < to; ) {
    const { bytesWritten } = await handle.write(
      zeroChunk,
      0,
      Math.min(ZERO_CHUNK_BYTES, to - pos),
      pos,
    );
    assert(bytesWritten > 0, "wal: zero write made no progress");
    pos += bytesWritten;
    await handle.datasync();
  }
}

/**
 * Creates `file` (which must not exist) as `sizeBytes` of durable zeros. On a full disk it
 * removes what it wrote and throws DiskFullError: the space is taken here, before a segment
 * holds any record, so records later written into the segment never need new blocks.
 */
export async function preallocate(file: string, sizeBytes: number): Promise<void> {
  assert(sizeBytes > 0 && sizeBytes % 8 === 0, `wal: bad segment size ${sizeBytes}`);
  const handle = await fsp.open(file, "wx", FILE_MODE);
  try {
    await zeroRange(handle, 0, sizeBytes);
  } catch (error) {
    if (!isDiskFull(error)) throw error;
    await fsp.rm(file, { force: true });
    throw new DiskFullError(file, error);
  } finally {
    await handle.close();
  }
  assert(fs.statSync(file).size === sizeBytes, `wal: preallocation of ${file} came up short`);
}
