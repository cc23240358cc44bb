/**
 * A member's data dir in memory, with a disk's failure modes (server/storage.ts MemberDisk):
 * log records written but not yet synced are lost in a crash, except a random prefix of them
 * (a record torn in half is cut by the real WAL's CRC check, which leaves the same prefix);
 * a sync may fail (the member must stop); snapshots are durable once saved, as sqlite's
 * synchronous=FULL makes them. A synced record is never lost; on a disk configured with
 * `corruptsSynced`, synced records rot, and opening the log finds it as the real WAL does.
 */
import type { Entry, HardState, Snapshot } from "../../src/raft/types.ts";
import {
  type LogStorage,
  type MemberDisk,
  type MemberIds,
  type OpenedLog,
  SnapshotMarkerMissing,
  type SnapshotStore,
} from "../../src/server/storage.ts";
import type { Prng } from "../../src/util/prng.ts";
import { WalError } from "../../src/wal/errors.ts";

type LogRecord =
  | { readonly kind: "entry"; readonly entry: Entry }
  | { readonly kind: "hardState"; readonly hardState: HardState }
  | { readonly kind: "snapshot"; readonly index: number; readonly term: number }
  | { readonly kind: "rotten"; readonly index: number };

export interface DiskFaults {
  /** Chance that one sync fails (the member then stops). */
  readonly syncFailRate: number;
  /** A sync takes up to this long (0: at once); other work goes on meanwhile. */
  readonly syncDelayMsMax: number;
  /**
   * Latent corruption: at a crash, one time in two, a few synced entries rot. Only records with a later record
   * after them rot: the real WAL finds those (the crc chain resumes after the damage) and refuses
   * to open, while damage to the very last record looks exactly like a write torn by the crash,
   * which it drops. No WAL can tell those apart, etcd's included, so that case is not simulated.
   */
  readonly corruptsSynced: boolean;
  /**
   * The disk lies about fsync: at a crash the last 1-3 synced entries are gone and nothing shows
   * it (the hard state survives). Raft cannot survive this in general (the member may vote for a
   * log without an entry it acknowledged), so only dedicated seeds use it, to check that the
   * member stops with one line once the loss shows, instead of looping on it.
   */
  readonly losesSyncedTail: boolean;
}

/** An injected I/O failure: the member stopping on it is expected, not a bug. */
export class InjectedDiskError extends Error {
  override name = "InjectedDiskError";
}

export class SimDisk implements MemberDisk {
  private ids: MemberIds | undefined;
  private durable: LogRecord[] = [];
  private pending: LogRecord[] = [];
  private readonly snapshots = new Map<string, Snapshot>();
  /** Bumped by each crash: storage handed out before it no longer writes. */
  private generation = 0;
  syncs = 0;
  /** Synced records that rotted. */
  rotted = 0;
  /** Synced entries that vanished. */
  lostSynced = 0;
  /** The running process's sleep: a crash ends it, so a sync in progress never completes. */
  private sleep: (ms: number) => Promise<void> = async () => {};

  constructor(
    private readonly prng: Prng,
    private readonly faults: DiskFaults,
  ) {}

  get rots(): boolean {
    return this.faults.corruptsSynced;
  }

  /** A new process uses the disk. */
  attach(sleep: (ms: number) => Promise<void>): void {
    this.sleep = sleep;
  }

  logExists(): boolean {
    return this.ids !== undefined;
  }

  async createLog(ids: MemberIds): Promise<LogStorage> {
    this.ids = ids;
    return this.logHandle(this.generation);
  }

  async openLog(at: { index: number; term: number } | undefined): Promise<OpenedLog> {
    const ids = this.ids;
    if (ids === undefined) throw new Error("sim disk: no log");
    const marked = (r: LogRecord) =>
      r.kind === "snapshot" && r.index === at?.index && r.term === at.term;
    if (at !== undefined && !this.durable.some(marked)) {
      throw new SnapshotMarkerMissing(`no marker for ${at.index}/${at.term}`);
    }
    const rotten = this.durable.findIndex((r) => r.kind === "rotten");
    if (rotten >= 0) {
      // reader.ts's wording for a damaged frame with valid records after it.
      throw new WalError(
        `wal: crc mismatch in sim.wal at record ${rotten}; valid records follow at record ${rotten + 1}`,
      );
    }
    const after = at?.index ?? 0;
    let hardState: HardState = { term: 0, vote: "", commit: 0 };
    const entries: Entry[] = [];
    for (const r of this.durable) {
      if (r.kind === "hardState") hardState = r.hardState;
    }
    // Every entry after the snapshot, also those written before its marker (as the WAL reads).
    for (const r of this.durable) {
      if (r.kind !== "entry" || r.entry.index <= after) continue;
      while (entries.length > 0 && (entries.at(-1)?.index ?? 0) >= r.entry.index) entries.pop();
      entries.push(r.entry);
    }
    return { log: this.logHandle(this.generation), ids, hardState, entries };
  }

  openSnapshots(): SnapshotStore {
    const generation = this.generation;
    const live = () => generation === this.generation;
    return {
      save: (snap) => {
        if (live()) this.snapshots.set(key(snap), snap);
      },
      saveInBackground: async (snap) => {
        if (live()) this.snapshots.set(key(snap), snap);
      },
      prune: () => 0,
      close: () => {},
      list: () =>
        [...this.snapshots.values()]
          .map((s) => ({ index: s.meta.index, term: s.meta.term }))
          .sort((a, b) => b.index - a.index || b.term - a.term),
      loadAt: (index, term) => this.snapshots.get(`${index}/${term}`),
    };
  }

  /** The process died: unsynced records are lost, but for a random prefix of them. */
  crash(): void {
    this.generation++;
    const kept = this.prng.nextInt(this.pending.length + 1);
    this.durable.push(...this.pending.slice(0, kept));
    this.pending = [];
    if (this.faults.corruptsSynced && this.prng.chance(0.5)) this.rot(1 + this.prng.nextInt(3));
    if (this.faults.losesSyncedTail) this.loseTail(1 + this.prng.nextInt(3));
  }

  private loseTail(count: number): void {
    for (let i = this.durable.length - 1; i >= 0 && count > 0; i--) {
      if (this.durable[i]?.kind !== "entry") continue;
      this.durable.splice(i, 1);
      this.lostSynced++;
      count--;
    }
  }

  /** Up to `count` of the latest synced entries that have a record after them rot. */
  private rot(count: number): void {
    for (let i = this.durable.length - 2; i >= 0 && count > 0; i--) {
      const r = this.durable[i];
      if (r?.kind !== "entry") continue;
      this.durable[i] = { kind: "rotten", index: r.entry.index };
      this.rotted++;
      count--;
    }
  }

  private logHandle(generation: number): LogStorage {
    const live = () => generation === this.generation;
    const write = async (records: LogRecord[], sync: boolean) => {
      if (!live()) throw new Error("sim disk: write after the process died");
      this.pending.push(...records);
      if (!sync) return;
      this.syncs++;
      const fails = this.prng.nextFloat() < this.faults.syncFailRate;
      const delay =
        this.faults.syncDelayMsMax > 0 ? this.prng.nextInt(this.faults.syncDelayMsMax + 1) : 0;
      if (delay > 0) await this.sleep(delay);
      if (!live()) throw new Error("sim disk: sync after the process died");
      if (fails) throw new InjectedDiskError("fdatasync: input/output error (injected)");
      this.durable.push(...this.pending);
      this.pending = [];
    };
    return {
      save: async (hardState, entries, options) => {
        const records: LogRecord[] = entries.map((entry) => ({ kind: "entry", entry }));
        if (hardState !== undefined)
          records.push({ kind: "hardState", hardState: { ...hardState } });
        await write(records, options.sync);
      },
      saveSnapshot: async (meta) => {
        await write([{ kind: "snapshot", index: meta.index, term: meta.term }], true);
      },
      releaseLockTo: () => {},
      purge: () => [],
      close: async () => {
        if (live()) await write([], true);
      },
    };
  }
}

const key = (s: Snapshot) => `${s.meta.index}/${s.meta.term}`;
