/**
 * A full disk, with a real process on a small tmpfs mounted by the test (root only; CI runs as
 * root). Design: a write that finds no space (a WAL segment cannot be preallocated, or the
 * snapshot database cannot grow) ends the member with one fatal line naming the file and exit
 * 1, before that write is acknowledged. Records go into space taken in advance (preallocated
 * segments), so every acknowledged write is on disk. Restarted while the disk is still full it
 * ends the same way at the first write that needs space (no loop, nothing corrupt); restarted
 * once space is free it replays the WAL and serves, every acknowledged write present.
 */
import { afterEach, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("disk-full tests skipped: mounting a tmpfs needs root");

/** Small enough to fill in a moment, large enough for a member and a few segments. */
const TMPFS_BYTES = 8 * 1024 * 1024;
const SEGMENT_BYTES = 256 * 1024;
const VALUE = "v".repeat(1000);
/** Writes after the disk is full before the member must have stopped: a few segments' worth. */
const WRITES_AFTER_FULL_MAX = 2000;

let mountDir = "";
let member: MemberProcess | undefined;
afterEach(async () => {
  await member?.kill("SIGKILL");
  member = undefined;
  if (mountDir !== "") {
    Bun.spawnSync(["umount", "-l", mountDir]);
    rmSync(mountDir, { recursive: true, force: true });
    mountDir = "";
  }
});

function mountTmpfs(): string {
  const dir = mkdtempSync(join(tmpdir(), "etcd-bun-full-"));
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${TMPFS_BYTES}`, "tmpfs", dir]);
  if (r.exitCode !== 0) throw new Error(`mount tmpfs failed: ${r.stderr.toString()}`);
  return dir;
}

/** Writes a file until the file system refuses: the disk is then full. */
function fillDisk(file: string): void {
  const fd = openSync(file, "w");
  const chunk = new Uint8Array(64 * 1024).fill(1);
  try {
    for (let i = 0; i < (2 * TMPFS_BYTES) / chunk.length; i++) writeSync(fd, chunk);
    throw new Error("the tmpfs never filled");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
}

/** PUT a key: its status, or 0 when the request failed (connection refused or reset). */
async function put(m: MemberProcess, key: string): Promise<number> {
  try {
    const res = await fetch(`${m.clientUrl}/v2/keys${key}`, {
      method: "PUT",
      body: new URLSearchParams({ value: VALUE }),
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

async function exitCode(m: MemberProcess, timeoutMs: number): Promise<number | string> {
  return Promise.race([m.proc.exited, Bun.sleep(timeoutMs).then(() => "still running")]);
}

const fatalLines = (m: MemberProcess) =>
  m
    .output()
    .split("\n")
    .filter((l) => l.includes("fatal:"));

/** Writes keys `${prefix}N` until one is not acknowledged; returns the acknowledged ones. */
async function writeUntilRefused(m: MemberProcess, prefix: string, max: number) {
  const acked: string[] = [];
  for (let i = 0; i < max; i++) {
    const key = `${prefix}${i}`;
    const status = await put(m, key);
    if (status !== 201) return { acked, refusedWith: status };
    acked.push(key);
  }
  return { acked, refusedWith: undefined };
}

async function expectAllPresent(m: MemberProcess, keys: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const key of keys) {
    const res = await fetch(`${m.clientUrl}/v2/keys${key}`);
    const body = (await res.json()) as { node?: { value?: string } };
    if (body.node?.value !== VALUE) missing.push(key);
  }
  expect(missing).toEqual([]);
}

async function diskFullRun(extraArgs: string[], fileInLine: RegExp): Promise<void> {
  mountDir = mountTmpfs();
  const dataDir = join(mountDir, "data");
  const env = { ETCDBUN_WAL_SEGMENT_BYTES: String(SEGMENT_BYTES) };
  const m = await startMember({ dataDir, env, extraArgs });
  member = m;
  const before = await writeUntilRefused(m, "/before/k", 100);
  expect(before.refusedWith).toBeUndefined();
  fillDisk(join(mountDir, "filler"));

  // Full: writes go on into space taken in advance, then the member stops with one line.
  const during = await writeUntilRefused(m, "/during/k", WRITES_AFTER_FULL_MAX);
  expect(during.refusedWith).toBe(0); // the connection went away: no answer, no acknowledgement
  expect(await exitCode(m, 10_000)).toBe(1);
  const lines = fatalLines(m);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(fileInLine);
  expect(lines[0]).toContain(`(member `);
  expect(lines[0]).toEndWith(`data dir ${dataDir}): free space and restart`);

  // Restarted while still full: it ends the same way at the first write that needs space, or
  // serves while preallocated space lasts; never a hang, never another kind of failure.
  const served = await m.restart().then(
    () => true,
    () => false,
  );
  const stillFull = served
    ? await writeUntilRefused(m, "/still-full/k", WRITES_AFTER_FULL_MAX)
    : { acked: [], refusedWith: 0 };
  expect(stillFull.refusedWith).toBe(0);
  expect(await exitCode(m, 10_000)).toBe(1);
  expect(fatalLines(m).at(-1)).toContain("no space left on device writing");

  // Space freed: a plain restart replays the WAL; every acknowledged write is there.
  rmSync(join(mountDir, "filler"));
  await m.restart();
  await expectAllPresent(m, [...before.acked, ...during.acked, ...stillFull.acked]);
  expect(await put(m, "/after/k")).toBe(201);
}

test.skipIf(!isRoot)(
  "disk full (WAL): exits with one fatal line, acknowledges nothing it cannot keep, restarts clean once space is freed",
  async () => {
    await diskFullRun([], /fatal: no space left on device writing \S+\/member\/wal\//);
  },
  120_000,
);

test.skipIf(!isRoot)(
  "disk full (snapshot database): exits with one fatal line; restarts clean once space is freed",
  async () => {
    await diskFullRun(
      ["--snapshot-count", "300"],
      /fatal: no space left on device writing \S+\/member\/(snap\/snap\.db|wal\/)/,
    );
  },
  120_000,
);
