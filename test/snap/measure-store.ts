/**
 * Measures the snapshot store (bun:sqlite, as shipped) against the alternative the architecture
 * names: one CRC-checked file per snapshot written as tmp + fsync + rename + dir fsync.
 * Not a test; run by hand:  npx bun test/snap/measure-store.ts [saves1MiB] [saves20MiB]
 * Prints one line per (store, size): save and loadNewest mean/p50/p99 in ms.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Snapshotter } from "../../src/snap/index.ts";
import type { Snapshot } from "../../src/snap/types.ts";
import { crc32 } from "../../src/util/crc.ts";

const MIB = 1024 * 1024;
/** etcd's default --max-snapshots: both stores prune to it after every save. */
const KEEP = 5;

interface Store {
  save(snap: Snapshot): void;
  loadNewest(): Snapshot | undefined;
  close(): void;
}

/** The file-per-snapshot alternative: `<term>-<index>.snap` = crc u32 + data. */
class FileStore implements Store {
  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }
  save(snap: Snapshot): void {
    const name = `${snap.meta.term.toString(16).padStart(16, "0")}-${snap.meta.index.toString(16).padStart(16, "0")}.snap`;
    const tmp = path.join(this.dir, `${name}.tmp`);
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, crc32(snap.data), true);
    const fd = fs.openSync(tmp, "w", 0o600);
    fs.writeSync(fd, head);
    fs.writeSync(fd, snap.data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, path.join(this.dir, name));
    const dfd = fs.openSync(this.dir, "r");
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
    const names = fs
      .readdirSync(this.dir)
      .filter((n) => n.endsWith(".snap"))
      .sort();
    for (const old of names.slice(0, Math.max(0, names.length - KEEP)))
      fs.rmSync(path.join(this.dir, old));
  }
  loadNewest(): Snapshot | undefined {
    const names = fs
      .readdirSync(this.dir)
      .filter((n) => n.endsWith(".snap"))
      .sort()
      .reverse();
    for (const name of names) {
      const buf = fs.readFileSync(path.join(this.dir, name));
      const data = buf.subarray(4);
      if (new DataView(buf.buffer, buf.byteOffset).getUint32(0, true) !== crc32(data)) continue;
      const [term, index] = name
        .replace(".snap", "")
        .split("-")
        .map((h) => Number.parseInt(h, 16));
      return { meta: { term: term ?? 0, index: index ?? 0, confState: { voters: [] } }, data };
    }
    return undefined;
  }
  close(): void {}
}

class SqliteStore implements Store {
  private readonly s: Snapshotter;
  constructor(dir: string) {
    this.s = new Snapshotter(dir);
  }
  save(snap: Snapshot): void {
    this.s.save(snap);
    this.s.prune(KEEP);
  }
  loadNewest(): Snapshot | undefined {
    return this.s.loadNewest();
  }
  close(): void {
    this.s.close();
  }
}

function stats(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return `mean ${mean.toFixed(2)} p50 ${p(0.5).toFixed(2)} p99 ${p(0.99).toFixed(2)}`;
}

function run(kind: "sqlite" | "file", sizeBytes: number, count: number): void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-bun-measure-"));
  try {
    const store: Store = kind === "sqlite" ? new SqliteStore(root) : new FileStore(root);
    const data = new Uint8Array(sizeBytes);
    for (let i = 0; i < sizeBytes; i += 4096) data[i] = i & 0xff;
    const saves: number[] = [];
    const loads: number[] = [];
    for (let i = 1; i <= count; i++) {
      data[0] = i & 0xff;
      const snap: Snapshot = {
        meta: { index: i * 1000, term: 1, confState: { voters: ["a"] } },
        data,
      };
      let t = performance.now();
      store.save(snap);
      saves.push(performance.now() - t);
      t = performance.now();
      const loaded = store.loadNewest();
      loads.push(performance.now() - t);
      if (loaded?.meta.index !== i * 1000 || loaded.data.length !== sizeBytes)
        throw new Error("bad load");
    }
    store.close();
    const mb = (sizeBytes / MIB).toFixed(0);
    console.log(
      `${kind.padEnd(6)} ${mb.padStart(2)} MiB x${count}: save ${stats(saves)} | load ${stats(loads)}`,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const small = Number(process.argv[2] ?? 300);
const large = Number(process.argv[3] ?? 100);
for (const kind of ["sqlite", "file", "sqlite", "file"] as const) run(kind, MIB, small);
for (const kind of ["sqlite", "file", "sqlite", "file"] as const) run(kind, 20 * MIB, large);
