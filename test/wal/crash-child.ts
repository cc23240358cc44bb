/**
 * Child process for crash.test.ts: appends batches to the WAL at argv[2] forever, printing
 * "ack <index>" after each save() resolves. The parent SIGKILLs it at a random moment.
 * Usage: bun crash-child.ts <walDir> <mmap|pwrite> <segmentSizeBytes> <seed>
 */
import { Wal } from "../../src/wal/index.ts";
import { crashEntry, META } from "./helpers.ts";

const [dir, writerArg, sizeArg, seedArg] = process.argv.slice(2);
if (dir === undefined || (writerArg !== "mmap" && writerArg !== "pwrite")) {
  throw new Error("usage: crash-child.ts <walDir> <mmap|pwrite> <segmentSizeBytes> <seed>");
}
const opts = { segmentSizeBytes: Number(sizeArg), writer: writerArg, log: () => {} } as const;
let seed = Number(seedArg) >>> 0 || 1;
/** xorshift32: deterministic batch sizes per seed. */
function next(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed;
}

const opened = Wal.exists(dir)
  ? await Wal.open(dir, undefined, opts)
  : { wal: await Wal.create(dir, META, opts), entries: [] };
const wal = opened.wal;
let index = opened.entries.at(-1)?.index ?? 0;
process.stdout.write(`start ${index}\n`);
for (;;) {
  const size = 1 + (next() % 24);
  const batch = [];
  for (let i = 1; i <= size; i++) batch.push(crashEntry(index + i));
  await wal.save({ term: 1, vote: META.memberId, commit: index + size }, batch);
  index += size;
  process.stdout.write(`ack ${index}\n`);
}
