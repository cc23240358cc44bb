/**
 * Binary encoding of a batch of Raft messages: the payload of one peer-stream frame and of a
 * snapshot POST body.
 *
 * Layout (varint = unsigned LEB128, at most 8 bytes, value ≤ 2^53 − 1):
 *   frame   = version:u8 idCount:varint id* count:varint message*
 *   id      = string                       (the batch's distinct node ids, each written once)
 *   string  = byteLength:varint utf8
 *   message = type:u8 fromIdx:varint toIdx:varint term:varint body
 *   entry   = term:varint index:varint type:u8 dataLength:varint data
 * Bodies per type are in `writeBody`/`readBody`; booleans are one byte, 0 or 1.
 *
 * Encoding sizes the output once (an upper bound), allocates one buffer and copies each payload
 * once. Decoding returns payloads (`Entry.data`, `Snapshot.data`) as zero-copy views into the
 * frame: the frame buffer must not be reused afterwards. Decoding validates every field, since
 * frames come from the network; a bad frame throws `CodecError` (not an assertion failure).
 *
 * Must not: know about sockets, peers or Raft rules.
 */

import {
  type Entry,
  type EntryType,
  MESSAGE_TYPES,
  type Message,
  type MessageType,
  type Snapshot,
} from "../raft/types.ts";
import { assert, assertNever } from "../util/assert.ts";

/** Bumped on any layout change; a receiver rejects frames of another version. */
export const CODEC_VERSION = 1;

/** Thrown when a received frame is malformed; the connection that carried it is closed. */
export class CodecError extends Error {
  override name = "CodecError";
}

/** Wire codes: a message kind's position in MESSAGE_TYPES (append-only). */
const MESSAGE_TYPE_CODES = new Map<MessageType, number>(MESSAGE_TYPES.map((t, i) => [t, i]));
const ENTRY_TYPES: readonly EntryType[] = ["normal", "confChange"];

/** A varint carrying a value below 2^53 needs at most 8 bytes (8 × 7 bits = 56 bits). */
const VARINT_BYTES_MAX = 8;
/** Upper bound of the fixed part of any message: type byte plus six varints plus two flags. */
const MESSAGE_FIXED_BYTES_MAX = 1 + 8 * VARINT_BYTES_MAX + 2;
/** Fixed part of an entry: three varints and a type byte. */
const ENTRY_FIXED_BYTES_MAX = 1 + 3 * VARINT_BYTES_MAX;
/** Ids longer than this are not member ids; the limit keeps a bad frame from costing much. */
const ID_BYTES_MAX = 255;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** Worst-case UTF-8 bytes of a string (3 per UTF-16 unit) plus its length prefix. */
function stringBytesMax(s: string): number {
  return VARINT_BYTES_MAX + 3 * s.length;
}

class Writer {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  bool(v: boolean): void {
    this.buf[this.pos++] = v ? 1 : 0;
  }

  varint(v: number): void {
    assert(Number.isSafeInteger(v) && v >= 0, `codec: not a non-negative safe integer: ${v}`);
    const buf = this.buf;
    if (v < 0x80000000) {
      while (v > 0x7f) {
        buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[this.pos++] = v;
      return;
    }
    while (v > 0x7f) {
      buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[this.pos++] = v;
  }

  bytes(data: Uint8Array): void {
    this.varint(data.byteLength);
    this.buf.set(data, this.pos);
    this.pos += data.byteLength;
  }

  string(s: string): void {
    const n = s.length;
    // Fast path: short ASCII strings (ids, read contexts) are copied byte by byte.
    if (n < 0x80) {
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[start + i] = c;
      }
      if (i === n) {
        this.buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const encoded = utf8Encoder.encode(s);
    this.bytes(encoded);
  }
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.byteLength) throw new CodecError("frame truncated");
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) throw new CodecError(`bad boolean byte ${b}`);
    return b === 1;
  }

  varint(): number {
    const buf = this.buf;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      if (this.pos >= buf.byteLength) throw new CodecError("frame truncated in varint");
      const b = buf[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new CodecError("varint above 2^53");
        return result;
      }
      scale *= 0x80;
    }
    throw new CodecError("varint too long");
  }

  bytes(): Uint8Array {
    const n = this.varint();
    this.need(n);
    const view = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return view;
  }

  /** `remember`: a string that recurs in every frame (an id), worth caching. */
  string(remember = false): string {
    const n = this.varint();
    this.need(n);
    const buf = this.buf;
    const start = this.pos;
    this.pos += n;
    if (n <= 32) {
      const known = recentStrings.find(buf, start, n);
      if (known !== undefined) return known;
      let s = "";
      for (let i = start; i < start + n; i++) {
        const c = buf[i] as number;
        if (c >= 0x80) return decodeUtf8(buf.subarray(start, start + n));
        s += String.fromCharCode(c);
      }
      if (remember) recentStrings.remember(buf, start, n, s);
      return s;
    }
    return decodeUtf8(buf.subarray(start, start + n));
  }
}

/**
 * The last few short strings decoded (member ids, which every frame repeats), so the next
 * frame gets them without building new strings.
 */
class RecentStrings {
  private readonly entries: { bytes: Uint8Array; str: string }[] = [];
  private next = 0;

  find(buf: Uint8Array, start: number, n: number): string | undefined {
    for (const e of this.entries) {
      const b = e.bytes;
      if (b.length !== n) continue;
      let i = 0;
      while (i < n && b[i] === buf[start + i]) i++;
      if (i === n) return e.str;
    }
    return undefined;
  }

  remember(buf: Uint8Array, start: number, n: number, str: string): void {
    const entry = { bytes: buf.slice(start, start + n), str };
    if (this.entries.length < RECENT_STRINGS) this.entries.push(entry);
    else this.entries[this.next] = entry;
    this.next = (this.next + 1) % RECENT_STRINGS;
  }
}

const RECENT_STRINGS = 8;
const recentStrings = new RecentStrings();

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (e) {
    throw new CodecError(`invalid UTF-8 string: ${String(e)}`);
  }
}

function entriesBytesMax(entries: readonly Entry[]): number {
  let n = VARINT_BYTES_MAX;
  for (const e of entries) n += ENTRY_FIXED_BYTES_MAX + e.data.byteLength;
  return n;
}

/** An upper bound of the encoded size of `m` without its ids (they go in the frame header). */
function messageBytesMax(m: Message): number {
  switch (m.type) {
    case "MsgApp":
    case "MsgProp":
      return MESSAGE_FIXED_BYTES_MAX + entriesBytesMax(m.entries);
    case "MsgHeartbeat":
    case "MsgHeartbeatResp":
    case "MsgReadIndex":
    case "MsgReadIndexResp":
      return MESSAGE_FIXED_BYTES_MAX + stringBytesMax(m.context);
    case "MsgSnap": {
      let n = MESSAGE_FIXED_BYTES_MAX + 3 * VARINT_BYTES_MAX + m.snapshot.data.byteLength;
      for (const v of m.snapshot.meta.confState.voters) n += stringBytesMax(v);
      return n;
    }
    default:
      return MESSAGE_FIXED_BYTES_MAX;
  }
}

/** An upper bound of `encodeMessages(msgs).byteLength`, for splitting batches into frames. */
export function encodedBytesMax(msgs: readonly Message[]): number {
  let n = 1 + 2 * VARINT_BYTES_MAX;
  for (const m of msgs) {
    n += messageBytesMax(m) + stringBytesMax(m.from) + stringBytesMax(m.to);
  }
  return n;
}

function writeEntries(w: Writer, entries: readonly Entry[]): void {
  w.varint(entries.length);
  for (const e of entries) {
    w.varint(e.term);
    w.varint(e.index);
    w.u8(e.type === "normal" ? 0 : 1);
    w.bytes(e.data);
  }
}

function writeBody(w: Writer, m: Message): void {
  switch (m.type) {
    case "MsgApp":
      w.varint(m.index);
      w.varint(m.logTerm);
      w.varint(m.commit);
      writeEntries(w, m.entries);
      return;
    case "MsgAppResp":
      w.varint(m.index);
      w.bool(m.reject);
      w.varint(m.rejectHint);
      w.varint(m.logTerm);
      return;
    case "MsgVote":
    case "MsgPreVote":
      w.varint(m.index);
      w.varint(m.logTerm);
      w.bool(m.transfer);
      return;
    case "MsgVoteResp":
    case "MsgPreVoteResp":
      w.bool(m.reject);
      return;
    case "MsgHeartbeat":
      w.varint(m.commit);
      w.string(m.context);
      return;
    case "MsgHeartbeatResp":
    case "MsgReadIndex":
      w.string(m.context);
      return;
    case "MsgReadIndexResp":
      w.varint(m.index);
      w.string(m.context);
      return;
    case "MsgSnap":
      writeSnapshot(w, m.snapshot);
      return;
    case "MsgTimeoutNow":
    case "MsgTransferLeader":
      return;
    case "MsgProp":
      writeEntries(w, m.entries);
      return;
    default:
      assertNever(m, "codec: unknown message");
  }
}

function writeSnapshot(w: Writer, s: Snapshot): void {
  w.varint(s.meta.index);
  w.varint(s.meta.term);
  const voters = s.meta.confState.voters;
  w.varint(voters.length);
  for (const v of voters) w.string(v);
  w.bytes(s.data);
}

/** Returns the index of `id` in `ids`, appending it if new (batches hold a handful of ids). */
function internId(ids: string[], id: string): number {
  const i = ids.indexOf(id);
  if (i >= 0) return i;
  assert(id.length <= ID_BYTES_MAX, `codec: node id too long: ${id.length}`);
  ids.push(id);
  return ids.length - 1;
}

/**
 * Encodes `msgs` (in order) into one frame. The result is a view of a buffer owned by the
 * caller; payload bytes are copied, so the messages may be mutated afterwards.
 */
export function encodeMessages(msgs: readonly Message[]): Uint8Array {
  const ids: string[] = [];
  const idIndexes = new Array<number>(2 * msgs.length);
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as Message;
    idIndexes[2 * i] = internId(ids, m.from);
    idIndexes[2 * i + 1] = internId(ids, m.to);
  }
  const w = new Writer(new Uint8Array(encodedBytesMax(msgs)));
  w.u8(CODEC_VERSION);
  w.varint(ids.length);
  for (const id of ids) w.string(id);
  w.varint(msgs.length);
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as Message;
    w.u8(MESSAGE_TYPE_CODES.get(m.type) as number);
    w.varint(idIndexes[2 * i] as number);
    w.varint(idIndexes[2 * i + 1] as number);
    w.varint(m.term);
    writeBody(w, m);
  }
  assert(w.pos <= w.buf.byteLength, "codec: size bound exceeded");
  return w.buf.subarray(0, w.pos);
}

function readEntries(r: Reader): Entry[] {
  const n = r.varint();
  // Each entry takes at least 4 bytes, so a count beyond that is a lie; refuse before allocating.
  if (n * 4 > r.buf.byteLength - r.pos) throw new CodecError(`entry count ${n} exceeds frame`);
  const entries = new Array<Entry>(n);
  for (let i = 0; i < n; i++) {
    const term = r.varint();
    const index = r.varint();
    const type = ENTRY_TYPES[r.u8()];
    if (type === undefined) throw new CodecError("bad entry type");
    entries[i] = { term, index, type, data: r.bytes() };
  }
  return entries;
}

function readSnapshot(r: Reader): Snapshot {
  const index = r.varint();
  const term = r.varint();
  const voterCount = r.varint();
  if (voterCount > r.buf.byteLength - r.pos) throw new CodecError("voter count exceeds frame");
  const voters: string[] = [];
  for (let i = 0; i < voterCount; i++) voters.push(r.string());
  return { meta: { index, term, confState: { voters } }, data: r.bytes() };
}

type Head = { from: string; to: string; term: number };

function readBody(r: Reader, type: MessageType, h: Head): Message {
  switch (type) {
    case "MsgApp": {
      const index = r.varint();
      const logTerm = r.varint();
      const commit = r.varint();
      return {
        type,
        from: h.from,
        to: h.to,
        term: h.term,
        index,
        logTerm,
        commit,
        entries: readEntries(r),
      };
    }
    case "MsgAppResp": {
      const index = r.varint();
      const reject = r.bool();
      const rejectHint = r.varint();
      return {
        type,
        from: h.from,
        to: h.to,
        term: h.term,
        index,
        reject,
        rejectHint,
        logTerm: r.varint(),
      };
    }
    case "MsgVote":
    case "MsgPreVote": {
      const index = r.varint();
      const logTerm = r.varint();
      return { type, from: h.from, to: h.to, term: h.term, index, logTerm, transfer: r.bool() };
    }
    case "MsgVoteResp":
    case "MsgPreVoteResp":
      return { type, from: h.from, to: h.to, term: h.term, reject: r.bool() };
    case "MsgHeartbeat": {
      const commit = r.varint();
      return { type, from: h.from, to: h.to, term: h.term, commit, context: r.string() };
    }
    case "MsgHeartbeatResp":
    case "MsgReadIndex":
      return { type, from: h.from, to: h.to, term: h.term, context: r.string() };
    case "MsgReadIndexResp": {
      const index = r.varint();
      return { type, from: h.from, to: h.to, term: h.term, index, context: r.string() };
    }
    case "MsgSnap":
      return { type, from: h.from, to: h.to, term: h.term, snapshot: readSnapshot(r) };
    case "MsgTimeoutNow":
    case "MsgTransferLeader":
      return { type, from: h.from, to: h.to, term: h.term };
    case "MsgProp":
      return { type, from: h.from, to: h.to, term: h.term, entries: readEntries(r) };
    default:
      return assertNever(type, "codec: unknown message type");
  }
}

/**
 * Decodes a frame made by `encodeMessages`, in order. Payloads are views into `frame`.
 * Throws `CodecError` on any malformed, truncated or trailing data.
 */
export function decodeMessages(frame: Uint8Array): Message[] {
  const r = new Reader(frame);
  const version = r.u8();
  if (version !== CODEC_VERSION) throw new CodecError(`unknown codec version ${version}`);
  const idCount = r.varint();
  if (idCount > frame.byteLength) throw new CodecError("id count exceeds frame");
  const ids: string[] = [];
  for (let i = 0; i < idCount; i++) ids.push(r.string(true));
  const count = r.varint();
  // Every message takes at least 4 bytes (type, two id indexes, term).
  if (count * 4 > frame.byteLength - r.pos)
    throw new CodecError(`message count ${count} exceeds frame`);
  const msgs = new Array<Message>(count);
  for (let i = 0; i < count; i++) {
    const type = MESSAGE_TYPES[r.u8()];
    if (type === undefined) throw new CodecError("unknown message type");
    const from = ids[r.varint()];
    const to = ids[r.varint()];
    if (from === undefined || to === undefined) throw new CodecError("bad id index");
    msgs[i] = readBody(r, type, { from, to, term: r.varint() });
  }
  if (r.pos !== frame.byteLength) throw new CodecError("trailing bytes after messages");
  return msgs;
}
