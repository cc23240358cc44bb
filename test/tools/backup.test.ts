/**
 * `etcd-bun backup`: file-level checks on data dirs built with the Wal and Snapshotter (committed
 * entries kept at their indexes, uncommitted tail dropped, new IDs, torn tail, source untouched,
 * clear errors), then real members: a backup taken while the member runs under writes and one
 * taken after it stopped both restart with --force-new-cluster and serve every acknowledged key
 * at its original modifiedIndex. CLI errors go through the process.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeConfChange } from "../../src/raft/conf-change-codec.ts";
import type { Entry, Snapshot } from "../../src/raft/types.ts";
import { Snapshotter } from "../../src/snap/index.ts";
import { BackupError, backupDataDir } from "../../src/tools/backup.ts";
import { Wal } from "../../src/wal/index.ts";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const work = mkdtempSync(join(tmpdir(), "etcd-bun-backup-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let dirCounter = 0;
function freshDir(label: string): string {
  return join(work, `${label}-${dirCounter++}`);
}

const encoder = new TextEncoder();
const SOURCE_IDS = { memberId: "a1", clusterId: "c1" };
/** Small segments keep the hand-built WALs cheap; the backup reads any segment size. */
const SEGMENT_BYTES = 64 * 1024;

function normal(index: number, term: number, text: string): Entry {
  return { index, term, type: "normal", data: encoder.encode(text) };
}

function addNode(index: number, term: number, nodeId: string): Entry {
  const data = encodeConfChange({ type: "addNode", nodeId, context: new Uint8Array() });
  return { index, term, type: "confChange", data };
}

interface SourceSpec {
  readonly snapshot?: Snapshot;
  /** Write the snapshot's WAL marker (a live member writes it just after the snapshot). */
  readonly marker?: boolean;
  readonly entries: Entry[];
  readonly commit: number;
  readonly term: number;
}

/** A data dir as a member leaves it: snapshot row, then its marker, then entries + hard state. */
async function buildSource(spec: SourceSpec): Promise<string> {
  const dataDir = freshDir("src");
  const snapshotter = new Snapshotter(join(dataDir, "member", "snap"));
  if (spec.snapshot !== undefined) snapshotter.save(spec.snapshot);
  snapshotter.close();
  const wal = await Wal.create(join(dataDir, "member", "wal"), SOURCE_IDS, {
    segmentSizeBytes: SEGMENT_BYTES,
  });
  if (spec.snapshot !== undefined && spec.marker !== false) {
    await wal.saveSnapshot({ index: spec.snapshot.meta.index, term: spec.snapshot.meta.term });
  }
  await wal.save({ term: spec.term, vote: SOURCE_IDS.memberId, commit: spec.commit }, spec.entries);
  await wal.close();
  return dataDir;
}

const SNAPSHOT: Snapshot = {
  meta: { index: 5, term: 2, confState: { voters: ["a1", "b2"] } },
  data: encoder.encode('{"store":"at index 5"}'),
};

/** Every file under `dir` (relative path → sha1), to prove a source was not modified. */
function treeHash(dir: string, skip: (name: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const relPath = join(rel, name);
      if (statSync(join(dir, relPath)).isDirectory()) walk(relPath);
      else if (!skip(name)) {
        out.set(
          relPath,
          createHash("sha1")
            .update(readFileSync(join(dir, relPath)))
            .digest("hex"),
        );
      }
    }
  };
  walk("");
  return out;
}

async function openBackup(backupDir: string, walDir = join(backupDir, "member", "wal")) {
  const snapshotter = new Snapshotter(join(backupDir, "member", "snap"));
  const snapshot = snapshotter.loadNewest();
  snapshotter.close();
  const marker = snapshot && { index: snapshot.meta.index, term: snapshot.meta.term };
  const opened = await Wal.open(walDir, marker);
  await opened.wal.close();
  return { snapshot, ...opened };
}

describe("backupDataDir on hand-built data dirs", () => {
  test("keeps the snapshot and committed entries at their indexes, with new IDs", async () => {
    const entries = [
      normal(6, 2, "six"),
      addNode(7, 2, "b2"),
      normal(8, 3, "eight"),
      normal(9, 3, "nine (uncommitted)"),
      normal(10, 3, "ten (uncommitted)"),
    ];
    const dataDir = await buildSource({ snapshot: SNAPSHOT, entries, commit: 8, term: 3 });
    const before = treeHash(dataDir);
    const backupDir = freshDir("bk");
    const result = await backupDataDir({ dataDir, backupDir });
    expect(treeHash(dataDir)).toEqual(before);
    expect(result).toMatchObject({ snapshotIndex: 5, entries: 3, commitIndex: 8 });
    expect(result.memberId).toMatch(/^[1-9a-f][0-9a-f]{0,15}$/);
    expect(result.clusterId).toMatch(/^[1-9a-f][0-9a-f]{0,15}$/);
    expect(result.memberId).not.toBe(result.clusterId);

    const restored = await openBackup(backupDir);
    expect(restored.metadata).toEqual({ memberId: result.memberId, clusterId: result.clusterId });
    expect(restored.snapshot).toEqual(SNAPSHOT);
    // The vote named a member of the old cluster; the commit covers every copied entry.
    expect(restored.hardState).toEqual({ term: 3, vote: "", commit: 8 });
    expect(restored.entries).toEqual(entries.slice(0, 3));
  });

  // The WAL ends with a hard state record whose last bytes are zeros (empty vote): the copy
  // must keep whole files, or that complete record would look torn and be dropped.
  test("replays only the segments from the one holding the snapshot marker", async () => {
    const filler = "x".repeat(500);
    const all = Array.from({ length: 400 }, (_, i) => normal(i + 1, 1, `${i + 1} ${filler}`));
    const dataDir = freshDir("src");
    const snapshot: Snapshot = {
      meta: { index: 250, term: 1, confState: { voters: ["a1"] } },
      data: encoder.encode("{}"),
    };
    const wal = await Wal.create(join(dataDir, "member", "wal"), SOURCE_IDS, {
      segmentSizeBytes: SEGMENT_BYTES,
    });
    await wal.save({ term: 1, vote: "", commit: 250 }, all.slice(0, 250));
    const snapshotter = new Snapshotter(join(dataDir, "member", "snap"));
    snapshotter.save(snapshot);
    snapshotter.close();
    await wal.saveSnapshot({ index: 250, term: 1 });
    await wal.save({ term: 1, vote: "", commit: 390 }, all.slice(250));
    expect(wal.segmentNames().length).toBeGreaterThan(3);
    await wal.close();
    const backupDir = freshDir("bk");
    const result = await backupDataDir({ dataDir, backupDir });
    expect(result).toMatchObject({ snapshotIndex: 250, entries: 140, commitIndex: 390 });
    const restored = await openBackup(backupDir);
    expect(restored.entries).toEqual(all.slice(250, 390));
  });

  test("a data dir without snapshots is copied from the WAL's start", async () => {
    const entries = [addNode(1, 1, "a1"), normal(2, 1, "two"), normal(3, 2, "three")];
    const dataDir = await buildSource({ entries, commit: 3, term: 2 });
    const backupDir = freshDir("bk");
    const result = await backupDataDir({ dataDir, backupDir });
    expect(result).toMatchObject({ snapshotIndex: 0, entries: 3, commitIndex: 3 });
    const restored = await openBackup(backupDir);
    expect(restored.snapshot).toBeUndefined();
    expect(restored.entries).toEqual(entries);
  });

  test("reads a snapshot database held open by a live writer, and separate WAL dirs", async () => {
    const entries = [normal(6, 2, "six")];
    const dataDir = await buildSource({ snapshot: SNAPSHOT, entries, commit: 6, term: 2 });
    const walDir = join(dataDir, "elsewhere-wal");
    renameSync(join(dataDir, "member", "wal"), walDir);
    const live = new Snapshotter(join(dataDir, "member", "snap"));
    try {
      expect(existsSync(join(dataDir, "member", "snap", "snap.db-wal"))).toBe(true);
      // Readers keep their read marks in -shm (shared memory); every data file stays as it was.
      const isShm = (name: string) => name.endsWith("-shm");
      const before = treeHash(dataDir, isShm);
      const backupDir = freshDir("bk");
      const backupWalDir = freshDir("bk-wal");
      const result = await backupDataDir({ dataDir, walDir, backupDir, backupWalDir });
      expect(treeHash(dataDir, isShm)).toEqual(before);
      expect(existsSync(join(backupDir, "member", "wal"))).toBe(false);
      const restored = await openBackup(backupDir, backupWalDir);
      expect(restored.metadata.memberId).toBe(result.memberId);
      expect(restored.snapshot).toEqual(SNAPSHOT);
      expect(restored.entries).toEqual(entries);
    } finally {
      live.close();
    }
  });

  test("a torn tail in the source is cut off in the copy, never repaired in place", async () => {
    const entries = [normal(6, 2, "six"), normal(7, 2, "seven")];
    const dataDir = await buildSource({ snapshot: SNAPSHOT, entries, commit: 7, term: 2 });
    const walDir = join(dataDir, "member", "wal");
    const segment = join(walDir, readdirSync(walDir).find((n) => n.endsWith(".wal")) ?? "");
    const bytes = readFileSync(segment);
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    // Half a frame: a length word promising 1000 bytes, a crc, and only some of the bytes.
    const torn = Buffer.alloc(40, 0xab);
    torn.writeUInt32LE(1000, 0);
    const fd = openSync(segment, "r+");
    writeSync(fd, torn, 0, torn.length, Math.ceil(end / 8) * 8);
    closeSync(fd);
    const before = treeHash(dataDir);
    const backupDir = freshDir("bk");
    const result = await backupDataDir({ dataDir, backupDir });
    expect(treeHash(dataDir)).toEqual(before);
    expect(result).toMatchObject({ entries: 2, commitIndex: 7 });
    expect((await openBackup(backupDir)).entries).toEqual(entries);
  });

  test("a snapshot whose WAL marker never appears is skipped for the state the WAL holds", async () => {
    // A crash between saving a snapshot and writing its marker: a restart ignores that
    // snapshot, and so does the backup.
    const entries = [normal(1, 1, "one"), normal(2, 1, "two")];
    const dataDir = await buildSource({
      snapshot: SNAPSHOT,
      marker: false,
      entries,
      commit: 2,
      term: 1,
    });
    const backupDir = freshDir("bk");
    const result = await backupDataDir({ dataDir, backupDir });
    expect(result).toMatchObject({ snapshotIndex: 0, entries: 2, commitIndex: 2 });
    expect((await openBackup(backupDir)).entries).toEqual(entries);
  });

  test("refuses a missing data dir, a dir without a WAL and non-empty targets", async () => {
    const dataDir = await buildSource({ entries: [normal(1, 1, "one")], commit: 1, term: 1 });
    const empty = freshDir("empty");
    mkdirSync(empty);
    const full = freshDir("full");
    mkdirSync(full);
    writeFileSync(join(full, "x"), "x");
    const cases: [Parameters<typeof backupDataDir>[0], string][] = [
      [{ dataDir: freshDir("missing"), backupDir: freshDir("bk") }, "does not exist"],
      [{ dataDir: empty, backupDir: freshDir("bk") }, "no WAL in"],
      [{ dataDir, backupDir: full }, "is not empty"],
      [{ dataDir, backupDir: freshDir("bk"), backupWalDir: full }, "is not empty"],
      [{ dataDir, backupDir: join(full, "x") }, "is not a directory"],
    ];
    for (const [options, message] of cases) {
      const error = await backupDataDir(options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackupError);
      expect(String(error)).toContain(message);
    }
    expect(readdirSync(full)).toEqual(["x"]);
  });
});

interface Written {
  readonly value: string;
  readonly modifiedIndex: number;
}

async function put(m: MemberProcess, key: string, value: string): Promise<Written> {
  const res = await fetch(`${m.clientUrl}/v2/keys/${key}`, {
    method: "PUT",
    body: new URLSearchParams({ value }),
  });
  const body = (await res.json()) as { node: { modifiedIndex: number } };
  expect(res.status).toBeLessThan(300);
  return { value, modifiedIndex: body.node.modifiedIndex };
}

/** Starts a backup with --force-new-cluster and checks every key, IDs and membership. */
async function checkRestored(
  backupDir: string,
  result: { memberId: string; clusterId: string },
  written: ReadonlyMap<string, Written>,
): Promise<void> {
  const restored = await startMember({ dataDir: backupDir, extraArgs: ["--force-new-cluster"] });
  try {
    for (const [key, expected] of written) {
      const res = await fetch(`${restored.clientUrl}/v2/keys/${key}`);
      const body = (await res.json()) as { node?: Written };
      expect({ key, status: res.status }).toEqual({ key, status: 200 });
      expect(body.node).toMatchObject(expected);
    }
    const members = await fetch(`${restored.clientUrl}/v2/members`);
    expect(members.headers.get("X-Etcd-Cluster-Id")).toBe(result.clusterId);
    const list = (await members.json()) as { members: { id: string }[] };
    expect(list.members.map((m) => m.id)).toEqual([result.memberId]);
    expect((await put(restored, "after-restore", "ok")).value).toBe("ok");
  } finally {
    await restored.stop();
  }
}

describe("backup of a real member", () => {
  test("while it runs under writes and after it stopped; both restart", async () => {
    const member = await startMember({ extraArgs: ["--snapshot-count", "50"] });
    try {
      const written = new Map<string, Written>();
      for (let i = 0; i < 120; i++) written.set(`k${i}`, await put(member, `k${i}`, `v${i}`));
      const beforeLive = new Map(written);
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) written.set(`w${i}`, await put(member, `w${i}`, `x${i}`));
      })();
      const liveDir = freshDir("live");
      const live = await backupDataDir({ dataDir: member.dataDir, backupDir: liveDir });
      writing = false;
      await writer;
      expect(live.snapshotIndex).toBeGreaterThan(0);
      expect(live.commitIndex).toBeGreaterThan(live.snapshotIndex);

      await member.kill("SIGKILL");
      const isShm = (name: string) => name.endsWith("-shm");
      const before = treeHash(member.dataDir, isShm);
      const stoppedDir = freshDir("stopped");
      const stopped = await backupDataDir({ dataDir: member.dataDir, backupDir: stoppedDir });
      expect(treeHash(member.dataDir, isShm)).toEqual(before);
      expect(stopped.memberId).not.toBe(live.memberId);

      await checkRestored(liveDir, live, beforeLive);
      await checkRestored(stoppedDir, stopped, written);
    } finally {
      await member.stop();
    }
  }, 60_000);
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(argv: readonly string[]): Run {
  const env = { PATH: process.env.PATH ?? "", NO_COLOR: "1" };
  const r = Bun.spawnSync([process.execPath, MAIN, "backup", ...argv], { cwd: work, env });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("etcd-bun backup (process)", () => {
  test("errors are one line and exit 1", async () => {
    const dataDir = await buildSource({ entries: [normal(1, 1, "one")], commit: 1, term: 1 });
    const full = freshDir("full");
    mkdirSync(full);
    writeFileSync(join(full, "x"), "x");
    const noWal = freshDir("nowal");
    mkdirSync(noWal);
    const cases: [string[], string][] = [
      [["--data-dir", freshDir("missing"), "--backup-dir", freshDir("b")], "does not exist"],
      [["--data-dir", noWal, "--backup-dir", freshDir("b")], "no WAL in"],
      [["--data-dir", dataDir, "--backup-dir", full], "is not empty"],
      [["--data-dir", dataDir], "--backup-dir is required"],
      [["--data-dir", dataDir, "--backup-dir"], "flag needs an argument: -backup-dir"],
      [["-data-dir", dataDir, "-bogus", "1"], "flag provided but not defined: -bogus"],
    ];
    for (const [argv, message] of cases) {
      const r = run(argv);
      expect({ argv, code: r.code, stdout: r.stdout }).toEqual({ argv, code: 1, stdout: "" });
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith("etcd-bun: backup: ");
      expect(lines[0]).toContain(message);
    }
  });

  test("success prints one line; --help shows the flags", async () => {
    const dataDir = await buildSource({ snapshot: SNAPSHOT, entries: [], commit: 5, term: 2 });
    const backupDir = freshDir("b");
    const r = run([`-data-dir=${dataDir}`, `--backup-dir=${backupDir}`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(
      /^backup written to .*: member [0-9a-f]+, cluster [0-9a-f]+, snapshot index 5, 0 entries, commit index 5; start it with --force-new-cluster\n$/,
    );
    expect(readdirSync(join(backupDir, "member")).sort()).toEqual(["snap", "wal"]);
    const help = run(["--help"]);
    expect(help.code).toBe(0);
    for (const flag of ["--data-dir", "--wal-dir", "--backup-dir", "--backup-wal-dir"]) {
      expect(help.stdout).toContain(flag);
    }
  });
});
