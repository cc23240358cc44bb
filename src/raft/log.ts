/**
 * RaftLog: the replicated log as raft sees it, a stable prefix in Storage followed by an
 * unstable suffix (entries, or a snapshot, handed out in a Ready but not yet persisted).
 *
 * It tracks `committed` and `applied` and enforces the log rules of Raft §5.3; it never
 * writes Storage.
 */

import { assert } from "../util/assert.ts";
import { CompactedError, limitSize, type Storage, UnavailableError } from "./storage.ts";
import type { Entry, Snapshot } from "./types.ts";

/** No limit on the size of a batch of entries. */
export const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export class RaftLog {
  readonly storage: Storage;
  /** An incoming snapshot not yet persisted; when set, `entries` follow it. */
  private unstableSnapshot: Snapshot | undefined = undefined;
  /** Unstable entries; `unstableEntries[i].index === offset + i`. */
  private unstableEntries: Entry[] = [];
  private offset: number;
  /** Highest index known to be committed (Raft §5.3). */
  committed: number;
  /** Highest index the server has applied; `applied <= committed`. */
  applied: number;

  constructor(storage: Storage) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.offset = last + 1;
    // Everything up to the snapshot is committed and applied by definition.
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.meta.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstableEntries.length > 0) return this.offset + this.unstableEntries.length - 1;
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.meta.index;
    return this.storage.lastIndex();
  }

  /** The term of entry i, or undefined if i is compacted or beyond the last index. */
  term(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const e = i >= this.offset ? this.unstableEntries[i - this.offset] : undefined;
    if (e !== undefined) return e.term;
    const snap = this.unstableSnapshot;
    if (snap !== undefined && i === snap.meta.index) return snap.meta.term;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return undefined;
      throw e;
    }
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert(t !== undefined, "the last entry's term is always known");
    return t;
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** Raft §5.4.1: is (lastIndex, term) at least as up to date as our log? */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Raft §5.3, AppendEntries receiver: if our entry at `index` has `logTerm`, append `ents`
   * (dropping any conflicting suffix), advance commit, and return the last new index.
   * Returns undefined when the consistency check fails.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]) {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      assert(conflict > this.committed, `entry ${conflict} conflicts with committed entry`);
      const first = (ents[0] as Entry).index;
      this.append(ents.slice(conflict - first));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /**
   * The index of the first entry in `ents` whose term differs from ours (or that we lack),
   * or 0 if every entry is already present.
   */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast backtracking hint: the largest index <= `index` whose term is <= `term`, with that
   * term. Stops at the compaction boundary, where the term is unknown (returned as 0).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = index;
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  /** Appends entries to the unstable suffix, truncating anything at or after the first one. */
  append(ents: Entry[]): number {
    const first = ents[0];
    if (first === undefined) return this.lastIndex();
    assert(first.index - 1 >= this.committed, `append at ${first.index} below commit`);
    assert(first.index <= this.lastIndex() + 1, `append gap at ${first.index}`);
    if (first.index === this.offset + this.unstableEntries.length) {
      for (const e of ents) this.unstableEntries.push(e);
    } else if (first.index <= this.offset) {
      // Replaces entries already in storage: the unstable suffix starts over here.
      this.offset = first.index;
      this.unstableEntries = [...ents];
    } else {
      this.unstableEntries.length = first.index - this.offset;
      for (const e of ents) this.unstableEntries.push(e);
    }
    return this.lastIndex();
  }

  /** Entries in [lo, hi) from storage and the unstable suffix, within `maxBytes`. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    assert(lo <= hi, `slice lo ${lo} > hi ${hi}`);
    assert(hi <= this.lastIndex() + 1, `slice hi ${hi} beyond last ${this.lastIndex()}`);
    if (lo < this.firstIndex()) throw new CompactedError(lo);
    if (lo === hi) return [];
    let out: Entry[] = [];
    if (lo < this.offset) {
      out = this.storage.entries(lo, Math.min(hi, this.offset), maxBytes);
      // Storage stopped early on the byte limit: do not add unstable entries after a gap.
      if (out.length < Math.min(hi, this.offset) - lo) return out;
    }
    if (hi > this.offset) {
      const from = Math.max(lo, this.offset) - this.offset;
      const unstable = this.unstableEntries.slice(from, hi - this.offset);
      out = out.length > 0 ? [...out, ...unstable] : unstable;
    }
    return limitSize(out, maxBytes);
  }

  /** Entries from `i` to the end, within `maxBytes`; throws CompactedError below firstIndex. */
  entriesFrom(i: number, maxBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  hasUnstableEntries(): boolean {
    return this.unstableEntries.length > 0;
  }

  unstableEntriesCopy(): Entry[] {
    return [...this.unstableEntries];
  }

  unstableSnap(): Snapshot | undefined {
    return this.unstableSnapshot;
  }

  hasNextCommittedEntries(): boolean {
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  /** Committed entries not yet applied: (applied, committed]. */
  nextCommittedEntries(maxBytes: number): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed < lo) return [];
    return this.slice(lo, this.committed + 1, maxBytes);
  }

  commitTo(i: number): void {
    if (i <= this.committed) return;
    // etcd's wording: a leader knows this member acknowledged entries that its log lacks.
    assert(
      i <= this.lastIndex(),
      `tocommit(${i}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
    );
    this.committed = i;
  }

  /** Raft §5.4.2: commit `maxIndex` only if its entry is from the current term. */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    assert(i <= this.committed, `applied ${i} beyond committed ${this.committed}`);
    assert(i >= this.applied, `applied ${i} goes back from ${this.applied}`);
    this.applied = i;
  }

  /** Entries up to (i, t) reached stable storage; ignored if the entry was since replaced. */
  stableTo(i: number, t: number): void {
    if (i < this.offset) return;
    const e = this.unstableEntries[i - this.offset];
    if (e === undefined || e.term !== t) return;
    this.unstableEntries = this.unstableEntries.slice(i + 1 - this.offset);
    this.offset = i + 1;
  }

  stableSnapTo(i: number): void {
    if (this.unstableSnapshot !== undefined && this.unstableSnapshot.meta.index === i) {
      this.unstableSnapshot = undefined;
    }
  }

  /** Replaces the whole log with a snapshot (Raft §7); it must be newer than `committed`. */
  restore(snap: Snapshot): void {
    assert(snap.meta.index > this.committed, "restore of a snapshot not newer than commit");
    this.unstableSnapshot = snap;
    this.unstableEntries = [];
    this.offset = snap.meta.index + 1;
    this.committed = snap.meta.index;
    // The snapshot's contents count as applied once the server installs it (see advance).
  }

  /** The snapshot to send a lagging follower: a pending incoming one, else storage's. */
  snapshot(): Snapshot {
    return this.unstableSnapshot ?? this.storage.snapshot();
  }
}
