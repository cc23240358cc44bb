/**
 * Damage on disk: torn tails (repaired, because they were never acknowledged) versus corruption
 * of acknowledged records (refused, naming the file and offset).
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { Wal, WalError } from "../../src/wal/index.ts";
import { encodeFrame, readFrame } from "../../src/wal/record.ts";
import {
  META,
  makeEntry,
  makeTempDir,
  range,
  removeDir,
  SMALL_SEGMENT_BYTES,
  segmentFiles,
} from "./helpers.ts";

const opts = { segmentSizeBytes: SMALL_SEGMENT_BYTES, log: () => {} };

/** Offsets and sizes of the frames in a segment file, in order. */
function frames(file: string): { offset: number; size: number; crc: number }[] {
  const buf = fs.readFileSync(file);
  const out: { offset: number; size: number; crc: number }[] = [];
  for (let offset = 0; ; ) {
    const f = readFrame(buf, offset);
    if (f.kind !== "frame") return out;
    out.push({ offset, size: f.sizeBytes, crc: f.storedCrc });
    offset += f.sizeBytes;
  }
}

function patch(file: string, offset: number, bytes: Uint8Array): void {
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, bytes, 0, bytes.length, offset);
  fs.closeSync(fd);
}

function flipBit(file: string, offset: number): void {
  const buf = fs.readFileSync(file);
  patch(file, offset, new Uint8Array([(buf[offset] ?? 0) ^ 0x10]));
}

describe("WAL repair and corruption", () => {
  let root = "";
  let dir = "";
  beforeEach(() => {
    root = makeTempDir("walrepair");
    dir = path.join(root, "wal");
  });
  afterEach(() => removeDir(root));

  /** A WAL with entries 1..n (one per save) in a single segment; returns the segment path. */
  async function writeLog(n: number): Promise<string> {
    const wal = await Wal.create(dir, META, opts);
    for (let i = 1; i <= n; i++)
      await wal.save({ term: 1, vote: "a", commit: i - 1 }, [makeEntry(i)]);
    await wal.close();
    const files = segmentFiles(dir);
    expect(files.length).toBe(1);
    return path.join(dir, files[0] ?? "");
  }

  /** Opens, checks entries 1..expected, appends one more, reopens and checks again. */
  async function expectRepairedTo(expected: number): Promise<string[]> {
    const logs: string[] = [];
    const r = await Wal.open(dir, undefined, { ...opts, log: (m) => logs.push(m) });
    expect(r.entries).toEqual(range(1, expected));
    await r.wal.save(undefined, [makeEntry(expected + 1, 2)]);
    await r.wal.close();
    const again = await Wal.open(dir, undefined, opts);
    expect(again.entries).toEqual([...range(1, expected), makeEntry(expected + 1, 2)]);
    await again.wal.close();
    return logs;
  }

  test("last record truncated midway (short file) is repaired", async () => {
    const file = await writeLog(10);
    const last = frames(file).at(-2); // the entry before the final hardState record
    expect(last).toBeDefined();
    fs.truncateSync(file, (last?.offset ?? 0) + 20);
    const logs = await expectRepairedTo(9);
    expect(logs.join("\n")).toContain("torn record");
    expect(fs.statSync(file).size).toBe(SMALL_SEGMENT_BYTES);
  });

  test("zeroed tail of the last record is repaired", async () => {
    const file = await writeLog(10);
    const last = frames(file).at(-1); // final hardState record
    patch(file, (last?.offset ?? 0) + 16, new Uint8Array((last?.size ?? 0) - 16));
    // The hardState after entry 10 is lost, the entry itself is intact.
    await expectRepairedTo(10);
  });

  test("half-written frame: header only, data still zero", async () => {
    const file = await writeLog(5);
    const end = frames(file).at(-1);
    const offset = (end?.offset ?? 0) + (end?.size ?? 0);
    const { frame } = encodeFrame({ type: "entry", entry: makeEntry(6) }, end?.crc ?? 0);
    patch(file, offset, frame.subarray(0, 12));
    await expectRepairedTo(5);
  });

  test("half-written frame: data present, length word still zero", async () => {
    const file = await writeLog(5);
    const end = frames(file).at(-1);
    const offset = (end?.offset ?? 0) + (end?.size ?? 0);
    const { frame } = encodeFrame({ type: "entry", entry: makeEntry(6) }, end?.crc ?? 0);
    patch(file, offset + 8, frame.subarray(8));
    const logs = await expectRepairedTo(5);
    expect(logs.join("\n")).toContain("stray bytes");
  });

  test("a flipped bit in a middle record is refused with file and offset", async () => {
    const file = await writeLog(10);
    const victim = frames(file)[8];
    flipBit(file, (victim?.offset ?? 0) + 14);
    const err = await Wal.open(dir, undefined, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalError);
    expect(String(err)).toContain(`crc mismatch in ${file} at offset ${victim?.offset}`);
  });

  test("a flipped bit in a middle record's length word is refused", async () => {
    const file = await writeLog(10);
    const victim = frames(file)[8];
    flipBit(file, (victim?.offset ?? 0) + 2); // length grows by 1 MiB: runs past the end
    await expect(Wal.open(dir, undefined, opts)).rejects.toThrow("valid records follow");
  });

  test("a zeroed length word in front of acknowledged records is refused", async () => {
    const file = await writeLog(10);
    const victim = frames(file)[8];
    patch(file, victim?.offset ?? 0, new Uint8Array(4));
    await expect(Wal.open(dir, undefined, opts)).rejects.toThrow("zero record length");
  });

  test("corruption and truncation of a non-last segment are refused", async () => {
    const wal = await Wal.create(dir, META, opts);
    let index = 0;
    while (segmentFiles(dir).length < 3) {
      await wal.save(undefined, range(index + 1, index + 20, 1, 200));
      index += 20;
    }
    await wal.close();
    const first = path.join(dir, segmentFiles(dir)[0] ?? "");
    const saved = fs.readFileSync(first);
    const fr = frames(first);

    // Truncated midway through its last record.
    fs.truncateSync(first, (fr.at(-1)?.offset ?? 0) + 30);
    await expect(Wal.open(dir, undefined, opts)).rejects.toThrow("not the last segment");
    // Truncated exactly at a frame boundary: the next segment's crc chain no longer matches.
    fs.writeFileSync(first, saved);
    fs.truncateSync(first, fr.at(-1)?.offset ?? 0);
    await expect(Wal.open(dir, undefined, opts)).rejects.toThrow("crc chain broken");
    // A flipped bit.
    fs.writeFileSync(first, saved);
    flipBit(first, (fr[5]?.offset ?? 0) + 20);
    await expect(Wal.open(dir, undefined, opts)).rejects.toThrow(`crc mismatch in ${first}`);
    // Restored, it opens.
    fs.writeFileSync(first, saved);
    const r = await Wal.open(dir, undefined, opts);
    expect(r.entries.length).toBe(index);
    await r.wal.close();
  });

  test("conflicting metadata in a later segment is refused", async () => {
    const file = await writeLog(3);
    const tail = frames(file).at(-1)?.crc ?? 0;
    const seg = new Uint8Array(SMALL_SEGMENT_BYTES);
    let crc = tail;
    let offset = 0;
    for (const record of [
      { type: "crc" as const, prevCrc: tail },
      { type: "metadata" as const, metadata: { memberId: "other", clusterId: META.clusterId } },
    ]) {
      const enc = encodeFrame(record, crc);
      seg.set(enc.frame, offset);
      offset += enc.frame.length;
      crc = enc.crc;
    }
    const next = path.join(dir, "0000000000000001-0000000000000004.wal");
    fs.writeFileSync(next, seg);
    await expect(Wal.open(dir, undefined, opts)).rejects.toThrow(
      `wal: conflicting metadata found in ${next}`,
    );
  });

  test("a leftover preallocated .tmp file is removed on open", async () => {
    await writeLog(2);
    fs.writeFileSync(path.join(dir, "segment-9.tmp"), new Uint8Array(4096));
    const r = await Wal.open(dir, undefined, opts);
    expect(r.entries.length).toBe(2);
    expect(fs.existsSync(path.join(dir, "segment-9.tmp"))).toBe(false);
    await r.wal.close();
  });

  test("a crash between temp dir and rename in create leaves no WAL", async () => {
    fs.mkdirSync(`${dir}.tmp`);
    fs.writeFileSync(path.join(`${dir}.tmp`, "0000000000000000-0000000000000000.wal"), "junk");
    expect(Wal.exists(dir)).toBe(false);
    const wal = await Wal.create(dir, META, opts);
    await wal.close();
    expect(fs.existsSync(`${dir}.tmp`)).toBe(false);
    const r = await Wal.open(dir, undefined, opts);
    expect(r.metadata).toEqual(META);
    await r.wal.close();
  });
});
