/**
 * Replays a WAL directory on open: checks the crc chain across segments, collects the records
 * after a snapshot marker, and repairs a torn tail in the last segment. It never truncates a
 * file (a mapped file that shrinks raises SIGBUS); repair overwrites the torn bytes with zeros
 * and pads a short last segment back to full size, before any mapping exists.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { assert } from "../util/assert.ts";
import { crc32 } from "../util/crc.ts";
import { WalError } from "./errors.ts";
import {
  alignUp,
  decodeRecord,
  FRAME_ALIGN_BYTES,
  FRAME_HEADER_BYTES,
  RecordCode,
  readFrame,
  type WalRecord,
} from "./record.ts";
import { listSegments, type SegmentName, zeroRangeSync } from "./segment-file.ts";
import {
  EMPTY_HARD_STATE,
  type Entry,
  type HardState,
  type SnapshotMarker,
  type WalMetadata,
} from "./types.ts";

export interface ReadOptions {
  /** The last segment is padded with zeros up to this size if it is shorter. */
  segmentSizeBytes: number;
  log: (message: string) => void;
}

export interface ReadResult {
  metadata: WalMetadata;
  hardState: HardState;
  /** Entries with index > snapshot index, in index order, overwrites applied. */
  entries: Entry[];
  segments: SegmentName[];
  /** Where the next frame goes in the last segment, and the chain value it continues. */
  tailOffset: number;
  tailCrc: number;
  /** Highest entry index the log has seen (or a later snapshot marker's index). */
  lastIndex: number;
  /** Highest snapshot marker index recorded. */
  lastSnapshotIndex: number;
}

/** Mutable replay state shared by the segment scans. */
interface Replay {
  snap: SnapshotMarker;
  crc: number | undefined;
  metadata: WalMetadata | undefined;
  hardState: HardState;
  entries: Entry[];
  matched: boolean;
  lastIndex: number;
  lastSnapshotIndex: number;
}

export function readWal(dir: string, snap: SnapshotMarker, opts: ReadOptions): ReadResult {
  const segments = listSegments(dir);
  if (segments.length === 0) throw new WalError(`wal: no segments in ${dir}`);
  const first = findLastIndex(segments, (s) => s.startIndex <= snap.index);
  if (first < 0) {
    throw new WalError(
      `wal: snapshot not found: no segment in ${dir} starts at or before index ${snap.index}`,
    );
  }
  const replay: Replay = {
    snap,
    crc: undefined,
    metadata: undefined,
    hardState: { ...EMPTY_HARD_STATE },
    entries: [],
    matched: false,
    lastIndex: 0,
    lastSnapshotIndex: 0,
  };
  let tailOffset = 0;
  for (let i = first; i < segments.length; i++) {
    const segment = segments[i];
    assert(segment !== undefined, "wal: segment index");
    const file = path.join(dir, segment.name);
    const isLast = i === segments.length - 1;
    const raw = fs.readFileSync(file);
    // A plain Uint8Array view: Buffer's slice() aliases instead of copying.
    const buf = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    const scan = scanSegment(buf, file, isLast, replay);
    if (isLast) {
      tailOffset = scan.endOffset;
      repairTail(file, buf, scan, opts);
    }
  }
  if (!replay.matched) {
    throw new WalError(
      `wal: snapshot not found: no marker for index ${snap.index} term ${snap.term} in ${dir}`,
    );
  }
  assert(replay.metadata !== undefined && replay.crc !== undefined, "wal: replay without header");
  return {
    metadata: replay.metadata,
    hardState: replay.hardState,
    entries: replay.entries,
    segments,
    tailOffset,
    tailCrc: replay.crc,
    lastIndex: replay.lastIndex,
    lastSnapshotIndex: replay.lastSnapshotIndex,
  };
}

function findLastIndex<T>(items: T[], pred: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item !== undefined && pred(item)) return i;
  }
  return -1;
}

interface Scan {
  /** Offset just past the last good frame. */
  endOffset: number;
  torn: boolean;
}

/** Replays one segment's frames into `replay`. Throws on corruption; reports a torn tail. */
function scanSegment(buf: Uint8Array, file: string, isLast: boolean, replay: Replay): Scan {
  let offset = 0;
  for (;;) {
    const frame = readFrame(buf, offset);
    if (frame.kind === "end") break;
    if (frame.kind === "invalid") {
      return invalidFrame(buf, file, isLast, offset, frame.reason, frame.extentBytes);
    }
    const record = decodeRecord(frame.code, frame.covered);
    if (offset === 0) checkSegmentStart(record, file, replay);
    const seed =
      replay.crc ?? (typeof record !== "string" && record.type === "crc" ? record.prevCrc : 0);
    if (crc32(frame.covered, seed) !== frame.storedCrc) {
      return invalidFrame(buf, file, isLast, offset, "crc mismatch", frame.sizeBytes);
    }
    if (typeof record === "string")
      throw new WalError(`wal: ${record} in ${file} at offset ${offset}`);
    if (record.type === "crc" && offset !== 0) {
      throw new WalError(`wal: crc record in the middle of ${file} at offset ${offset}`);
    }
    replay.crc = frame.storedCrc;
    applyRecord(record, file, offset, replay);
    offset += frame.sizeBytes;
  }
  if (offset === 0) {
    throw new WalError(`wal: segment ${file} is empty: it has no crc record at offset 0`);
  }
  if (isLast) checkNothingFollows(buf, file, offset, replay.crc);
  return { endOffset: offset, torn: false };
}

/**
 * The written part of the last segment ended at `offset` (a zero length word). Bytes after it
 * are harmless leftovers of an unsynced write, unless a frame there continues the crc chain:
 * then `offset` is a damaged length word in front of acknowledged records.
 */
function checkNothingFollows(
  buf: Uint8Array,
  file: string,
  offset: number,
  tailCrc: number | undefined,
): void {
  const dirtyEnd = lastNonZeroByte(buf, offset) + 1;
  if (dirtyEnd === 0) return;
  const seeds = [storedCrcAt(buf, offset), tailCrc].filter((c): c is number => c !== undefined);
  const resumesAt = findChainedFrame(buf, offset + FRAME_ALIGN_BYTES, dirtyEnd, seeds);
  if (resumesAt >= 0) {
    throw new WalError(
      `wal: zero record length in ${file} at offset ${offset}, but valid records follow at offset ${resumesAt}`,
    );
  }
}

function storedCrcAt(buf: Uint8Array, offset: number): number | undefined {
  if (offset + 8 > buf.length) return undefined;
  return new DataView(buf.buffer, buf.byteOffset + offset, 8).getUint32(4, true);
}

/**
 * The offset of the first aligned frame in [from, to) whose crc checks out against one of
 * `seeds` (the crc a damaged frame stored, i.e. the seed of the frame after it), or -1.
 * Finding one proves that acknowledged records follow a damaged spot: that is corruption, not
 * a torn tail, which only ever has zeros or its own bytes after it.
 */
function findChainedFrame(buf: Uint8Array, from: number, to: number, seeds: number[]): number {
  if (seeds.length === 0) return -1;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = Math.min(to, buf.length);
  for (let y = alignUp(from); y + FRAME_HEADER_BYTES <= end; y += FRAME_ALIGN_BYTES) {
    const len = view.getUint32(y, true);
    if (len < 4 || y + 8 + len > buf.length) continue;
    const code = view.getUint32(y + 8, true);
    if (code < RecordCode.metadata || code > RecordCode.snapshot) continue;
    const covered = buf.subarray(y + 8, y + 8 + len);
    const stored = view.getUint32(y + 4, true);
    if (seeds.some((seed) => crc32(covered, seed) === stored)) return y;
  }
  return -1;
}

function checkSegmentStart(record: WalRecord | string, file: string, replay: Replay): void {
  if (typeof record === "string" || record.type !== "crc") {
    throw new WalError(`wal: segment ${file} does not start with a crc record (offset 0)`);
  }
  if (replay.crc !== undefined && record.prevCrc !== replay.crc) {
    throw new WalError(
      `wal: crc chain broken at ${file} offset 0: the previous segment is truncated or was replaced`,
    );
  }
}

/**
 * A frame that does not check out. In the last segment, with nothing but zeros after it, it is
 * a write torn by a crash: the batch it belonged to was never acknowledged, so it is dropped.
 * Anywhere else it is corruption of acknowledged data, and the WAL refuses to open.
 */
function invalidFrame(
  buf: Uint8Array,
  file: string,
  isLast: boolean,
  offset: number,
  reason: string,
  extentBytes: number,
): Scan {
  const where = `${file} at offset ${offset}`;
  if (!isLast) throw new WalError(`wal: ${reason} in ${where} (not the last segment)`);
  if (offset === 0) throw new WalError(`wal: ${reason} in ${where} (the segment header)`);
  const seed = storedCrcAt(buf, offset);
  const dirtyEnd = lastNonZeroByte(buf, offset) + 1;
  const seeds = seed === undefined ? [] : [seed];
  const resumesAt = findChainedFrame(buf, offset + FRAME_ALIGN_BYTES, dirtyEnd, seeds);
  if (resumesAt >= 0) {
    throw new WalError(`wal: ${reason} in ${where}; valid records follow at offset ${resumesAt}`);
  }
  if (lastNonZeroByte(buf, offset + extentBytes) >= 0) {
    throw new WalError(`wal: ${reason} in ${where}; non-zero bytes follow it`);
  }
  return { endOffset: offset, torn: true };
}

function applyRecord(record: WalRecord, file: string, offset: number, replay: Replay): void {
  switch (record.type) {
    case "crc":
      return;
    case "metadata": {
      const m = replay.metadata;
      if (
        m &&
        (m.memberId !== record.metadata.memberId || m.clusterId !== record.metadata.clusterId)
      ) {
        throw new WalError(`wal: conflicting metadata found in ${file} at offset ${offset}`);
      }
      replay.metadata = record.metadata;
      return;
    }
    case "hardState":
      replay.hardState = record.hardState;
      return;
    case "snapshot": {
      const { index, term } = record.snapshot;
      if (index === replay.snap.index) {
        if (term !== replay.snap.term) {
          throw new WalError(`wal: snapshot mismatch in ${file} at offset ${offset}: term ${term}`);
        }
        replay.matched = true;
      }
      replay.lastSnapshotIndex = Math.max(replay.lastSnapshotIndex, index);
      replay.lastIndex = Math.max(replay.lastIndex, index);
      return;
    }
    case "entry":
      applyEntry(record.entry, file, offset, replay);
      return;
  }
}

/** A later entry at index i replaces the one at i and drops everything after it (Raft §5.3). */
function applyEntry(entry: Entry, file: string, offset: number, replay: Replay): void {
  replay.lastIndex = entry.index;
  if (entry.index <= replay.snap.index) return;
  const position = entry.index - replay.snap.index - 1;
  if (position > replay.entries.length) {
    const expected = replay.snap.index + replay.entries.length + 1;
    throw new WalError(
      `wal: entry gap in ${file} at offset ${offset}: index ${entry.index}, expected ${expected}`,
    );
  }
  replay.entries.length = position;
  replay.entries.push(entry);
  assert(replay.entries[position]?.index === entry.index, "wal: replayed entry out of place");
}

/** Index of the last non-zero byte at or after `from`, or -1. */
export function lastNonZeroByte(buf: Uint8Array, from: number): number {
  let i = buf.length - 1;
  // Word-at-a-time over the aligned middle: the tail of a 64 MiB segment is mostly zeros.
  if (buf.byteOffset % 4 === 0) {
    const wordFrom = Math.ceil(from / 4);
    const wordEnd = Math.floor(buf.length / 4);
    for (; i >= wordEnd * 4 && i >= from; i--) if (buf[i] !== 0) return i;
    if (wordFrom < wordEnd) {
      const words = new Uint32Array(buf.buffer, buf.byteOffset, wordEnd);
      for (let w = wordEnd - 1; w >= wordFrom; w--) {
        if (words[w] === 0) continue;
        for (let b = w * 4 + 3; b >= w * 4; b--) if (buf[b] !== 0) return b;
      }
      i = wordFrom * 4 - 1;
    }
  }
  for (; i >= from; i--) if (buf[i] !== 0) return i;
  return -1;
}

/**
 * Makes the last segment safe to append to: zeros over a torn frame or any stray bytes after the
 * last good frame, and zeros up to the segment size if the file is short. Syncs before returning.
 */
function repairTail(file: string, buf: Uint8Array, scan: Scan, opts: ReadOptions): void {
  const dirtyTo = lastNonZeroByte(buf, scan.endOffset) + 1;
  const fullSize = Math.max(buf.length, opts.segmentSizeBytes);
  if (dirtyTo === 0 && buf.length === fullSize) return;
  const fd = fs.openSync(file, "r+");
  try {
    if (dirtyTo > 0) {
      const what = scan.torn ? "torn record" : "stray bytes";
      opts.log(
        `wal: repairing ${what} in ${file}: zeroing offsets [${scan.endOffset}, ${dirtyTo})`,
      );
      zeroRangeSync(fd, scan.endOffset, dirtyTo);
    }
    if (buf.length < fullSize) zeroRangeSync(fd, buf.length, fullSize);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  assert(fs.statSync(file).size >= fullSize, `wal: repair of ${file} left it short`);
}
