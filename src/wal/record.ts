/**
 * The WAL record codec: how one record becomes an 8-byte-aligned frame and back. It knows
 * nothing of segments, files or Raft rules; it must not do I/O.
 *
 * Frame layout (little-endian), padded with zeros to a multiple of 8 bytes:
 *
 *   0  len   u32  bytes covered by `crc`: the type word plus the payload (always >= 4)
 *   4  crc   u32  CRC-32 of bytes [8, 8 + len), seeded with the previous record's crc
 *   8  type  u32  RecordType code
 *   12 data       payload (see encodePayload)
 *
 * A `len` of zero marks the end of the written part of a preallocated (zero-filled) segment.
 * Each record's crc chains from the one before it, across segments: a segment starts with a
 * crc record whose payload is the chain value it continues from.
 */
import { assert } from "../util/assert.ts";
import { crc32 } from "../util/crc.ts";
import type { Entry, HardState, SnapshotMarker, WalMetadata } from "./types.ts";

/** Record type codes; the numbering follows etcd's walpb (1 metadata … 5 snapshot). */
export const RecordCode = { metadata: 1, entry: 2, hardState: 3, crc: 4, snapshot: 5 } as const;

export type WalRecord =
  | { type: "metadata"; metadata: WalMetadata }
  | { type: "entry"; entry: Entry }
  | { type: "hardState"; hardState: HardState }
  | { type: "crc"; prevCrc: number }
  | { type: "snapshot"; snapshot: SnapshotMarker };

/** Bytes before the payload: len, crc, type. */
export const FRAME_HEADER_BYTES = 12;
/** Frames start on 8-byte boundaries so a zero `len` word is always read whole. */
export const FRAME_ALIGN_BYTES = 8;
/** Entry payload header: index u64, term u64, entry type u32. */
const ENTRY_HEADER_BYTES = 20;
const U32_RANGE = 2 ** 32;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

export function alignUp(n: number): number {
  return Math.ceil(n / FRAME_ALIGN_BYTES) * FRAME_ALIGN_BYTES;
}

function writeU64(view: DataView, offset: number, n: number): void {
  assert(Number.isSafeInteger(n) && n >= 0, `wal: u64 out of range: ${n}`);
  view.setUint32(offset, n % U32_RANGE, true);
  view.setUint32(offset + 4, Math.floor(n / U32_RANGE), true);
}

function readU64(view: DataView, offset: number): number {
  const n = view.getUint32(offset, true) + view.getUint32(offset + 4, true) * U32_RANGE;
  assert(Number.isSafeInteger(n), `wal: u64 at ${offset} is not a safe integer`);
  return n;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A zeroed buffer with a DataView over it. Made from an ArrayBuffer: reading `.buffer` of a
 * fresh small Uint8Array makes JSC materialise one, which cost ~7% of a follower's CPU.
 */
function freshBuffer(bytes: number): { out: Uint8Array; view: DataView } {
  const ab = new ArrayBuffer(bytes);
  return { out: new Uint8Array(ab), view: new DataView(ab) };
}

/** Bytes of the frame that holds `entry`. */
export function entryFrameBytes(entry: Entry): number {
  return alignUp(FRAME_HEADER_BYTES + ENTRY_HEADER_BYTES + entry.data.length);
}

/**
 * Encodes `entries` as consecutive frames in one buffer, chained from `prevCrc` (the same
 * bytes `encodeFrame` gives for each, without a buffer per record). `totalBytes` must be the
 * sum of their `entryFrameBytes`. Returns the frames and the last record's crc.
 */
export function encodeEntryFrames(
  entries: readonly Entry[],
  prevCrc: number,
  totalBytes: number,
): { frames: Uint8Array; crc: number } {
  const { out, view } = freshBuffer(totalBytes);
  let crc = prevCrc;
  let offset = 0;
  for (const entry of entries) {
    const len = 4 + ENTRY_HEADER_BYTES + entry.data.length;
    view.setUint32(offset, len, true);
    view.setUint32(offset + 8, RecordCode.entry, true);
    writeU64(view, offset + 12, entry.index);
    writeU64(view, offset + 20, entry.term);
    view.setUint32(offset + 28, entry.type === "normal" ? 0 : 1, true);
    out.set(entry.data, offset + FRAME_HEADER_BYTES + ENTRY_HEADER_BYTES);
    crc = crc32(out.subarray(offset + 8, offset + 8 + len), crc);
    view.setUint32(offset + 4, crc, true);
    offset += alignUp(8 + len);
  }
  assert(offset === totalBytes, "wal: entry frames size mismatch");
  return { frames: out, crc };
}

/** The payload as a head (small, freshly encoded) and a body (entry data, not copied). */
function encodePayload(record: WalRecord): { head: Uint8Array; body: Uint8Array } {
  const none = new Uint8Array(0);
  switch (record.type) {
    case "metadata":
      return { head: textEncoder.encode(JSON.stringify(record.metadata)), body: none };
    case "entry": {
      const head = new Uint8Array(ENTRY_HEADER_BYTES);
      const view = viewOf(head);
      writeU64(view, 0, record.entry.index);
      writeU64(view, 8, record.entry.term);
      view.setUint32(16, record.entry.type === "normal" ? 0 : 1, true);
      return { head, body: record.entry.data };
    }
    case "hardState": {
      const vote = textEncoder.encode(record.hardState.vote);
      const head = new Uint8Array(16 + vote.length);
      writeU64(viewOf(head), 0, record.hardState.term);
      writeU64(viewOf(head), 8, record.hardState.commit);
      head.set(vote, 16);
      return { head, body: none };
    }
    case "crc": {
      const head = new Uint8Array(4);
      viewOf(head).setUint32(0, record.prevCrc, true);
      return { head, body: none };
    }
    case "snapshot": {
      const head = new Uint8Array(16);
      writeU64(viewOf(head), 0, record.snapshot.index);
      writeU64(viewOf(head), 8, record.snapshot.term);
      return { head, body: none };
    }
  }
}

/**
 * Encodes `record` as one frame chained from `prevCrc`. Returns the frame (length a multiple
 * of 8) and the record's crc, which seeds the next record.
 */
export function encodeFrame(
  record: WalRecord,
  prevCrc: number,
): { frame: Uint8Array; crc: number } {
  const { head, body } = encodePayload(record);
  const len = 4 + head.length + body.length;
  const { out: frame, view } = freshBuffer(alignUp(8 + len));
  view.setUint32(0, len, true);
  view.setUint32(8, RecordCode[record.type], true);
  frame.set(head, FRAME_HEADER_BYTES);
  frame.set(body, FRAME_HEADER_BYTES + head.length);
  const crc = crc32(frame.subarray(8, 8 + len), prevCrc);
  view.setUint32(4, crc, true);
  // Read back what we are about to persist: a codec bug must not reach the disk.
  assert(frame.length % FRAME_ALIGN_BYTES === 0, "wal: frame not aligned");
  assert(view.getUint32(0, true) === len && len >= 4, "wal: frame length not encoded");
  return { frame, crc };
}

export type FrameRead =
  | { kind: "end" }
  | { kind: "invalid"; reason: string; extentBytes: number }
  | { kind: "frame"; code: number; storedCrc: number; covered: Uint8Array; sizeBytes: number };

/**
 * Reads the frame at `offset` without checking its crc (the caller knows the chain seed).
 * `end` = a zero length word or the end of `buf`; `invalid` = a length that cannot be right or
 * a frame that runs past the end of `buf` (`extentBytes` = bytes the bad frame claims).
 */
export function readFrame(buf: Uint8Array, offset: number): FrameRead {
  assert(offset % FRAME_ALIGN_BYTES === 0, `wal: unaligned read offset ${offset}`);
  const remaining = buf.length - offset;
  if (remaining === 0) return { kind: "end" };
  if (remaining < FRAME_HEADER_BYTES) {
    const zero = buf.subarray(offset).every((b) => b === 0);
    return zero
      ? { kind: "end" }
      : { kind: "invalid", reason: "short header", extentBytes: remaining };
  }
  const view = viewOf(buf.subarray(offset));
  const len = view.getUint32(0, true);
  if (len === 0) return { kind: "end" };
  if (len < 4) return { kind: "invalid", reason: `bad length ${len}`, extentBytes: 8 };
  if (8 + len > remaining) {
    return {
      kind: "invalid",
      reason: `record of ${len} bytes runs past end`,
      extentBytes: remaining,
    };
  }
  return {
    kind: "frame",
    code: view.getUint32(8, true),
    storedCrc: view.getUint32(4, true),
    covered: buf.subarray(offset + 8, offset + 8 + len),
    sizeBytes: Math.min(alignUp(8 + len), remaining),
  };
}

/** Decodes the type word + payload of a crc-valid frame. Copies entry data out of `covered`. */
export function decodeRecord(code: number, covered: Uint8Array): WalRecord | string {
  const payload = covered.subarray(4);
  const view = viewOf(payload);
  switch (code) {
    case RecordCode.metadata:
      return decodeMetadata(payload);
    case RecordCode.entry: {
      if (payload.length < ENTRY_HEADER_BYTES) return "short entry record";
      const kind = view.getUint32(16, true);
      if (kind > 1) return `bad entry type ${kind}`;
      const entry: Entry = {
        index: readU64(view, 0),
        term: readU64(view, 8),
        type: kind === 0 ? "normal" : "confChange",
        // A copy, as a plain Uint8Array: the entry must not pin (or alias) the segment buffer.
        data: new Uint8Array(payload.subarray(ENTRY_HEADER_BYTES)),
      };
      return { type: "entry", entry };
    }
    case RecordCode.hardState: {
      if (payload.length < 16) return "short hardState record";
      const vote = textDecoder.decode(payload.subarray(16));
      return {
        type: "hardState",
        hardState: { term: readU64(view, 0), commit: readU64(view, 8), vote },
      };
    }
    case RecordCode.crc:
      if (payload.length !== 4) return "bad crc record";
      return { type: "crc", prevCrc: view.getUint32(0, true) };
    case RecordCode.snapshot:
      if (payload.length !== 16) return "bad snapshot record";
      return { type: "snapshot", snapshot: { index: readU64(view, 0), term: readU64(view, 8) } };
    default:
      return `unknown record type ${code}`;
  }
}

function decodeMetadata(payload: Uint8Array): WalRecord | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(payload));
  } catch (err) {
    return `bad metadata record: ${String(err)}`;
  }
  if (typeof parsed !== "object" || parsed === null) return "bad metadata record";
  const { memberId, clusterId } = parsed as Record<string, unknown>;
  if (typeof memberId !== "string" || typeof clusterId !== "string") return "bad metadata record";
  return { type: "metadata", metadata: { memberId, clusterId } };
}
