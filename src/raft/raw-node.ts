/**
 * RawNode: the server's handle on the raft state machine (etcd-io/raft's RawNode). It turns
 * local requests into raft input, packages output into Ready batches and takes them back in
 * `advance`. Single-threaded and pure, like everything in src/raft.
 */

import { assert } from "../util/assert.ts";
import { encodeConfChange } from "./conf-change-codec.ts";
import type { RaftLog } from "./log.ts";
import { Raft, type RaftConfig } from "./raft.ts";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  MESSAGE_TYPES,
  type Message,
  type MessageType,
  NONE,
  type NodeId,
  ProposalDroppedError,
  type Ready,
  type SoftState,
  type Status,
} from "./types.ts";

export type { RaftConfig } from "./raft.ts";

/**
 * Upper bound on the bytes of committed entries handed out in one Ready, so that a restart
 * with a long unapplied log does not build one huge batch; the rest follows in later Readies.
 */
export const COMMITTED_BYTES_PER_READY_MAX = 64 * 1024 * 1024;

/** Message kinds accepted from the network; anything else is dropped by `step`. */
const NETWORK_TYPES: ReadonlySet<MessageType> = new Set<MessageType>(MESSAGE_TYPES);

/** Responses, which are dropped when they come from a node outside the configuration. */
const RESPONSE_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  "MsgAppResp",
  "MsgVoteResp",
  "MsgPreVoteResp",
  "MsgHeartbeatResp",
]);

/** Messages that legitimately carry term 0 (they are not tied to the sender's term). */
const TERMLESS_TYPES: ReadonlySet<MessageType> = new Set<MessageType>(["MsgProp", "MsgReadIndex"]);

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** A Ready handed out and not yet advanced; only one may be outstanding. */
  private pending = false;

  /**
   * A node with `peers` bootstraps a brand-new cluster: its log gets one committed "addNode"
   * conf-change entry per peer (sorted by id, so every member writes the same log) at
   * indexes 1..n, term 1, which the server applies like any other conf change. Without
   * `peers`, the node restarts (or joins) from what `config.storage` holds.
   */
  constructor(config: RaftConfig, peers?: NodeId[]) {
    this.raft = new Raft(config);
    const initial = config.storage.initialState().hardState;
    this.prevHardState = { ...initial };
    if (peers !== undefined) {
      const sorted = [...new Set(peers)].sort();
      this.raft.bootstrap(sorted, encodeConfChange);
    }
    this.prevSoftState = this.raft.softState();
  }

  /** Advances logical time by one tick (heartbeat or election timeout). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (with a pre-vote first when enabled). */
  campaign(): void {
    this.raft.hup(false);
  }

  /** Proposes `data` for the log. Throws ProposalDroppedError if it cannot be accepted now. */
  propose(data: Uint8Array): void {
    this.proposeEntries([{ term: 0, index: 0, type: "normal", data }]);
  }

  /**
   * Proposes several entries at once, as one MsgProp: the leader appends them together and
   * sends each follower one MsgApp for the lot (one per entry multiplied every per-message
   * cost: encoding, acks, progress updates). Same errors as `propose`; all or none accepted.
   */
  proposeMany(datas: readonly Uint8Array[]): void {
    if (datas.length === 0) return;
    this.proposeEntries(datas.map((data) => ({ term: 0, index: 0, type: "normal", data })));
  }

  /**
   * Proposes a membership change. Throws ProposalDroppedError if there is no leader, or (on
   * the leader) while another conf change is not yet applied. A forwarded one refused by the
   * leader is dropped silently. The server calls applyConfChange when the entry commits.
   */
  proposeConfChange(cc: ConfChange): void {
    this.proposeEntries([{ term: 0, index: 0, type: "confChange", data: encodeConfChange(cc) }]);
  }

  private proposeEntries(entries: Entry[]): void {
    const r = this.raft;
    if (r.state === "leader") {
      if (!r.propose(entries)) throw new ProposalDroppedError(this.leaderDropReason());
      return;
    }
    if (r.lead === NONE) throw new ProposalDroppedError("no leader");
    if (r.state !== "follower") throw new ProposalDroppedError(`${r.state} has no leader`);
    r.msgs.push({ type: "MsgProp", from: r.id, to: r.lead, term: 0, entries });
  }

  private leaderDropReason(): string {
    if (this.raft.leadTransferee !== NONE) return "leadership transfer in progress";
    if (!this.raft.progress.has(this.raft.id)) return "this node was removed";
    return "a configuration change is already pending";
  }

  /** Steps a message from the network; local-only or malformed kinds are ignored. */
  step(m: Message): void {
    if (!NETWORK_TYPES.has(m.type)) return;
    if (m.to !== this.raft.id) return;
    if (!Number.isSafeInteger(m.term) || m.term < 0) return;
    if (m.term === 0 && !TERMLESS_TYPES.has(m.type)) return;
    if (RESPONSE_TYPES.has(m.type) && !this.raft.progress.has(m.from)) return;
    this.raft.step(m);
  }

  /** Whether `ready()` has anything; false while a Ready is outstanding. */
  hasReady(): boolean {
    if (this.pending) return false;
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.state !== this.prevSoftState.state) return true;
    if (!sameHardState(r.hardState(), this.prevHardState)) return true;
    if (r.log.unstableSnap() !== undefined) return true;
    if (r.log.hasUnstableEntries()) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    return r.log.hasNextCommittedEntries();
  }

  /** Hands out the pending work. The caller must follow the contract on Ready, then advance. */
  ready(): Ready {
    assert(!this.pending, "ready() called again before advance()");
    const r = this.raft;
    const log: RaftLog = r.log;
    const hs = r.hardState();
    const ss = r.softState();
    const snapshot = log.unstableSnap();
    const entries = log.unstableEntriesCopy();
    const rd: Ready = {
      entries,
      committedEntries: log.nextCommittedEntries(COMMITTED_BYTES_PER_READY_MAX),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hs.term !== this.prevHardState.term ||
        hs.vote !== this.prevHardState.vote,
    };
    if (ss.lead !== this.prevSoftState.lead || ss.state !== this.prevSoftState.state) {
      rd.softState = ss;
    }
    if (!sameHardState(hs, this.prevHardState)) rd.hardState = hs;
    if (snapshot !== undefined) rd.snapshot = snapshot;
    r.msgs = [];
    r.readStates = [];
    this.prevSoftState = ss;
    this.prevHardState = hs;
    this.pending = true;
    return rd;
  }

  /** Acknowledges `rd`: its entries and snapshot are persisted and its entries applied. */
  advance(rd: Ready): void {
    assert(this.pending, "advance() without an outstanding Ready");
    this.pending = false;
    const log = this.raft.log;
    if (rd.snapshot !== undefined) {
      const index = rd.snapshot.meta.index;
      log.stableSnapTo(index);
      if (index > log.applied) log.appliedTo(index);
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) {
      log.stableTo(last.index, last.term);
      this.raft.onPersisted(last.index, last.term);
    }
    const applied = rd.committedEntries[rd.committedEntries.length - 1];
    if (applied !== undefined) log.appliedTo(applied.index);
  }

  /** Applies a committed conf change to the configuration; returns the new ConfState. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Requests a linearizable read point (Raft thesis §6.4). The answer arrives as a ReadState
   * with the same `requestCtx` in a later Ready. Throws ProposalDroppedError with no leader;
   * the request may also be lost (e.g. the leader changes), so callers need a timeout.
   */
  readIndex(requestCtx: string): void {
    assert(requestCtx !== "", "readIndex needs a non-empty request context");
    const r = this.raft;
    if (r.state === "leader") {
      r.readIndex(r.id, requestCtx);
      return;
    }
    if (r.lead === NONE || r.state !== "follower") throw new ProposalDroppedError("no leader");
    r.msgs.push({ type: "MsgReadIndex", from: r.id, to: r.lead, term: 0, context: requestCtx });
  }

  /** Asks the leader to hand leadership to `to` (Raft thesis §3.10); best effort. */
  transferLeader(to: NodeId): void {
    const r = this.raft;
    if (r.state === "leader") {
      r.transferLeader(to);
      return;
    }
    if (r.lead === NONE) return;
    r.msgs.push({ type: "MsgTransferLeader", from: to, to: r.lead, term: r.term });
  }

  /** The transport could not reach `id`. */
  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  /** The transport finished (ok) or failed sending a snapshot to `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
  }

  status(): Status {
    const r = this.raft;
    const s: Status = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      lead: r.lead,
      state: r.state,
    };
    if (r.state === "leader") {
      s.progress = {};
      for (const [id, pr] of r.progress) s.progress[id] = pr.status();
    }
    return s;
  }
}
