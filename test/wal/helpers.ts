/** Shared fixtures for WAL tests: temp dirs and deterministic entries. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Entry } from "../../src/wal/index.ts";

/** Small segments so a few hundred entries cross several cuts. */
export const SMALL_SEGMENT_BYTES = 64 * 1024;
export const META = { memberId: "8e9e05c52164694d", clusterId: "cdf818194e3a8c32" };

const encoder = new TextEncoder();

/** A fresh directory under the OS temp dir; returns the (not yet existing) WAL path inside it. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `etcd-bun-${prefix}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Entry payload derived from (index, term) so a reader can check it without a copy. */
export function entryData(index: number, term: number, sizeBytes = 40): Uint8Array {
  const text = `e${index}t${term}:`;
  const out = new Uint8Array(sizeBytes);
  const head = encoder.encode(text);
  out.set(head.subarray(0, sizeBytes));
  for (let i = head.length; i < sizeBytes; i++) out[i] = (index * 31 + i) & 0xff;
  return out;
}

export function makeEntry(index: number, term = 1, sizeBytes = 40): Entry {
  return { index, term, type: "normal", data: entryData(index, term, sizeBytes) };
}

export function range(from: number, to: number, term = 1, sizeBytes = 40): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(makeEntry(i, term, sizeBytes));
  return out;
}

export function segmentFiles(walDir: string): string[] {
  return fs
    .readdirSync(walDir)
    .filter((n) => n.endsWith(".wal"))
    .sort();
}

/** The entry the crash test writes at `index`: size varies so segments fill unevenly. */
export function crashEntry(index: number): Entry {
  return makeEntry(index, 1, 16 + ((index * 7919) % 1500));
}
