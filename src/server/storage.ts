/**
 * The server's durable storage, as ports: the write-ahead log (wal/wal.ts is the real one) and
 * the snapshot store (snap/snapshotter.ts). A failure of either is fatal to the member (never
 * retried: after a failed fdatasync the page cache no longer says what is on disk).
 */
import type { Entry, HardState, Snapshot } from "../raft/types.ts";

export interface LogStorage {
  /**
   * Appends `entries` (replacing any at the same indexes and after) and `hardState`; durable
   * when the promise resolves if `sync`. `blocking` lets the sync run on the calling thread.
   */
  save(
    hardState: HardState | undefined,
    entries: readonly Entry[],
    options: { readonly sync: boolean; readonly blocking?: boolean },
  ): Promise<void>;
  /** Records, durably, that a snapshot up to `meta` exists (after the snapshot is durable). */
  saveSnapshot(meta: { readonly index: number; readonly term: number }): Promise<void>;
  /** Entries at or below `index` are covered by a durable snapshot and may be purged. */
  releaseLockTo(index: number): void;
  /** Deletes released segments beyond the newest `maxWals` (0 = keep all). */
  purge(maxWals: number): unknown;
  close(): Promise<void>;
}

export interface SnapshotStorage {
  /** Saves durably before returning (a snapshot received from the leader). */
  save(snap: Snapshot): void;
  /** Saves durably off the event loop (a snapshot this member took). */
  saveInBackground(snap: Snapshot): Promise<void>;
  /** Keeps the newest `maxSnapshots` (0 = all). */
  prune(maxSnapshots: number): unknown;
  close(): void;
}

export interface SnapshotStore extends SnapshotStorage {
  /** The snapshots held, newest first. */
  list(): { index: number; term: number }[];
  /** The snapshot at exactly (index, term), or undefined if its copy is unusable (logged). */
  loadAt(index: number, term: number): Snapshot | undefined;
}

export interface MemberIds {
  readonly memberId: string;
  readonly clusterId: string;
}

/** A log opened for a restart: what it holds after the snapshot marker it was opened at. */
export interface OpenedLog {
  readonly log: LogStorage;
  readonly ids: MemberIds;
  /** The last hard state saved; all zeros if none was. */
  readonly hardState: HardState;
  /** Entries after the marker, in order, later writes of an index winning. */
  readonly entries: Entry[];
}

/** The log holds no marker for the snapshot it was asked to open at. */
export class SnapshotMarkerMissing extends Error {
  override name = "SnapshotMarkerMissing";
}

/** A member's data dir, as bootstrap sees it (member/real-disk.ts is the real one). */
export interface MemberDisk {
  /** Whether a log exists: the member restarts from it. */
  logExists(): boolean;
  /** Creates an empty log holding the member's ids (a new member). */
  createLog(ids: MemberIds): Promise<LogStorage>;
  /** Opens the log at a snapshot marker (or its start); throws SnapshotMarkerMissing. */
  openLog(at: { readonly index: number; readonly term: number } | undefined): Promise<OpenedLog>;
  /** Opens the snapshot store; throws BootstrapError when it is unreadable. */
  openSnapshots(): SnapshotStore;
}
