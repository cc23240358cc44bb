import { describe, expect, test } from "bun:test";
import type { Entry, Message } from "../../src/raft/types.ts";
import {
  CODEC_VERSION,
  CodecError,
  decodeMessages,
  encodedBytesMax,
  encodeMessages,
} from "../../src/transport/codec.ts";

const A = "2e1259d415f2a040";
const B = "91bc3c398fb3c146";
const bytes = (...xs: number[]) => new Uint8Array(xs);
const entry = (index: number, data: Uint8Array, type: Entry["type"] = "normal"): Entry => ({
  term: 7,
  index,
  type,
  data,
});
const base = { from: A, to: B, term: 7 };

/** One sample of every message variant, with edge values (0, 2^53 − 1, empty, non-ASCII). */
const samples: Message[] = [
  {
    type: "MsgApp",
    ...base,
    index: 41,
    logTerm: 6,
    commit: 40,
    entries: [entry(42, bytes(1, 2, 3)), entry(43, bytes(), "confChange"), entry(44, bytes(255))],
  },
  { type: "MsgApp", ...base, index: 0, logTerm: 0, commit: 0, entries: [] },
  {
    type: "MsgAppResp",
    ...base,
    index: Number.MAX_SAFE_INTEGER,
    reject: true,
    rejectHint: 2 ** 40,
    logTerm: 2 ** 31,
  },
  { type: "MsgAppResp", ...base, index: 5, reject: false, rejectHint: 0, logTerm: 0 },
  { type: "MsgVote", ...base, index: 9, logTerm: 3, transfer: true },
  { type: "MsgVoteResp", ...base, reject: false },
  { type: "MsgPreVote", ...base, term: 8, index: 9, logTerm: 3, transfer: false },
  { type: "MsgPreVoteResp", ...base, term: 8, reject: true },
  { type: "MsgHeartbeat", ...base, commit: 12, context: "" },
  { type: "MsgHeartbeat", ...base, commit: 12, context: "read-ctx-ü-✓-😀" },
  { type: "MsgHeartbeatResp", ...base, context: "x".repeat(300) },
  {
    type: "MsgSnap",
    ...base,
    snapshot: { meta: { index: 100, term: 6, confState: { voters: [A, B] } }, data: bytes(9, 8) },
  },
  {
    type: "MsgSnap",
    ...base,
    snapshot: { meta: { index: 0, term: 0, confState: { voters: [] } }, data: bytes() },
  },
  { type: "MsgTimeoutNow", ...base },
  { type: "MsgTransferLeader", from: "c", to: B, term: 7 },
  { type: "MsgReadIndex", ...base, term: 0, context: "r1" },
  { type: "MsgReadIndexResp", ...base, index: 77, context: "r1" },
  { type: "MsgProp", ...base, term: 0, entries: [entry(0, bytes(1)), entry(0, bytes(2))] },
];

describe("codec", () => {
  test.each(samples.map((m) => [m.type, m] as const))("round-trips %s", (_type, m) => {
    const frame = encodeMessages([m]);
    expect(frame[0]).toBe(CODEC_VERSION);
    expect(frame.byteLength).toBeLessThanOrEqual(encodedBytesMax([m]));
    expect(decodeMessages(frame)).toEqual([m]);
  });

  test("every message type has a sample", () => {
    const types = new Set(samples.map((m) => m.type));
    expect(types.size).toBe(14);
  });

  test("round-trips a mixed batch in order, ids written once", () => {
    const frame = encodeMessages(samples);
    expect(decodeMessages(frame)).toEqual(samples);
    const idBytes = new TextEncoder().encode(A);
    let occurrences = 0;
    for (let i = 0; i + idBytes.length <= frame.length; i++) {
      if (idBytes.every((b, j) => frame[i + j] === b)) occurrences++;
    }
    expect(occurrences).toBe(2); // once in the id table, once as a snapshot voter
  });

  test("ids of equal length from successive frames are told apart (id cache)", () => {
    const heartbeat = (from: string, to: string): Message => ({
      type: "MsgHeartbeat",
      from,
      to,
      term: 3,
      commit: 1,
      context: "",
    });
    const C = "2e1259d415f2a041"; // same length as A, one byte different
    for (const [from, to] of [
      [A, B],
      [C, B],
      [B, C],
      [A, C],
      ["é1259d415f2a04", A],
    ] as const) {
      expect(decodeMessages(encodeMessages([heartbeat(from, to)]))).toEqual([heartbeat(from, to)]);
    }
    for (let i = 0; i < 20; i++) {
      const id = `node-${i}`.padEnd(16, "x");
      expect(decodeMessages(encodeMessages([heartbeat(id, A)]))[0]?.from).toBe(id);
    }
  });

  test("entry data is carried raw (no base64/JSON inflation) and decoded as views", () => {
    const data = new Uint8Array(256).map((_, i) => i);
    const entries = Array.from({ length: 64 }, (_, i) => entry(i + 1, data));
    const m: Message = { type: "MsgApp", ...base, index: 0, logTerm: 0, commit: 0, entries };
    const frame = encodeMessages([m]);
    expect(frame.byteLength).toBeLessThan(64 * (256 + 8) + 64);
    const [out] = decodeMessages(frame);
    if (out?.type !== "MsgApp") throw new Error("expected MsgApp");
    expect(out.entries[63]?.data).toEqual(data);
    expect(out.entries[0]?.data.buffer).toBe(frame.buffer);
  });

  test("rejects truncated, trailing, and malformed frames with CodecError", () => {
    const frame = encodeMessages(samples);
    for (let n = 0; n < frame.byteLength; n += 7) {
      expect(() => decodeMessages(frame.subarray(0, n))).toThrow(CodecError);
    }
    const trailing = new Uint8Array(frame.byteLength + 1);
    trailing.set(frame);
    expect(() => decodeMessages(trailing)).toThrow(CodecError);
    expect(() => decodeMessages(bytes(CODEC_VERSION + 1, 0, 0))).toThrow("unknown codec version");
    expect(() => decodeMessages(bytes(CODEC_VERSION, 0, 1, 99, 0, 0, 0))).toThrow(CodecError);
    // A huge message count in a tiny frame is refused before allocating.
    expect(() => decodeMessages(bytes(CODEC_VERSION, 0, 0xff, 0xff, 0xff, 0x7f))).toThrow(
      "exceeds frame",
    );
    // A varint past 2^53.
    const big = bytes(CODEC_VERSION, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f);
    expect(() => decodeMessages(big)).toThrow(CodecError);
  });

  test("refuses to encode a non-integer term (a bug, not a wire error)", () => {
    const m: Message = { type: "MsgVoteResp", ...base, term: 1.5, reject: false };
    expect(() => encodeMessages([m])).toThrow("safe integer");
  });
});
