/**
 * The leader's view of each follower (etcd-io/raft's tracker): match/next indexes, the
 * replication state machine probe → replicate → snapshot, and bounded inflight MsgApps.
 *
 * Pure bookkeeping; the leader decides what to send.
 */

import { assert } from "../util/assert.ts";
import type { ProgressStatus } from "./types.ts";

export type ProgressState = ProgressStatus["state"];

/**
 * A bounded window of MsgApps sent but not yet acknowledged, by the last index each carried.
 * Bounds memory and network use per follower in the replicate state.
 */
export class Inflights {
  private readonly maxCount: number;
  private indexes: number[] = [];

  constructor(maxCount: number) {
    assert(Number.isSafeInteger(maxCount) && maxCount > 0, `bad maxInflightMsgs: ${maxCount}`);
    this.maxCount = maxCount;
  }

  add(index: number): void {
    assert(!this.full(), "inflights overflow");
    const last = this.indexes[this.indexes.length - 1];
    assert(last === undefined || index > last, `inflight ${index} not after ${last}`);
    this.indexes.push(index);
  }

  /** Frees every inflight message whose last index is <= `index` (they were acknowledged). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.indexes.length && (this.indexes[n] as number) <= index) n++;
    if (n > 0) this.indexes = this.indexes.slice(n);
  }

  /** Frees the oldest inflight message (a heartbeat reply showed the follower is alive). */
  freeFirstOne(): void {
    this.indexes = this.indexes.slice(1);
  }

  full(): boolean {
    return this.indexes.length >= this.maxCount;
  }

  count(): number {
    return this.indexes.length;
  }

  reset(): void {
    this.indexes = [];
  }
}

export class Progress {
  /** Highest index known to be replicated on the follower (Raft §5.3 matchIndex). */
  match = 0;
  /** Next index to send (Raft §5.3 nextIndex). */
  next: number;
  state: ProgressState = "probe";
  /** In the snapshot state: the index of the snapshot in flight. */
  pendingSnapshot = 0;
  /** Heard from within the last election timeout (check-quorum, Raft thesis §6.2). */
  recentActive = false;
  /** In the probe state: a MsgApp is outstanding, so wait for a reply or heartbeat. */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number) {
    assert(Number.isSafeInteger(next) && next >= 1, `bad next index ${next}`);
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it: the follower will have it or reject.
    if (this.state === "snapshot") {
      const pending = this.pendingSnapshot;
      this.resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState("probe");
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
  }

  /** Records that a MsgApp ending at `lastIndex` (or carrying nothing) was sent. */
  sentEntries(lastIndex: number, count: number): void {
    if (this.state === "replicate" && count > 0) {
      this.next = lastIndex + 1;
      this.inflights.add(lastIndex);
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
    assert(this.state !== "snapshot", "sent entries in the snapshot state");
  }

  /** A successful MsgAppResp for `n`; returns whether match advanced. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejected MsgApp at `rejected` with the follower's hint; returns false if stale.
   * Raft §5.3: decrement nextIndex and retry, skipping ahead using the hint.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    const next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    // A rejection at the acknowledged match cannot move `next`: resending at once would loop
    // at network speed; the next heartbeat's probe tries again.
    if (next === this.next) return false;
    this.next = next;
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  status(): ProgressStatus {
    return { match: this.match, next: this.next, state: this.state };
  }
}
