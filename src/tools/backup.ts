/**
 * `etcd-bun backup`: the equivalent of etcd's `etcdctl backup` (v2). It copies a member's newest
 * snapshot and its committed WAL entries into a fresh data dir with a new random member ID and
 * cluster ID, which then starts as a one-member cluster with `--force-new-cluster`.
 *
 * The source data dir is only ever read: this module must not write, repair, lock or create
 * anything in it, so it is safe on a running member. The snapshot database is read through
 * SQLite's reader protocol and copied with `VACUUM INTO` (one consistent read transaction); the
 * needed WAL segments are copied to a scratch dir and replayed there, where a torn tail (a batch
 * the live member is still writing) may be repaired. A read that races a segment cut or purge
 * is retried.
 *
 * What the backup keeps: every committed entry, unchanged, at its original index (etcd 2.3.8's
 * behaviour), including membership changes and member-attribute writes. etcd 3.4 drops those
 * and renumbers the rest; that shifts the store's modifiedIndex of every later key and can change
 * the outcome of replayed index-conditioned writes (`prevIndex`), so the restored data could
 * differ from what clients were told. Kept entries are harmless: `--force-new-cluster` appends,
 * after them, conf changes removing every old member (from the snapshot's ConfState and the
 * committed conf changes) and adding the new one. What it drops: entries past the commit index
 * (never acknowledged; `--force-new-cluster` would discard them too), and the hard state's vote
 * (it names a member of the old cluster).
 */
import { constants, Database } from "bun:sqlite";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { Entry, HardState, Snapshot } from "../raft/types.ts";
import { SNAP_DB_FILE, Snapshotter } from "../snap/index.ts";
import { assert } from "../util/assert.ts";
import { Wal, WalError, type WalMetadata } from "../wal/index.ts";
import { lastNonZeroByte } from "../wal/reader.ts";
import { parseSegmentName, type SegmentName } from "../wal/segment-file.ts";

export interface BackupOptions {
  /** The member's data dir (read only). */
  readonly dataDir: string;
  /** The member's `--wal-dir`, when its WAL lives outside the data dir ("" = not given). */
  readonly walDir?: string;
  /** Where the new data dir is written; it must be absent or empty. */
  readonly backupDir: string;
  /** A separate WAL dir for the backup (absent or empty); default (or "") is in backupDir. */
  readonly backupWalDir?: string;
  /** Where notable events (a skipped corrupt snapshot) are reported. Default console.warn. */
  readonly log?: (message: string) => void;
}

export interface BackupResult {
  /** The backup's new member ID (lowercase hex, as etcd renders uint64 IDs). */
  readonly memberId: string;
  /** The backup's new cluster ID. */
  readonly clusterId: string;
  /** Index of the snapshot copied, 0 when the member had none. */
  readonly snapshotIndex: number;
  /** Number of WAL entries copied: the committed ones after the snapshot. */
  readonly entries: number;
  /** The backup's commit index: the last entry copied (or the snapshot's index). */
  readonly commitIndex: number;
}

/** An expected failure (bad directories, unreadable source); the message is one line. */
export class BackupError extends Error {
  override name = "BackupError";
}

/**
 * Reading a live member races its segment cuts, purges and the gap between saving a snapshot
 * and writing its WAL marker; each lasts milliseconds, so a few spaced attempts clear it, while
 * real damage fails the same way every time.
 */
const READ_ATTEMPTS = 5;
const READ_RETRY_DELAY_MS = 50;
/** Segment size for replaying the scratch copy: only the small preallocated spare depends on it. */
const SCRATCH_SEGMENT_BYTES = 4096;
/** Waits this long for a live member's snapshot write to finish before reading. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;
const DIR_MODE = 0o700;

/** What was read from the source: the newest snapshot and the WAL replayed from it. */
interface SourceState {
  readonly snapshot: Snapshot | undefined;
  readonly metadata: WalMetadata;
  readonly hardState: HardState;
  readonly entries: Entry[];
}

interface Dirs {
  readonly srcWal: string;
  readonly srcSnap: string;
  readonly dstSnap: string;
  readonly dstWal: string;
}

/**
 * Backs up the member data dir `dataDir` into `backupDir` (see the module comment for what is
 * kept). Never modifies the source. Throws BackupError for expected failures; on failure,
 * whatever it created in the backup dirs is removed again.
 */
export async function backupDataDir(options: BackupOptions): Promise<BackupResult> {
  if (options.dataDir === "" || options.backupDir === "") {
    throw new BackupError("both the data dir and the backup dir must be given");
  }
  const dirs = resolveDirs(options);
  const backupWalDir = nonEmpty(options.backupWalDir);
  checkSource(options.dataDir, dirs.srcWal);
  checkEmptyTarget(options.backupDir, "backup dir");
  if (backupWalDir !== undefined) checkEmptyTarget(backupWalDir, "backup WAL dir");
  const log = options.log ?? ((message: string) => console.warn(message));
  const source = await readSourceWithRetry(dirs, log);
  const created = [options.backupDir, ...(backupWalDir === undefined ? [] : [backupWalDir])];
  const existed = created.map((dir) => fs.existsSync(dir));
  try {
    return await writeBackup(source, dirs);
  } catch (error) {
    created.forEach((dir, i) => {
      removeCreated(dir, existed[i] === true);
    });
    throw error;
  }
}

function resolveDirs(options: BackupOptions): Dirs {
  const srcMember = path.join(options.dataDir, "member");
  const dstMember = path.join(options.backupDir, "member");
  return {
    srcWal: nonEmpty(options.walDir) ?? path.join(srcMember, "wal"),
    srcSnap: path.join(srcMember, "snap"),
    dstSnap: path.join(dstMember, "snap"),
    dstWal: nonEmpty(options.backupWalDir) ?? path.join(dstMember, "wal"),
  };
}

/** An empty directory option means "not given", as an empty `--wal-dir` does for a member. */
function nonEmpty(dir: string | undefined): string | undefined {
  return dir === "" ? undefined : dir;
}

function checkSource(dataDir: string, srcWal: string): void {
  if (!fs.existsSync(dataDir)) throw new BackupError(`data dir ${dataDir} does not exist`);
  if (!fs.statSync(dataDir).isDirectory()) {
    throw new BackupError(`data dir ${dataDir} is not a directory`);
  }
  let hasWal: boolean;
  try {
    hasWal = Wal.exists(srcWal);
  } catch (error) {
    throw new BackupError(`cannot read WAL dir ${srcWal}: ${errorText(error)}`);
  }
  if (!hasWal) {
    throw new BackupError(`no WAL in ${srcWal} (is ${dataDir} an etcd-bun member data dir?)`);
  }
}

/** The backup must not mix with existing files: the target is absent or an empty directory. */
function checkEmptyTarget(dir: string, what: string): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw new BackupError(`${what} ${dir} is not a directory`);
  if (fs.readdirSync(dir).length > 0) throw new BackupError(`${what} ${dir} is not empty`);
}

/** Removes what the backup created in `dir`: its contents, and `dir` itself if it was new. */
function removeCreated(dir: string, existed: boolean): void {
  if (!fs.existsSync(dir)) return;
  if (!existed) {
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const name of fs.readdirSync(dir)) {
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

async function readSourceWithRetry(
  dirs: Dirs,
  log: (message: string) => void,
): Promise<SourceState> {
  let lastMessage = "";
  for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-bun-backup-"));
    try {
      return await readSource(dirs, scratch, log);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      // Segment names are the same in the copy, so the message can name the source's files.
      lastMessage = errorText(error).replace(
        new RegExp(`${escapeRegExp(path.join(scratch, "wal"))}(-\\d+)?`, "g"),
        dirs.srcWal,
      );
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
    if (attempt < READ_ATTEMPTS) await Bun.sleep(READ_RETRY_DELAY_MS * attempt);
  }
  throw new BackupError(`cannot read a consistent state from the source: ${lastMessage}`);
}

/** WAL damage seen by a racing read, or a file that vanished (purge) between listing and read. */
function isRetryable(error: unknown): boolean {
  if (error instanceof WalError) return true;
  return isErrno(error) && error.code === "ENOENT";
}

/**
 * One attempt: the newest snapshot whose marker the WAL holds, and the WAL from it. A snapshot
 * saved just before a crash (or, on a live member, just now) may have no marker yet; an older
 * snapshot plus the entries after it is then the consistent state, as a restart would use.
 */
async function readSource(
  dirs: Dirs,
  scratch: string,
  log: (message: string) => void,
): Promise<SourceState> {
  const snapshots = readSnapshots(dirs.srcSnap, path.join(scratch, "snap"), log);
  const candidates: (Snapshot | undefined)[] = [...snapshots, undefined];
  for (const [i, snapshot] of candidates.entries()) {
    const marker =
      snapshot === undefined ? undefined : { index: snapshot.meta.index, term: snapshot.meta.term };
    const scratchWal = path.join(scratch, i === 0 ? "wal" : `wal-${i}`);
    copyWalSuffix(dirs.srcWal, scratchWal, marker?.index ?? 0);
    let opened: Awaited<ReturnType<typeof Wal.open>>;
    try {
      opened = await Wal.open(scratchWal, marker, {
        segmentSizeBytes: SCRATCH_SEGMENT_BYTES,
        // Repairs here touch only the scratch copy: a live member's unfinished batch is expected.
        log: () => undefined,
      });
    } catch (error) {
      const noMarker = error instanceof WalError && error.message.includes("snapshot not found");
      if (noMarker && i < candidates.length - 1) continue;
      throw error;
    }
    await opened.wal.close();
    return {
      snapshot,
      metadata: opened.metadata,
      hardState: opened.hardState,
      entries: opened.entries,
    };
  }
  throw new BackupError("no usable snapshot or WAL start in the source");
}

/**
 * The valid snapshots in `srcSnapDir`'s database, newest first. The database is copied
 * into `scratchDir` with `VACUUM INTO` (a consistent read) and loaded from the copy by the
 * Snapshotter, which checks each row's CRC. While a member has the database open its `-wal`
 * file exists and the source is opened read-only as a normal reader (taking shared locks in
 * `-shm`, as any reader must); otherwise it is opened `immutable`, which creates no file.
 */
function readSnapshots(
  srcSnapDir: string,
  scratchDir: string,
  log: (message: string) => void,
): Snapshot[] {
  const src = path.join(srcSnapDir, SNAP_DB_FILE);
  if (!fs.existsSync(src)) return [];
  fs.mkdirSync(scratchDir, { recursive: true, mode: DIR_MODE });
  const copy = path.join(scratchDir, SNAP_DB_FILE);
  const db = fs.existsSync(`${src}-wal`)
    ? new Database(src, { readonly: true })
    : new Database(
        `${pathToFileURL(src).href}?immutable=1`,
        constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI,
      );
  try {
    db.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    db.query("VACUUM INTO $file").run({ $file: copy });
  } catch (error) {
    throw new BackupError(`cannot read snapshot database ${src}: ${errorText(error)}`);
  } finally {
    db.close();
  }
  const snapshotter = new Snapshotter(scratchDir, {
    log: (message) => log(message.replaceAll(copy, src)),
  });
  try {
    return snapshotter
      .list()
      .map(({ index, term }) => snapshotter.loadAt(index, term))
      .filter((snap): snap is Snapshot => snap !== undefined);
  } finally {
    snapshotter.close();
  }
}

/**
 * Copies the WAL segments a replay from `snapIndex` needs (the last one starting at or before
 * it, and every later one) into `dstDir`, byte for byte. The preallocated zero tail is not
 * written but restored by extending the file (sparse, so it costs no disk). The copy must keep
 * the file's length: a frame may end in zero bytes, so cutting at the last non-zero byte would
 * turn a complete last record into a torn one.
 */
function copyWalSuffix(srcDir: string, dstDir: string, snapIndex: number): void {
  const segments = fs
    .readdirSync(srcDir)
    .map(parseSegmentName)
    .filter((s): s is SegmentName => s !== undefined)
    .sort((a, b) => a.seq - b.seq);
  let first = 0;
  segments.forEach((s, i) => {
    if (s.startIndex <= snapIndex) first = i;
  });
  fs.mkdirSync(dstDir, { recursive: true, mode: DIR_MODE });
  for (const segment of segments.slice(first)) {
    const raw = fs.readFileSync(path.join(srcDir, segment.name));
    const buf = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    const file = path.join(dstDir, segment.name);
    fs.writeFileSync(file, buf.subarray(0, lastNonZeroByte(buf, 0) + 1), { mode: 0o600 });
    fs.truncateSync(file, buf.length);
    assert(fs.statSync(file).size === buf.length, `backup: copy of ${segment.name} has a bad size`);
  }
}

/** The committed part of the source: entries up to the commit index, which covers them all. */
function committedPart(source: SourceState): { hardState: HardState; entries: Entry[] } {
  const snapIndex = source.snapshot?.meta.index ?? 0;
  const snapTerm = source.snapshot?.meta.term ?? 0;
  const commit = Math.max(source.hardState.commit, snapIndex);
  const entries = source.entries.filter((e) => e.index <= commit);
  const lastIndex = entries.at(-1)?.index ?? snapIndex;
  if (lastIndex !== commit) {
    throw new BackupError(
      `WAL commit index ${commit} is past its last entry ${lastIndex}: the WAL is damaged`,
    );
  }
  entries.forEach((e, i) => {
    assert(e.index === snapIndex + i + 1, `backup: entry ${e.index} out of place`);
  });
  const term = Math.max(source.hardState.term, entries.at(-1)?.term ?? 0, snapTerm);
  return { hardState: { term, vote: "", commit }, entries };
}

/** Writes the snapshot, then the WAL (snapshot marker before the entries that follow it). */
async function writeBackup(source: SourceState, dirs: Dirs): Promise<BackupResult> {
  const { hardState, entries } = committedPart(source);
  const metadata = newIdentity(source.metadata);
  fs.mkdirSync(dirs.dstSnap, { recursive: true, mode: DIR_MODE });
  const snapshotter = new Snapshotter(dirs.dstSnap);
  try {
    if (source.snapshot !== undefined) snapshotter.save(source.snapshot);
  } finally {
    snapshotter.close();
  }
  fs.mkdirSync(path.dirname(dirs.dstWal), { recursive: true, mode: DIR_MODE });
  const wal = await Wal.create(dirs.dstWal, metadata);
  try {
    if (source.snapshot !== undefined) {
      await wal.saveSnapshot({
        index: source.snapshot.meta.index,
        term: source.snapshot.meta.term,
      });
    }
    await wal.save(hardState, entries);
  } finally {
    await wal.close();
  }
  return {
    memberId: metadata.memberId,
    clusterId: metadata.clusterId,
    snapshotIndex: source.snapshot?.meta.index ?? 0,
    entries: entries.length,
    commitIndex: hardState.commit,
  };
}

/** A fresh random member ID and cluster ID, distinct from each other and from the old ones. */
function newIdentity(old: WalMetadata): WalMetadata {
  const taken = new Set([old.memberId, old.clusterId]);
  const memberId = randomId(taken);
  taken.add(memberId);
  return { memberId, clusterId: randomId(taken) };
}

/** A random non-zero 64-bit ID as lowercase hex without leading zeros (etcd's rendering). */
function randomId(taken: ReadonlySet<string>): string {
  for (;;) {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    const id = Buffer.from(bytes).toString("hex").replace(/^0+/, "");
    if (id !== "" && !taken.has(id)) return id;
  }
}

function isErrno(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string";
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
