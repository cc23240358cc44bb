/**
 * The Storage interface raft reads its stable log through, and MemoryStorage, an in-memory
 * implementation used by tests, the simulator and as the server's cache in front of the WAL.
 *
 * Raft never writes Storage itself: the server appends what a Ready hands it. Storage does
 * no I/O here.
 */

import { assert } from "../util/assert.ts";
import type { ConfState, Entry, HardState, Snapshot } from "./types.ts";

/** The requested index is below the first available index (it was compacted away). */
export class CompactedError extends Error {
  override name = "CompactedError";
  constructor(index: number) {
    super(`raft storage: index ${index} is compacted`);
  }
}

/** The requested index is beyond the last index. */
export class UnavailableError extends Error {
  override name = "UnavailableError";
  constructor(index: number) {
    super(`raft storage: index ${index} is unavailable`);
  }
}

/** A snapshot or compaction request is older than the storage's current snapshot. */
export class SnapOutOfDateError extends Error {
  override name = "SnapOutOfDateError";
  constructor(index: number) {
    super(`raft storage: snapshot at ${index} is out of date`);
  }
}

export interface Storage {
  /**
   * The persisted HardState and the ConfState as of the last snapshot. Conf changes after the
   * snapshot are re-applied from the log, so restart with `applied` = the snapshot index.
   */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries in [lo, hi), at least one if lo < hi, and then no more than `maxBytes` in total.
   * Throws CompactedError if lo < firstIndex(); asserts hi <= lastIndex() + 1.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /**
   * The term of entry i, for firstIndex() - 1 <= i <= lastIndex() (the entry before the first
   * one is the snapshot's). Throws CompactedError below that range, UnavailableError above.
   */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot; its index is firstIndex() - 1. */
  snapshot(): Snapshot;
}

/** Fixed per-entry overhead counted against byte limits, so empty entries are not free. */
export const ENTRY_OVERHEAD_BYTES = 16;

export function entrySizeBytes(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/** The longest prefix of `ents` within `maxBytes`, but always at least one entry. */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySizeBytes(ents[0] as Entry);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySizeBytes(ents[n] as Entry);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

function emptySnapshot(): Snapshot {
  return { meta: { index: 0, term: 0, confState: { voters: [] } }, data: new Uint8Array(0) };
}

/**
 * In-memory Storage. `ents[0]` is a dummy entry holding the snapshot's index and term, so
 * `ents[i].index === offset + i` where offset is the snapshot index.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: "", commit: 0 };
  private snap: Snapshot = emptySnapshot();
  private ents: Entry[] = [{ term: 0, index: 0, type: "normal", data: new Uint8Array(0) }];

  initialState(): { hardState: HardState; confState: ConfState } {
    return {
      hardState: { ...this.hardState },
      confState: { voters: [...this.snap.meta.confState.voters] },
    };
  }

  setHardState(hs: HardState): void {
    assert(Number.isSafeInteger(hs.term) && Number.isSafeInteger(hs.commit), "bad HardState");
    this.hardState = { ...hs };
  }

  hardStateCopy(): HardState {
    return { ...this.hardState };
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError(lo);
    assert(hi <= this.lastIndex() + 1, `entries hi ${hi} beyond last ${this.lastIndex()}`);
    assert(lo <= hi, `entries lo ${lo} > hi ${hi}`);
    // Stop at the byte limit while scanning, so a far-behind follower costs O(batch), not O(log).
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo - offset; i < hi - offset; i++) {
      const e = this.ents[i] as Entry;
      size += entrySizeBytes(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new CompactedError(i);
    const e = this.ents[i - offset];
    if (e === undefined) throw new UnavailableError(i);
    return e.term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole contents with `snap` (a follower installing a leader's snapshot). */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.snap.meta.index) throw new SnapOutOfDateError(snap.meta.index);
    this.snap = snap;
    this.ents = [
      { term: snap.meta.term, index: snap.meta.index, type: "normal", data: new Uint8Array(0) },
    ];
  }

  /**
   * Records a snapshot of the state machine at `index` (<= lastIndex); does not compact.
   * Throws SnapOutOfDateError if `index` is not newer than the current snapshot.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) throw new SnapOutOfDateError(index);
    assert(index <= this.lastIndex(), `snapshot ${index} beyond last ${this.lastIndex()}`);
    const term = this.term(index);
    this.snap = { meta: { index, term, confState: { voters: [...confState.voters] } }, data };
    return this.snap;
  }

  /** Discards entries before `compactIndex`; that entry becomes the dummy. */
  compact(compactIndex: number): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw new CompactedError(compactIndex);
    assert(compactIndex <= this.lastIndex(), `compact ${compactIndex} beyond last`);
    const i = compactIndex - offset;
    const head = this.ents[i] as Entry;
    this.ents = [
      { term: head.term, index: head.index, type: "normal", data: new Uint8Array(0) },
      ...this.ents.slice(i + 1),
    ];
  }

  /**
   * Appends entries, which must be contiguous and ascending. Entries overlapping existing ones
   * replace them and everything after; entries already compacted are skipped.
   */
  append(entries: Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const firstIndex = this.firstIndex();
    const last = (entries[entries.length - 1] as Entry).index;
    assert(last === first.index + entries.length - 1, "appended entries must be contiguous");
    if (last < firstIndex) return;
    const ents = first.index < firstIndex ? entries.slice(firstIndex - first.index) : entries;
    const start = (ents[0] as Entry).index;
    assert(start <= this.lastIndex() + 1, `append gap: ${start} after ${this.lastIndex()}`);
    // Truncate any conflicting suffix in place, then append: O(appended) on the common path.
    this.ents.length = start - this.offset();
    for (const e of ents) this.ents.push(e);
  }
}
