/**
 * The member's data dir on the real file system, for bootstrap (server/storage.ts MemberDisk):
 * the WAL under `member/wal` (or `--wal-dir`), snapshots in `member/snap/snap.db`.
 */
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tuning } from "../config/tuning.ts";
import { BootstrapError } from "../server/bootstrap-error.ts";
import type { MemberSettings } from "../server/settings.ts";
import { type MemberDisk, SnapshotMarkerMissing } from "../server/storage.ts";
import { SNAP_DB_FILE, Snapshotter } from "../snap/snapshotter.ts";
import { WalError } from "../wal/errors.ts";
import { Wal, type WalOptions } from "../wal/wal.ts";

export function memberDirs(settings: Pick<MemberSettings, "dataDir" | "walDir">) {
  const memberDir = join(settings.dataDir, "member");
  const walDir = settings.walDir === "" ? join(memberDir, "wal") : settings.walDir;
  return { memberDir, walDir, snapDir: join(memberDir, "snap") };
}

/**
 * The WAL writer: positioned writes (the WAL's default); ETCDBUN_WAL_WRITER=mmap selects the
 * mmap writer. Measured with `npm run bench -- --only ...` on this kind of machine (3 runs each,
 * same session): sequential PUT 2,268 vs 1,806 writes/s, 64 connections 19,088 vs 13,502 on one
 * member and 12,940 vs 8,575 to a 3-member leader (pwrite vs mmap). Both are equally durable
 * (one fdatasync per batch); a store into a mapping costs a write-protect fault per page after
 * every writeback, which a pwrite does not.
 */
function walOptions(observe: DiskObservers): WalOptions {
  const { walWriter, walSegmentBytes } = tuning();
  const { onSync, onWrite } = observe;
  return {
    ...(walWriter !== undefined && { writer: walWriter }),
    ...(walSegmentBytes !== undefined && { segmentSizeBytes: walSegmentBytes }),
    ...(onSync !== undefined && { onSync }),
    ...(onWrite !== undefined && { onWrite }),
  };
}

/** What the metrics are told of the disk's work. */
interface DiskObservers {
  readonly onSync?: (seconds: number) => void;
  readonly onWrite?: (bytes: number) => void;
  readonly onSnapshotSaved?: (seconds: number) => void;
}

export function realDisk(
  settings: Pick<MemberSettings, "dataDir" | "walDir">,
  observe: DiskObservers = {},
): MemberDisk {
  const { walDir, snapDir } = memberDirs(settings);
  return {
    logExists: () => Wal.exists(walDir),
    createLog: (ids) => {
      mkdirSync(snapDir, { recursive: true, mode: 0o700 });
      return Wal.create(walDir, ids, walOptions(observe));
    },
    openLog: async (at) => {
      try {
        const opened = await Wal.open(walDir, at, walOptions(observe));
        return {
          log: opened.wal,
          ids: opened.metadata,
          hardState: opened.hardState,
          entries: opened.entries,
        };
      } catch (error) {
        if (error instanceof WalError && error.message.includes("snapshot not found"))
          throw new SnapshotMarkerMissing(error.message);
        throw error;
      }
    },
    openSnapshots: () => {
      refuseEtcdFiles(snapDir);
      mkdirSync(snapDir, { recursive: true, mode: 0o700 });
      try {
        return new Snapshotter(
          snapDir,
          observe.onSnapshotSaved === undefined ? {} : { onSaved: observe.onSnapshotSaved },
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new BootstrapError(`snapshot database in ${snapDir} is unreadable (${message})`);
      }
    },
  };
}

/**
 * A data dir etcd wrote holds its bolt database (`db`) and `*.snap` files here. Its WAL and
 * snapshot formats are not etcd-bun's: say so before anything is written into it.
 */
function refuseEtcdFiles(snapDir: string): void {
  if (!existsSync(snapDir) || existsSync(join(snapDir, SNAP_DB_FILE))) return;
  const etcdFiles = readdirSync(snapDir).filter((n) => n === "db" || n.endsWith(".snap"));
  if (etcdFiles.length === 0) return;
  throw new BootstrapError(
    `${snapDir} holds etcd's files (${etcdFiles.join(", ")}): etcd-bun cannot open a data dir written by etcd; copy the keys into an etcd-bun cluster through the v2 API instead`,
  );
}
