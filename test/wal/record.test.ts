import { describe, expect, test } from "bun:test";
import { crc32 } from "../../src/util/crc.ts";
import {
  decodeRecord,
  encodeEntryFrames,
  encodeFrame,
  entryFrameBytes,
  readFrame,
  type WalRecord,
} from "../../src/wal/record.ts";
import type { Entry } from "../../src/wal/types.ts";
import { entryData } from "./helpers.ts";

const records: WalRecord[] = [
  { type: "crc", prevCrc: 0xdeadbeef },
  { type: "metadata", metadata: { memberId: "a1", clusterId: "c-ü" } },
  {
    type: "entry",
    entry: { index: 2 ** 40 + 3, term: 7, type: "confChange", data: entryData(1, 1, 33) },
  },
  { type: "entry", entry: { index: 1, term: 0, type: "normal", data: new Uint8Array(0) } },
  { type: "hardState", hardState: { term: 9, vote: "node-2", commit: 2 ** 33 } },
  { type: "hardState", hardState: { term: 0, vote: "", commit: 0 } },
  { type: "snapshot", snapshot: { index: Number.MAX_SAFE_INTEGER, term: 3 } },
];

describe("record codec", () => {
  test.each(records.map((r) => [r.type, r] as const))("%s round-trips", (_, record) => {
    const seed = 12345;
    const { frame, crc } = encodeFrame(record, seed);
    expect(frame.length % 8).toBe(0);
    const read = readFrame(frame, 0);
    if (read.kind !== "frame") throw new Error(`expected a frame, got ${read.kind}`);
    expect(read.storedCrc).toBe(crc);
    expect(crc32(read.covered, seed)).toBe(crc);
    expect(read.sizeBytes).toBe(frame.length);
    expect(decodeRecord(read.code, read.covered)).toEqual(record);
  });

  test("a zero length word is the end; a short frame is invalid", () => {
    expect(readFrame(new Uint8Array(64), 0).kind).toBe("end");
    const { frame } = encodeFrame(records[2] as WalRecord, 0);
    const read = readFrame(frame.subarray(0, frame.length - 16), 0);
    expect(read.kind).toBe("invalid");
  });

  test("chained crc differs with the seed", () => {
    const a = encodeFrame(records[1] as WalRecord, 1);
    const b = encodeFrame(records[1] as WalRecord, 2);
    expect(a.crc).not.toBe(b.crc);
  });

  test("a batch of entry frames is byte for byte the frames encoded one by one", () => {
    const entries: Entry[] = [0, 1, 7, 300, 2].map((size, i) => ({
      index: 2 ** 33 + i,
      term: 5,
      type: i === 3 ? "confChange" : "normal",
      data: entryData(i, 5, size),
    }));
    let crc = 777;
    const parts: number[] = [];
    for (const entry of entries) {
      const one = encodeFrame({ type: "entry", entry }, crc);
      expect(one.frame.length).toBe(entryFrameBytes(entry));
      parts.push(...one.frame);
      crc = one.crc;
    }
    const total = entries.reduce((n, e) => n + entryFrameBytes(e), 0);
    const batch = encodeEntryFrames(entries, 777, total);
    expect([...batch.frames]).toEqual(parts);
    expect(batch.crc).toBe(crc);
  });
});
