import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { Wal, WalError, type WriterKind } from "../../src/wal/index.ts";
import {
  META,
  makeEntry,
  makeTempDir,
  range,
  removeDir,
  SMALL_SEGMENT_BYTES,
  segmentFiles,
} from "./helpers.ts";

const WRITERS: WriterKind[] = ["mmap", "pwrite"];

describe.each(WRITERS)("Wal (%s writer)", (writer) => {
  let root = "";
  let dir = "";
  const opts = { segmentSizeBytes: SMALL_SEGMENT_BYTES, writer, log: () => {} };

  beforeEach(() => {
    root = makeTempDir("wal");
    dir = path.join(root, "member", "wal");
  });
  afterEach(() => removeDir(root));

  test("create makes one preallocated segment; exists and a second create refuse", async () => {
    expect(Wal.exists(dir)).toBe(false);
    const wal = await Wal.create(dir, META, opts);
    expect(Wal.exists(dir)).toBe(true);
    const files = segmentFiles(dir);
    expect(files).toEqual(["0000000000000000-0000000000000000.wal"]);
    expect(fs.statSync(path.join(dir, files[0] ?? "")).size).toBe(SMALL_SEGMENT_BYTES);
    expect(fs.existsSync(`${dir}.tmp`)).toBe(false);
    await wal.close();
    await expect(Wal.create(dir, META, opts)).rejects.toThrow(WalError);
  });

  test("every record type round-trips through close and open", async () => {
    const wal = await Wal.create(dir, META, opts);
    const confChange = {
      index: 3,
      term: 2,
      type: "confChange" as const,
      data: new Uint8Array([1, 2]),
    };
    await wal.save({ term: 2, vote: "n2", commit: 1 }, [
      makeEntry(1, 1),
      makeEntry(2, 2),
      confChange,
    ]);
    await wal.save({ term: 2, vote: "n2", commit: 3 }, []);
    await wal.saveSnapshot({ index: 2, term: 2 });
    await wal.close();

    const all = await Wal.open(dir, undefined, opts);
    expect(all.metadata).toEqual(META);
    expect(all.hardState).toEqual({ term: 2, vote: "n2", commit: 3 });
    expect(all.entries).toEqual([makeEntry(1, 1), makeEntry(2, 2), confChange]);
    await all.wal.close();

    const fromSnap = await Wal.open(dir, { index: 2, term: 2 }, opts);
    expect(fromSnap.entries).toEqual([confChange]);
    await fromSnap.wal.close();
  });

  test("group commit: one fdatasync per save, whatever the batch size", async () => {
    const wal = await Wal.create(dir, META, opts);
    const before = wal.fsyncCount;
    await wal.save({ term: 1, vote: "", commit: 0 }, range(1, 50));
    expect(wal.fsyncCount - before).toBe(1);
    await wal.save(undefined, []);
    expect(wal.fsyncCount - before).toBe(1);
    await wal.close();
  });

  test("many batches across several segment cuts, then reopen and keep appending", async () => {
    const wal = await Wal.create(dir, META, opts);
    let index = 0;
    for (let batch = 0; batch < 120; batch++) {
      const size = 1 + (batch % 17);
      await wal.save({ term: 1, vote: "a", commit: index }, range(index + 1, index + size, 1, 100));
      index += size;
    }
    // 120 batches of ~8 entries of ~120 bytes each: about 140 KiB, so at least 2 cuts.
    expect(segmentFiles(dir).length).toBeGreaterThanOrEqual(3);
    expect(wal.segmentNames()).toEqual(segmentFiles(dir));
    await wal.close();
    expect(fs.readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);

    const r = await Wal.open(dir, undefined, opts);
    expect(r.entries.length).toBe(index);
    expect(r.entries).toEqual(range(1, index, 1, 100));
    await r.wal.save({ term: 2, vote: "b", commit: index }, range(index + 1, index + 5, 2));
    await r.wal.close();
    const again = await Wal.open(dir, undefined, opts);
    expect(again.entries.length).toBe(index + 5);
    expect(again.hardState).toEqual({ term: 2, vote: "b", commit: index });
    await again.wal.close();
  });

  test("segment names carry seq and first index; a record bigger than a segment gets its own", async () => {
    const wal = await Wal.create(dir, META, opts);
    await wal.save(undefined, range(1, 10));
    const big = makeEntry(11, 1, SMALL_SEGMENT_BYTES * 2);
    await wal.save(undefined, [big, makeEntry(12)]);
    const names = segmentFiles(dir);
    expect(names[1]).toBe("0000000000000001-000000000000000b.wal");
    await wal.close();
    const r = await Wal.open(dir, undefined, opts);
    expect(r.entries.at(10)).toEqual(big);
    expect(r.entries.length).toBe(12);
    await r.wal.close();
  });

  test("a later entry at an index replaces it and drops the tail after it", async () => {
    const wal = await Wal.create(dir, META, opts);
    await wal.save({ term: 1, vote: "a", commit: 2 }, range(1, 5, 1));
    await wal.save({ term: 2, vote: "b", commit: 2 }, range(3, 4, 2));
    await wal.close();
    const r = await Wal.open(dir, undefined, opts);
    expect(r.entries).toEqual([...range(1, 2, 1), ...range(3, 4, 2)]);
    // Appending after the overwrite continues from the new tail.
    await r.wal.save(undefined, [makeEntry(5, 2)]);
    await r.wal.close();
    const again = await Wal.open(dir, undefined, opts);
    expect(again.entries.map((e) => `${e.index}/${e.term}`)).toEqual([
      "1/1",
      "2/1",
      "3/2",
      "4/2",
      "5/2",
    ]);
    await again.wal.close();
  });

  test("an overwrite across a segment cut keeps segment names ordered", async () => {
    const wal = await Wal.create(dir, META, opts);
    let index = 0;
    while (segmentFiles(dir).length < 2) {
      await wal.save(undefined, range(index + 1, index + 20, 1, 200));
      index += 20;
    }
    await wal.save(undefined, range(index - 30, index - 25, 2, 200));
    await wal.close();
    const r = await Wal.open(dir, undefined, opts);
    expect(r.entries.length).toBe(index - 25);
    expect(r.entries.at(-1)).toEqual(makeEntry(index - 25, 2, 200));
    await r.wal.close();
  });

  test("open without the snapshot marker is refused", async () => {
    const wal = await Wal.create(dir, META, opts);
    await wal.save(undefined, range(1, 10));
    await wal.saveSnapshot({ index: 5, term: 1 });
    await wal.close();
    await expect(Wal.open(dir, { index: 7, term: 1 }, opts)).rejects.toThrow(
      "wal: snapshot not found",
    );
    await expect(Wal.open(dir, { index: 5, term: 9 }, opts)).rejects.toThrow(
      "wal: snapshot mismatch",
    );
    const r = await Wal.open(dir, { index: 5, term: 1 }, opts);
    expect(r.entries.map((e) => e.index)).toEqual([6, 7, 8, 9, 10]);
    await r.wal.close();
  });

  test("saveSnapshot past the log end lets entries resume after it", async () => {
    const wal = await Wal.create(dir, META, opts);
    await wal.save(undefined, range(1, 3));
    await wal.saveSnapshot({ index: 100, term: 4 });
    await wal.save({ term: 4, vote: "", commit: 101 }, [makeEntry(101, 4)]);
    await wal.close();
    const r = await Wal.open(dir, { index: 100, term: 4 }, opts);
    expect(r.entries).toEqual([makeEntry(101, 4)]);
    await r.wal.close();
  });

  test("purge deletes only released segments covered by a snapshot, keeping maxWals", async () => {
    const wal = await Wal.create(dir, META, opts);
    let index = 0;
    while (segmentFiles(dir).length < 6) {
      await wal.save(undefined, range(index + 1, index + 20, 1, 200));
      index += 20;
    }
    const names = segmentFiles(dir);
    const starts = names.map((n) => Number.parseInt(n.slice(17, 33), 16));
    expect(wal.purge(1)).toEqual([]); // nothing released yet
    // Snapshot inside the 4th segment: segments 0..2 are wholly covered.
    const snapIndex = (starts[3] ?? 0) + 1;
    await wal.saveSnapshot({ index: snapIndex, term: 1 });
    wal.releaseLockTo(snapIndex);
    expect(wal.purge(0)).toEqual([]); // 0 = unlimited retention
    expect(wal.purge(5)).toEqual(names.slice(0, 1));
    expect(wal.purge(1)).toEqual(names.slice(1, 3));
    expect(segmentFiles(dir)).toEqual(names.slice(3));
    await wal.close();
    const r = await Wal.open(dir, { index: snapIndex, term: 1 }, opts);
    expect(r.entries.length).toBe(index - snapIndex);
    await r.wal.close();
  });

  test("a segment spliced in from another WAL is refused", async () => {
    const wal = await Wal.create(dir, META, opts);
    await wal.close();
    const other = path.join(root, "other");
    const w2 = await Wal.create(other, { memberId: "x", clusterId: "y" }, opts);
    await w2.close();
    // Splice the other WAL's segment in as a second segment: its crc chain starts at 0 too,
    // so break the chain check by design: expect a clear refusal either way.
    fs.copyFileSync(
      path.join(other, "0000000000000000-0000000000000000.wal"),
      path.join(dir, "0000000000000001-0000000000000001.wal"),
    );
    await expect(Wal.open(dir, undefined, opts)).rejects.toThrow(WalError);
  });

  test("a gap in the segment sequence is refused", async () => {
    const wal = await Wal.create(dir, META, opts);
    let index = 0;
    while (segmentFiles(dir).length < 4) {
      await wal.save(undefined, range(index + 1, index + 20, 1, 200));
      index += 20;
    }
    await wal.close();
    fs.rmSync(path.join(dir, segmentFiles(dir)[2] ?? ""));
    await expect(Wal.open(dir, undefined, opts)).rejects.toThrow("wal: segment sequence gap");
  });
});

describe("Wal misuse", () => {
  test("overlapping saves are a bug (assertion), not a silent reorder", async () => {
    const root = makeTempDir("walmisuse");
    try {
      const wal = await Wal.create(path.join(root, "wal"), META, {
        segmentSizeBytes: SMALL_SEGMENT_BYTES,
      });
      const first = wal.save(undefined, [makeEntry(1)]);
      await expect(wal.save(undefined, [makeEntry(2)])).rejects.toThrow("concurrent writes");
      await first;
      await expect(wal.save(undefined, [makeEntry(5)])).rejects.toThrow("leaves a gap");
      await expect(wal.save(undefined, [makeEntry(2)])).rejects.toThrow("unusable");
      await wal.close();
    } finally {
      removeDir(root);
    }
  });
});
