/**
 * Snapshots this member takes of its own store. Every --snapshot-count applied entries, the
 * store's state at that index is written out a slice at a time between turns of the event loop
 * (applies go on; the store keeps copies of what they change), saved durably off the loop, and
 * then, from the Ready loop, marked in the WAL; only then is the Raft log compacted (keeping
 * `catchUpEntries` for slow followers) and old snapshots and WAL segments released.
 */
import type { MemoryStorage } from "../raft/storage.ts";
import type { ConfState, Snapshot } from "../raft/types.ts";
import type { Store } from "../store/store.ts";
import type { LogStorage, SnapshotStorage } from "./storage.ts";
import type { Time } from "./time.ts";

/** Longest stretch the snapshot writer holds the event loop (then requests get a turn). */
const SNAPSHOT_SLICE_MS = 2;

export interface SnapshotHost {
  readonly time: Time;
  readonly raftLog: MemoryStorage;
  readonly wal: LogStorage;
  readonly snapshotter: SnapshotStorage;
  readonly snapshotCount: number;
  readonly catchUpEntries: number;
  readonly maxSnapshots: number;
  readonly maxWals: number;
  store(): Store;
  confState(): ConfState;
  appliedIndex(): number;
  stopping(): boolean;
  /** Asks the Ready loop to run (a saved snapshot waits there to be marked). */
  schedule(): void;
  fatal(error: unknown): void;
  log(line: string): void;
}

export class SnapshotKeeper {
  /** The index of the newest snapshot taken or installed. */
  private lastIndex: number;
  private inFlight: Promise<void> | undefined;
  private saved: Snapshot | undefined;

  constructor(
    private readonly host: SnapshotHost,
    lastIndex: number,
  ) {
    this.lastIndex = lastIndex;
  }

  /** Starts a snapshot if --snapshot-count entries were applied since the last one. */
  maybeTake(): void {
    const applied = this.host.appliedIndex();
    if (this.inFlight !== undefined || applied - this.lastIndex <= this.host.snapshotCount) return;
    this.lastIndex = applied;
    this.inFlight = this.take(applied).then(
      (snap) => {
        this.inFlight = undefined;
        this.saved = snap;
        this.host.schedule();
      },
      (error: unknown) => this.host.fatal(error),
    );
  }

  /** A snapshot from the leader was installed at `index`. */
  installed(index: number): void {
    this.lastIndex = index;
  }

  /** Whether a durable snapshot waits for its WAL marker (work for the Ready loop). */
  hasSaved(): boolean {
    return this.saved !== undefined;
  }

  /** Marks the saved snapshot in the WAL, then releases what it replaces. */
  async finishSaved(): Promise<void> {
    const snap = this.saved;
    this.saved = undefined;
    if (snap === undefined) return;
    const index = snap.meta.index;
    await this.host.wal.saveSnapshot({ index, term: snap.meta.term });
    const compactTo = index - this.host.catchUpEntries;
    if (compactTo > this.host.raftLog.firstIndex()) this.host.raftLog.compact(compactTo);
    this.host.snapshotter.prune(this.host.maxSnapshots);
    this.host.wal.releaseLockTo(index);
    this.host.wal.purge(this.host.maxWals);
    this.host.log(`saved snapshot at index ${index}`);
  }

  /** Waits for a snapshot being written (stopping: it is then simply not marked). */
  async settle(): Promise<void> {
    await this.inFlight?.catch(() => {});
  }

  /** The snapshot at `index` (the applied index now), durable; undefined if superseded. */
  private async take(index: number): Promise<Snapshot | undefined> {
    const { time } = this.host;
    const confState = this.host.confState();
    const writer = this.host.store().beginSnapshot();
    for (;;) {
      const sliceEnd = time.monotonic() + SNAPSHOT_SLICE_MS;
      if (writer.step(() => time.monotonic() < sliceEnd)) break;
      await new Promise<void>((resolve) => time.soon(resolve));
      if (this.host.stopping()) {
        writer.abandon();
        return undefined;
      }
    }
    // A newer snapshot from the leader was installed meanwhile: this one is of no use.
    if (index <= this.host.raftLog.snapshot().meta.index) return undefined;
    const snap = this.host.raftLog.createSnapshot(index, confState, writer.bytes());
    await this.host.snapshotter.saveInBackground(snap);
    return snap;
  }
}
