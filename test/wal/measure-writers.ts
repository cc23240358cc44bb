/**
 * Compares the mmap and pwrite segment writers through the whole Wal.save() path.
 * Not a test; run by hand:  npx bun test/wal/measure-writers.ts [seconds-per-case]
 * Prints per (writer, batch size): saves/s, entries/s, save p50/p99 ms, fsyncs per save.
 */
import * as path from "node:path";
import { Wal, type WriterKind } from "../../src/wal/index.ts";
import { META, makeEntry, makeTempDir, removeDir } from "./helpers.ts";

/** Raft entries of a small v2 PUT are a few hundred bytes. */
const ENTRY_BYTES = 256;

async function run(writer: WriterKind, batch: number, seconds: number): Promise<string> {
  const root = makeTempDir("walbench");
  try {
    const wal = await Wal.create(path.join(root, "wal"), META, { writer });
    const latencies: number[] = [];
    let index = 0;
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      const entries = [];
      for (let i = 1; i <= batch; i++) entries.push(makeEntry(index + i, 1, ENTRY_BYTES));
      const t = performance.now();
      await wal.save({ term: 1, vote: "a", commit: index }, entries);
      latencies.push(performance.now() - t);
      index += batch;
    }
    const syncs = wal.fsyncCount;
    await wal.close();
    latencies.sort((a, b) => a - b);
    const p = (q: number) => (latencies[Math.floor(q * (latencies.length - 1))] ?? 0).toFixed(3);
    const perS = (n: number) => Math.round(n / seconds);
    return `${writer.padEnd(6)} batch ${String(batch).padStart(2)}: ${perS(latencies.length)} saves/s, ${perS(index)} entries/s, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, fsyncs/save ${(syncs / latencies.length).toFixed(3)}`;
  } finally {
    removeDir(root);
  }
}

const seconds = Number(process.argv[2] ?? 3);
for (const batch of [1, 64]) {
  for (const writer of ["mmap", "pwrite", "mmap", "pwrite"] as const) {
    console.log(await run(writer, batch, seconds));
  }
}
