/**
 * The member's event loop: the only place that drives Raft. Each turn hands queued proposals to
 * Raft, then handles one Ready at a time: persist → send → apply → advance (the contract in
 * raft/types.ts), and finishes snapshots saved in the background. It owns the state Raft
 * reports (term, soft state, applied index); etcd-server.ts is the API over it.
 */
import type { RawNode } from "../raft/raw-node.ts";
import type { MemoryStorage } from "../raft/storage.ts";
import type { Entry, HardState, Message, Ready, Snapshot, SoftState } from "../raft/types.ts";
import { EtcdError } from "../store/errors.ts";
import type { Event } from "../store/event.ts";
import type { Store } from "../store/store.ts";
import { assert } from "../util/assert.ts";
import { type ApplyContext, applyEntry, ConfChangeRejected } from "./apply.ts";
import type { PeerSet } from "./peer-set.ts";
import type { ProposalQueue } from "./proposal-queue.ts";
import type { LinearizableReads } from "./read-index.ts";
import type { SnapshotKeeper } from "./snapshots.ts";
import type { LogStorage, SnapshotStorage } from "./storage.ts";
import type { Time } from "./time.ts";
import type { Waiters } from "./waiters.ts";

/** The outcome of an applied v2 request, with the Raft position it was applied at. */
export interface ApplyResult {
  readonly event: Event | undefined;
  readonly error: EtcdError | undefined;
  /** A membership change refused when applied (it raced with another change). */
  readonly confError?: ConfChangeRejected;
  readonly raftIndex: number;
  readonly raftTerm: number;
}

/** What the loop drives and whom it tells. */
export interface ReadyLoopParts {
  readonly memberId: string;
  readonly time: Time;
  readonly raft: RawNode;
  readonly storage: MemoryStorage;
  readonly wal: LogStorage;
  readonly snapshotter: SnapshotStorage;
  readonly store: Store;
  readonly applyContext: ApplyContext;
  readonly waiters: Waiters<ApplyResult>;
  readonly reads: LinearizableReads;
  readonly proposals: ProposalQueue;
  readonly snapshots: SnapshotKeeper;
  readonly peers: PeerSet;
  readonly electionMs: number;
  /**
   * `--initial-election-tick-advance`: a lone voter campaigns at boot instead of waiting out an
   * election timeout (false: it waits, until it has seen a leader once).
   */
  readonly electionTickAdvance: boolean;
  readonly appliedIndex: number;
  readonly hardState: HardState;
  /** Hands messages to the peer transport. */
  send(msgs: readonly Message[]): void;
  log(line: string): void;
}

export class ReadyLoop {
  appliedIndex: number;
  term: number;
  soft: SoftState = { lead: "", state: "follower" };
  leaderSince: Date;
  /** Times a new leader became known (etcd_server_leader_changes_seen_total). */
  leaderChanges = 0;
  /** Entries that took longer than SLOW_APPLY_MS to apply (etcd_server_slow_apply_total). */
  slowApplies = 0;
  stopping = false;
  private scheduled = false;
  private processing = false;
  private fatal: ((error: unknown) => void) | undefined;
  /** Term and vote as last persisted: a leader sends early only when neither changes. */
  private persisted: { term: number; vote: string };

  constructor(private readonly p: ReadyLoopParts) {
    this.appliedIndex = p.appliedIndex;
    this.term = p.hardState.term;
    this.persisted = { term: p.hardState.term, vote: p.hardState.vote };
    this.leaderSince = new Date(p.time.now());
  }

  /** Where an error of the loop goes from now on; the process must exit. */
  setFatal(onFatal: (error: unknown) => void): void {
    this.fatal = onFatal;
  }

  fail(error: unknown): void {
    this.fatal?.(error);
  }

  /** True while a Ready is being handled. */
  get busy(): boolean {
    return this.processing;
  }

  schedule(): void {
    if (this.scheduled || this.stopping) return;
    this.scheduled = true;
    // After the I/O turn, not a microtask: requests that arrive in one turn join one batch.
    this.p.time.soon(() => {
      this.scheduled = false;
      this.run().catch((error: unknown) => this.fail(error));
    });
  }

  async run(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.stopping) {
        this.p.proposals.flush();
        if (this.p.raft.hasReady()) {
          const rd = this.p.raft.ready();
          await this.handleReady(rd);
          this.p.raft.advance(rd);
        } else if (this.p.snapshots.hasSaved()) {
          await this.p.snapshots.finishSaved();
        } else break;
      }
    } finally {
      this.processing = false;
    }
  }

  /** A lone voter elects itself at once instead of waiting out an election timeout. */
  campaignIfAlone(): void {
    const voters = this.p.applyContext.confState.voters;
    if (this.soft.state !== "follower" || this.soft.lead !== "") return;
    if (!this.p.electionTickAdvance && this.leaderChanges === 0) return;
    if (voters.length === 1 && voters[0] === this.p.memberId) this.p.raft.campaign();
  }

  private send(msgs: readonly Message[]): void {
    if (msgs.length > 0) this.p.send(msgs);
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState !== undefined) this.onSoftState(rd.softState);
    if (rd.hardState !== undefined) this.term = rd.hardState.term;
    // A leader may send before its own fsync (Raft thesis §10.2.1): its entries count toward
    // a commit only once it has persisted them. Everyone else's messages (acks, votes) promise
    // durable state, so they go after.
    const termOrVoteChanged =
      rd.hardState !== undefined &&
      (rd.hardState.term !== this.persisted.term || rd.hardState.vote !== this.persisted.vote);
    const leaderSendsEarly = this.soft.state === "leader" && !termOrVoteChanged;
    let after = rd.messages;
    if (leaderSendsEarly) {
      this.send(rd.messages);
      after = [];
    } else if (rd.messages.some(promisesNothing)) {
      // Forwarded proposals and read requests promise nothing about this member's disk: they
      // go now, a sync sooner, instead of waiting behind this Ready's fdatasync.
      this.send(rd.messages.filter(promisesNothing));
      after = rd.messages.filter((m) => !promisesNothing(m));
    }
    if (rd.snapshot !== undefined) await this.installSnapshot(rd.snapshot);
    // Group commit: every entry and the hard state of this Ready, one fdatasync.
    let saving: Promise<void> | undefined;
    if (rd.entries.length > 0 || rd.hardState !== undefined) {
      // A lone entry means no concurrent writers to overlap with: sync on this thread.
      const blocking = rd.entries.length <= 1;
      saving = this.p.wal.save(rd.hardState, rd.entries, { sync: rd.mustSync, blocking });
    }
    // Committed entries are durable on a quorum already: apply them (and answer their clients)
    // while this member's disk syncs the new ones, as etcd's apply loop does. Membership
    // changes and snapshots keep the strict order.
    const applyEarly =
      saving !== undefined &&
      rd.snapshot === undefined &&
      rd.committedEntries.every((e) => e.type === "normal");
    if (applyEarly) this.applyAll(rd.committedEntries);
    await saving;
    if (rd.hardState !== undefined) {
      this.p.storage.setHardState(rd.hardState);
      this.persisted = { term: rd.hardState.term, vote: rd.hardState.vote };
    }
    if (rd.entries.length > 0) this.p.storage.append(rd.entries);
    this.send(after);
    if (!applyEarly) this.applyAll(rd.committedEntries);
    for (const rs of rd.readStates) this.p.reads.answered(rs);
    this.p.reads.release();
    this.campaignIfAlone();
    this.p.snapshots.maybeTake();
  }

  /** A snapshot from the leader: persist it, then replace the store with its contents. */
  private async installSnapshot(snap: Snapshot): Promise<void> {
    this.p.snapshotter.save(snap);
    await this.p.wal.saveSnapshot({ index: snap.meta.index, term: snap.meta.term });
    this.p.storage.applySnapshot(snap);
    // In place, so registered watchers stay (as etcd's store recovery keeps them).
    this.p.store.restore(new TextDecoder().decode(snap.data));
    this.p.applyContext.confState = snap.meta.confState;
    this.appliedIndex = snap.meta.index;
    this.p.snapshots.installed(snap.meta.index);
    this.p.peers.sync(this.p.store);
    this.p.log(`installed snapshot at index ${snap.meta.index} from the leader`);
  }

  private onSoftState(soft: SoftState): void {
    const leaderChanged = soft.lead !== this.soft.lead;
    this.soft = soft;
    if (leaderChanged && soft.lead !== "") this.leaderChanges++;
    if (leaderChanged) {
      // Proposals that went to a leader that is gone are probably lost; etcd answers them
      // only at the full request timeout, which stalls every client of this member. Answer
      // (error 300, outcome unknown) after two election timeouts unless they apply first.
      this.p.waiters.expireAllWithin(2 * this.p.electionMs, leaderFailureError);
      this.p.reads.leaderChanged();
      this.leaderSince = new Date(this.p.time.now());
      this.p.log(`leader is now ${soft.lead === "" ? "unknown" : soft.lead}`);
    }
    if (soft.lead !== "") this.p.reads.ask();
    if (soft.lead !== "") this.p.proposals.leaderKnown();
  }

  /** etcd's warning (and etcd_server_slow_apply_total) for an entry slow to apply. */
  private slowApply(index: number, tookMs: number): void {
    this.slowApplies++;
    this.p.log(
      `warning: apply of entry ${index} took too long (${tookMs.toFixed(1)} ms, expected less than ${SLOW_APPLY_MS} ms)`,
    );
  }

  private applyAll(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.index <= this.appliedIndex) continue;
      assert(
        entry.index === this.appliedIndex + 1,
        `apply gap: ${this.appliedIndex} → ${entry.index}`,
      );
      const started = this.p.time.monotonic();
      const outcome = applyEntry(this.p.applyContext, entry);
      const took = this.p.time.monotonic() - started;
      if (took > SLOW_APPLY_MS) this.slowApply(entry.index, took);
      this.appliedIndex = entry.index;
      if (outcome !== undefined && outcome.id !== "") {
        const { error } = outcome;
        this.p.waiters.trigger(outcome.id, {
          event: outcome.event,
          error: error instanceof EtcdError ? error : undefined,
          ...(error instanceof ConfChangeRejected ? { confError: error } : {}),
          raftIndex: entry.index,
          raftTerm: this.term,
        });
      }
    }
  }
}

/** etcd's warnApplyDuration: an entry applied slower than this is logged and counted. */
const SLOW_APPLY_MS = 100;

/** Messages whose sender vouches for no persisted state: safe to send before the fdatasync. */
function promisesNothing(m: Message): boolean {
  return m.type === "MsgProp" || m.type === "MsgReadIndex";
}

/** Index 0, as etcd's writeKeyError gives errors that are not the store's. */
function leaderFailureError(): EtcdError {
  return new EtcdError(
    300,
    "etcdserver: request timed out, possibly due to previous leader failure",
    0,
  );
}
