/**
 * The Raft consensus state machine (Ongaro & Ousterhout, "In Search of an Understandable
 * Consensus Algorithm", and Ongaro's thesis), in the shape of etcd-io/raft's `raft` struct.
 *
 * Pure and single-threaded: inputs are ticks, messages and local requests; outputs accumulate
 * in `msgs` and `readStates` and in the log's unstable suffix, and RawNode packages them into a
 * Ready. No I/O, no clock, no Math.random(): time is ticks, randomness a seeded Prng.
 */

import { assert, assertNever } from "../util/assert.ts";
import { Prng } from "../util/prng.ts";
import { NO_LIMIT, RaftLog } from "./log.ts";
import { Progress } from "./progress.ts";
import { ReadOnly } from "./read-only.ts";
import { CompactedError, type Storage } from "./storage.ts";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type MsgApp,
  type MsgAppResp,
  type MsgHeartbeat,
  type MsgHeartbeatResp,
  type MsgPreVote,
  type MsgSnap,
  type MsgVote,
  NONE,
  type NodeId,
  type SoftState,
  type StateType,
} from "./types.ts";

export interface RaftConfig {
  id: NodeId;
  /** Ticks without hearing from a leader before campaigning; randomized to [e, 2e). */
  electionTick: number;
  /** Ticks between leader heartbeats; must be less than electionTick. */
  heartbeatTick: number;
  storage: Storage;
  /** The last index the state machine applied before this start (0 for a fresh node). */
  applied: number;
  /** Upper bound on the entry bytes in one MsgApp. */
  maxSizePerMsg: number;
  /** Upper bound on unacknowledged MsgApps per follower in the replicate state. */
  maxInflightMsgs: number;
  /** Raft thesis §9.6: campaign only after a pre-vote shows a quorum would vote for us. */
  preVote: boolean;
  /** Raft thesis §6.2: a leader steps down when it has not heard from a quorum for a while. */
  checkQuorum: boolean;
  /** Seed for the randomized election timeout (combined with `id`, so it may be shared). */
  seed: number;
}

/** A safe-integer seed from `seed` and a hash (FNV-1a) of `id`. */
function mixSeed(seed: number, id: NodeId): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return (seed % 0x1_0000_0000) * 0x20_0000 + (h % 0x20_0000);
}

type CampaignKind = "preElection" | "election" | "transfer";
type VoteResult = "won" | "lost" | "pending";

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  state: StateType = "follower";
  readonly log: RaftLog;
  /** The voters, with the leader's replication state for each (only meaningful on a leader). */
  readonly progress = new Map<NodeId, Progress>();
  /** Messages to send, drained into each Ready. */
  msgs: Message[] = [];
  readStates: { index: number; requestCtx: string }[] = [];

  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private readonly maxSizePerMsg: number;
  private readonly maxInflight: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly prng: Prng;
  private randomizedElectionTimeout = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private votes = new Map<NodeId, boolean>();
  /** Raft thesis §3.10: the target of an in-progress leadership transfer. */
  leadTransferee: NodeId = NONE;
  /** Index of the last conf change appended by this leader; one may be pending at a time. */
  private pendingConfIndex = 0;
  /** Conf changes up to here are already reflected in `progress` (set by bootstrap). */
  private configIndex = 0;
  private readonly readOnly = new ReadOnly();
  /** ReadIndex requests waiting for this leader to commit an entry of its own term (§6.4). */
  private pendingReadIndex: { from: NodeId; context: string }[] = [];

  constructor(c: RaftConfig) {
    assert(c.id !== NONE, "raft id must not be empty");
    assert(Number.isSafeInteger(c.heartbeatTick) && c.heartbeatTick > 0, "bad heartbeatTick");
    assert(c.electionTick > c.heartbeatTick, "electionTick must exceed heartbeatTick");
    assert(Number.isSafeInteger(c.applied) && c.applied >= 0, "bad applied index");
    assert(c.maxSizePerMsg > 0, "maxSizePerMsg must be positive");
    this.id = c.id;
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.maxSizePerMsg = c.maxSizePerMsg;
    this.maxInflight = c.maxInflightMsgs;
    this.preVote = c.preVote;
    this.checkQuorum = c.checkQuorum;
    // Mix in the id: members configured with the same seed must still time out differently.
    this.prng = new Prng(mixSeed(c.seed, c.id));
    this.log = new RaftLog(c.storage);
    const { hardState, confState } = c.storage.initialState();
    for (const id of confState.voters) this.progress.set(id, this.newProgress());
    this.loadHardState(hardState);
    if (c.applied > 0) this.log.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
  }

  private loadHardState(hs: HardState): void {
    if (hs.term === 0 && hs.vote === NONE && hs.commit === 0) return;
    assert(Number.isSafeInteger(hs.term) && Number.isSafeInteger(hs.commit), "bad HardState");
    assert(
      hs.commit >= this.log.committed && hs.commit <= this.log.lastIndex(),
      // etcd's wording, with the hint that its other log assertion gives.
      `state.commit ${hs.commit} is out of range [${this.log.committed}, ${this.log.lastIndex()}]. Was the raft log corrupted, truncated, or lost?`,
    );
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  private newProgress(): Progress {
    return new Progress(this.log.lastIndex() + 1, this.maxInflight);
  }

  /** Bootstraps a brand-new cluster: conf-change entries 1..n at term 1, committed. */
  bootstrap(peers: NodeId[], encode: (cc: ConfChange) => Uint8Array): void {
    assert(peers.length > 0, "bootstrap needs at least one peer");
    assert(this.log.lastIndex() === 0, "bootstrap of a node that already has a log");
    this.becomeFollower(1, NONE);
    const ents: Entry[] = peers.map((nodeId, i) => ({
      term: 1,
      index: i + 1,
      type: "confChange",
      data: encode({ type: "addNode", nodeId, context: new Uint8Array(0) }),
    }));
    this.log.append(ents);
    this.log.commitTo(ents.length);
    for (const nodeId of peers) {
      this.applyConfChange({ type: "addNode", nodeId, context: new Uint8Array(0) });
    }
    this.configIndex = ents.length;
  }

  softState(): SoftState {
    return { lead: this.lead, state: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  voters(): NodeId[] {
    return [...this.progress.keys()].sort();
  }

  private quorum(): number {
    return Math.floor(this.progress.size / 2) + 1;
  }

  private promotable(): boolean {
    return this.progress.has(this.id);
  }

  // ---- state transitions (Raft §5.2) ----

  private reset(term: number): void {
    if (this.term !== term) {
      assert(term > this.term, `term goes back from ${this.term} to ${term}`);
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + this.prng.nextInt(this.electionTimeout);
    this.leadTransferee = NONE;
    this.votes.clear();
    for (const id of this.progress.keys()) this.progress.set(id, this.newProgress());
    this.pendingConfIndex = 0;
    this.readOnly.reset();
    this.pendingReadIndex = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = "follower";
  }

  private becomePreCandidate(): void {
    assert(this.state !== "leader", "leader cannot become pre-candidate");
    // Raft thesis §9.6: a pre-candidate changes neither term nor vote.
    this.votes.clear();
    this.lead = NONE;
    this.state = "preCandidate";
  }

  private becomeCandidate(): void {
    assert(this.state !== "leader", "leader cannot become candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = "candidate";
  }

  private becomeLeader(): void {
    assert(this.state === "candidate", `${this.state} cannot become leader`);
    this.reset(this.term);
    this.lead = this.id;
    this.state = "leader";
    const self = this.progress.get(this.id);
    assert(self !== undefined, "leader must be a voter");
    self.becomeReplicate();
    self.recentActive = true;
    // Raft §5.4.2 / §8: commit an entry of our own term to learn what is committed.
    this.appendEntries([{ term: 0, index: 0, type: "normal", data: new Uint8Array(0) }]);
    // No conf change until that entry is applied: any unapplied entry may be a pending conf
    // change, and a leader must commit an entry of its own term before changing membership
    // (the single-server change fix to Raft thesis §4.1, raft-dev 2015).
    this.pendingConfIndex = this.log.lastIndex();
  }

  // ---- ticks ----

  tick(): void {
    if (this.state === "leader") this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.checkQuorumActive();
      // Raft thesis §3.10: abort a transfer that did not finish within an election timeout.
      if (this.state === "leader" && this.leadTransferee !== NONE) this.leadTransferee = NONE;
    }
    if (this.state !== "leader") return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** Raft thesis §6.2: step down unless a quorum was heard from in the last timeout. */
  private checkQuorumActive(): void {
    let active = 0;
    for (const [id, pr] of this.progress) {
      if (id === this.id || pr.recentActive) active++;
      if (id !== this.id) pr.recentActive = false;
    }
    if (active < this.quorum()) this.becomeFollower(this.term, NONE);
  }

  // ---- elections (Raft §5.2, thesis §9.6) ----

  /** Starts an election unless this node cannot or should not. */
  hup(transfer: boolean): void {
    if (this.state === "leader") return;
    if (!this.promotable()) return;
    // A node must not campaign with a configuration that committed entries may change.
    if (this.hasUnappliedConfChanges()) return;
    if (transfer) this.campaign("transfer");
    else this.campaign(this.preVote ? "preElection" : "election");
  }

  private hasUnappliedConfChanges(): boolean {
    const lo = Math.max(this.log.applied, this.configIndex) + 1;
    if (lo > this.log.committed) return false;
    try {
      return this.log
        .slice(lo, this.log.committed + 1, NO_LIMIT)
        .some((e) => e.type === "confChange");
    } catch (e) {
      if (e instanceof CompactedError) return false;
      throw e;
    }
  }

  private campaign(kind: CampaignKind): void {
    let term: number;
    if (kind === "preElection") {
      this.becomePreCandidate();
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      term = this.term;
    }
    if (this.poll(this.id, true) === "won") {
      if (kind === "preElection") this.campaign("election");
      else this.becomeLeader();
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    const transfer = kind === "transfer";
    for (const to of this.progress.keys()) {
      if (to === this.id) continue;
      const type = kind === "preElection" ? "MsgPreVote" : "MsgVote";
      this.msgs.push({ type, from: this.id, to, term, index, logTerm, transfer });
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    let yes = 0;
    let no = 0;
    for (const [voter, v] of this.votes) {
      if (!this.progress.has(voter)) continue;
      if (v) yes++;
      else no++;
    }
    if (yes >= this.quorum()) return "won";
    if (no > this.progress.size - this.quorum()) return "lost";
    return "pending";
  }

  private handleVoteRequest(m: MsgVote | MsgPreVote): void {
    const isPre = m.type === "MsgPreVote";
    // Raft §5.2: one vote per term; a pre-vote for a future term binds nothing.
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (isPre && m.term > this.term);
    const type = isPre ? "MsgPreVoteResp" : "MsgVoteResp";
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // Reply in the candidate's term so it counts the vote (Raft §5.4.1 up-to-date check).
      this.msgs.push({ type, from: this.id, to: m.from, term: m.term, reject: false });
      if (!isPre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.msgs.push({ type, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  // ---- the message entry point ----

  /** Steps one message; term handling first (Raft §5.1), then by role. */
  step(m: Message): void {
    if (m.term > this.term) {
      if (!this.stepHigherTerm(m)) return;
    } else if (m.term < this.term && m.term !== 0) {
      this.stepLowerTerm(m);
      return;
    }
    if (m.type === "MsgVote" || m.type === "MsgPreVote") {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.state) {
      case "leader":
        this.stepLeader(m);
        return;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        return;
      case "follower":
        this.stepFollower(m);
        return;
      default:
        assertNever(this.state);
    }
  }

  /** Returns whether to go on processing `m` after adopting its higher term. */
  private stepHigherTerm(m: Message): boolean {
    if (m.type === "MsgVote" || m.type === "MsgPreVote") {
      // Raft thesis §4.2.3: while a leader is known to be alive, ignore disruptive candidates.
      const inLease =
        this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
      if (!m.transfer && inLease) return false;
    }
    if (m.type === "MsgPreVote") return true;
    // A granted pre-vote carries the future term; the term changes only on a real election.
    if (m.type === "MsgPreVoteResp" && !m.reject) return true;
    const fromLeader = m.type === "MsgApp" || m.type === "MsgHeartbeat" || m.type === "MsgSnap";
    this.becomeFollower(m.term, fromLeader ? m.from : NONE);
    return true;
  }

  private stepLowerTerm(m: Message): void {
    if ((this.checkQuorum || this.preVote) && (m.type === "MsgHeartbeat" || m.type === "MsgApp")) {
      // A stale leader cut off from the cluster would otherwise never learn the new term
      // (with pre-vote or check-quorum nobody else bumps it): tell it.
      this.msgs.push({
        type: "MsgAppResp",
        from: this.id,
        to: m.from,
        term: this.term,
        index: 0,
        reject: false,
        rejectHint: 0,
        logTerm: 0,
      });
    } else if (m.type === "MsgPreVote") {
      this.msgs.push({
        type: "MsgPreVoteResp",
        from: this.id,
        to: m.from,
        term: this.term,
        reject: true,
      });
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "MsgProp":
      case "MsgReadIndex":
      case "MsgTransferLeader":
        // Forward to the leader, or drop when there is none.
        if (this.lead !== NONE) this.msgs.push({ ...m, to: this.lead });
        return;
      case "MsgApp":
      case "MsgHeartbeat":
      case "MsgSnap":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleFromLeader(m);
        return;
      case "MsgTimeoutNow":
        // Raft thesis §3.10: campaign at once, overriding leases.
        this.hup(true);
        return;
      case "MsgReadIndexResp":
        this.readStates.push({ index: m.index, requestCtx: m.context });
        return;
      case "MsgAppResp":
      case "MsgVote":
      case "MsgVoteResp":
      case "MsgPreVote":
      case "MsgPreVoteResp":
      case "MsgHeartbeatResp":
        return;
      default:
        assertNever(m);
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "MsgApp":
      case "MsgHeartbeat":
      case "MsgSnap":
        // Raft §5.2: a leader of our term exists; return to follower.
        this.becomeFollower(m.term, m.from);
        this.handleFromLeader(m);
        return;
      case "MsgVoteResp":
      case "MsgPreVoteResp":
        this.handleVoteResp(m.type, m.from, !m.reject);
        return;
      case "MsgProp":
      case "MsgReadIndex":
      case "MsgTransferLeader":
      case "MsgTimeoutNow":
      case "MsgReadIndexResp":
      case "MsgAppResp":
      case "MsgHeartbeatResp":
      case "MsgVote":
      case "MsgPreVote":
        return;
      default:
        assertNever(m);
    }
  }

  private handleVoteResp(type: "MsgVoteResp" | "MsgPreVoteResp", from: NodeId, granted: boolean) {
    const expected = this.state === "preCandidate" ? "MsgPreVoteResp" : "MsgVoteResp";
    if (type !== expected) return;
    const result = this.poll(from, granted);
    if (result === "won") {
      if (this.state === "preCandidate") {
        this.campaign("election");
      } else {
        this.becomeLeader();
        this.bcastAppend();
      }
    } else if (result === "lost") {
      // Raft §5.2: a pre-candidate stays in its term; a candidate keeps its bumped term.
      this.becomeFollower(this.term, NONE);
    }
  }

  private handleFromLeader(m: MsgApp | MsgHeartbeat | MsgSnap): void {
    switch (m.type) {
      case "MsgApp":
        this.handleAppendEntries(m);
        return;
      case "MsgHeartbeat":
        this.handleHeartbeat(m);
        return;
      case "MsgSnap":
        this.handleSnapshot(m);
        return;
      default:
        assertNever(m);
    }
  }

  // ---- follower handlers (Raft §5.3, §7) ----

  private appResp(to: NodeId, index: number, reject?: { hint: number; logTerm: number }): void {
    this.msgs.push({
      type: "MsgAppResp",
      from: this.id,
      to,
      term: this.term,
      index,
      reject: reject !== undefined,
      rejectHint: reject?.hint ?? 0,
      logTerm: reject?.logTerm ?? 0,
    });
  }

  private handleAppendEntries(m: MsgApp): void {
    if (m.index < this.log.committed) {
      // Everything up to commit already matches; tell the leader where we are.
      this.appResp(m.from, this.log.committed);
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.appResp(m.from, lastNew);
      return;
    }
    // Consistency check failed (Raft §5.3). Hint the largest index that could match: our
    // entry at min(index, lastIndex) or earlier with a term <= the leader's term there.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.appResp(m.from, m.index, { hint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: MsgHeartbeat): void {
    this.log.commitTo(m.commit);
    this.msgs.push({
      type: "MsgHeartbeatResp",
      from: this.id,
      to: m.from,
      term: this.term,
      context: m.context,
    });
  }

  private handleSnapshot(m: MsgSnap): void {
    if (this.restore(m.snapshot)) this.appResp(m.from, this.log.lastIndex());
    else this.appResp(m.from, this.log.committed);
  }

  /** Raft §7: replace our log with the snapshot unless we already have what it covers. */
  private restore(snap: MsgSnap["snapshot"]): boolean {
    const { index, term, confState } = snap.meta;
    if (index <= this.log.committed) return false;
    assert(this.state === "follower", "only a follower restores a snapshot");
    if (this.log.matchTerm(index, term)) {
      // Our log already contains the snapshot's last entry: just fast-forward commit.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snap);
    this.progress.clear();
    for (const id of confState.voters) this.progress.set(id, this.newProgress());
    this.configIndex = Math.max(this.configIndex, index);
    return true;
  }

  // ---- leader (Raft §5.3, §5.4) ----

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "MsgProp":
        this.propose(m.entries);
        return;
      case "MsgReadIndex":
        this.readIndex(m.from, m.context);
        return;
      case "MsgTransferLeader":
        this.transferLeader(m.from);
        return;
      case "MsgAppResp":
        this.handleAppResp(m);
        return;
      case "MsgHeartbeatResp":
        this.handleHeartbeatResp(m);
        return;
      case "MsgApp":
      case "MsgHeartbeat":
      case "MsgSnap":
      case "MsgVote":
      case "MsgPreVote":
      case "MsgVoteResp":
      case "MsgPreVoteResp":
      case "MsgTimeoutNow":
      case "MsgReadIndexResp":
        return;
      default:
        assertNever(m);
    }
  }

  /**
   * Leader: appends proposed entries and replicates them. Returns false if dropped (no longer
   * a voter, a transfer in progress, or a lone conf change while another is pending).
   */
  propose(entries: Entry[]): boolean {
    if (this.state !== "leader" || entries.length === 0) return false;
    if (!this.progress.has(this.id) || this.leadTransferee !== NONE) return false;
    const stamped: Entry[] = [];
    for (const e of entries) {
      if (e.type !== "confChange") {
        stamped.push(e);
      } else if (this.pendingConfIndex > this.log.applied) {
        // Raft thesis §4.1: one membership change at a time.
        if (entries.length === 1) return false;
        stamped.push({ ...e, type: "normal", data: new Uint8Array(0) });
      } else {
        this.pendingConfIndex = this.log.lastIndex() + stamped.length + 1;
        stamped.push(e);
      }
    }
    this.appendEntries(stamped);
    this.bcastAppend();
    return true;
  }

  private appendEntries(entries: Entry[]): void {
    const first = this.log.lastIndex() + 1;
    const stamped = entries.map((e, i) => ({ ...e, term: this.term, index: first + i }));
    this.log.append(stamped);
    // The leader's own match advances only once the entries are persisted (see onPersisted).
  }

  /** The server persisted entries up to (index, term): count the leader's own vote for them. */
  onPersisted(index: number, term: number): void {
    if (this.state !== "leader" || this.log.term(index) !== term) return;
    const self = this.progress.get(this.id);
    if (self === undefined || !self.maybeUpdate(index)) return;
    this.afterMatchAdvanced();
  }

  private afterMatchAdvanced(): void {
    if (this.maybeCommit()) {
      this.bcastAppend();
      this.releasePendingReadIndex();
    }
  }

  /** Raft §5.3/§5.4.2: commit the quorum's match index if it is from the current term. */
  private maybeCommit(): boolean {
    const matches = [...this.progress.values()].map((pr) => pr.match).sort((a, b) => b - a);
    const quorumMatch = matches[this.quorum() - 1];
    if (quorumMatch === undefined) return false;
    return this.log.maybeCommit(quorumMatch, this.term);
  }

  bcastAppend(): void {
    for (const id of this.progress.keys()) {
      if (id !== this.id) this.maybeSendAppend(id, true);
    }
  }

  /** Sends a MsgApp (or a snapshot) to `to` unless paused; returns whether it sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    assert(prevIndex <= this.log.lastIndex(), `next ${pr.next} for ${to} beyond our log`);
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) return this.sendSnapshot(to, pr);
    let entries: Entry[];
    try {
      entries = this.log.entriesFrom(pr.next, this.maxSizePerMsg);
    } catch (e) {
      if (e instanceof CompactedError) return this.sendSnapshot(to, pr);
      throw e;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    const commit = this.log.committed;
    this.msgs.push({
      type: "MsgApp",
      from: this.id,
      to,
      term: this.term,
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit,
    });
    const last = entries[entries.length - 1];
    pr.sentEntries(last?.index ?? prevIndex, entries.length);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // Only send to followers known to be alive: snapshots are expensive.
    if (!pr.recentActive) return false;
    const snapshot = this.log.snapshot();
    assert(snapshot.meta.index > 0, "a follower needs a snapshot but there is none");
    pr.becomeSnapshot(snapshot.meta.index);
    this.msgs.push({ type: "MsgSnap", from: this.id, to, term: this.term, snapshot });
    return true;
  }

  private bcastHeartbeat(): void {
    const context = this.readOnly.lastPendingContext();
    for (const id of this.progress.keys()) {
      if (id !== this.id) this.sendHeartbeat(id, context);
    }
  }

  private sendHeartbeat(to: NodeId, context: string): void {
    const pr = this.progress.get(to);
    assert(pr !== undefined, `heartbeat to unknown peer ${to}`);
    // Never tell a follower to commit past what it is known to have (it may not have it).
    const commit = Math.min(pr.match, this.log.committed);
    this.msgs.push({ type: "MsgHeartbeat", from: this.id, to, term: this.term, commit, context });
  }

  private handleAppResp(m: MsgAppResp): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      // Fast backtracking: jump to the last index where our terms may agree.
      const hint =
        m.logTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.logTerm).index : m.rejectHint;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.maybeSendAppend(m.from, true);
      }
      return;
    }
    const oldPaused = pr.isPaused();
    // A stale or duplicated success (it acknowledges nothing new) changes nothing and sends
    // nothing, as in etcd's raft: answering each one with another append multiplied appends and
    // acks between two members until nothing else got through.
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === "snapshot" && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "probe") {
      pr.becomeReplicate();
    } else if (pr.state === "replicate") {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.bcastAppend();
      this.releasePendingReadIndex();
    } else if (oldPaused) {
      this.maybeSendAppend(m.from, true);
    }
    while (this.maybeSendAppend(m.from, false)) {}
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResp(m: MsgHeartbeatResp): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // The follower is alive, yet the window is full: some MsgApps may have been lost. Free
    // one slot so a MsgApp goes out and its reply (or rejection) restarts the flow.
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex() || pr.state === "probe") this.maybeSendAppend(m.from, true);
    if (m.context === "") return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (acks === undefined) return;
    let voters = 0;
    for (const id of acks) if (this.progress.has(id)) voters++;
    if (voters < this.quorum()) return;
    for (const req of this.readOnly.advance(m.context))
      this.respondReadIndex(req.from, req.context, req.index);
  }

  // ---- ReadIndex (Raft thesis §6.4) ----

  /** Leader: serve a ReadIndex request from `from` (this node or a follower). */
  readIndex(from: NodeId, context: string): void {
    if (this.state !== "leader") return;
    // The commit index is only known to be current once an entry of this term is committed.
    if (this.log.term(this.log.committed) !== this.term) {
      this.pendingReadIndex.push({ from, context });
      return;
    }
    if (this.progress.size === 1 && this.progress.has(this.id)) {
      this.respondReadIndex(from, context, this.log.committed);
      return;
    }
    this.readOnly.add(this.log.committed, from, context);
    this.readOnly.recvAck(this.id, context);
    for (const id of this.progress.keys()) {
      if (id !== this.id) this.sendHeartbeat(id, context);
    }
  }

  private releasePendingReadIndex(): void {
    if (this.pendingReadIndex.length === 0) return;
    if (this.log.term(this.log.committed) !== this.term) return;
    const pending = this.pendingReadIndex;
    this.pendingReadIndex = [];
    for (const { from, context } of pending) this.readIndex(from, context);
  }

  private respondReadIndex(from: NodeId, context: string, index: number): void {
    if (from === this.id || from === NONE) {
      this.readStates.push({ index, requestCtx: context });
      return;
    }
    this.msgs.push({
      type: "MsgReadIndexResp",
      from: this.id,
      to: from,
      term: this.term,
      index,
      context,
    });
  }

  // ---- leadership transfer (Raft thesis §3.10) ----

  /** Leader: start handing leadership to `transferee` once its log is up to date. */
  transferLeader(transferee: NodeId): void {
    if (this.state !== "leader") return;
    const pr = this.progress.get(transferee);
    if (pr === undefined || transferee === this.id) return;
    if (this.leadTransferee === transferee) return;
    // The transfer must finish within one election timeout, or it is abandoned.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(transferee);
    else this.maybeSendAppend(transferee, true);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.msgs.push({ type: "MsgTimeoutNow", from: this.id, to, term: this.term });
  }

  // ---- local reports from the transport ----

  reportUnreachable(id: NodeId): void {
    const pr = this.progress.get(id);
    if (this.state !== "leader" || pr === undefined) return;
    // Stop optimistic pipelining; probe until the follower answers again.
    if (pr.state === "replicate") pr.becomeProbe();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.progress.get(id);
    if (this.state !== "leader" || pr === undefined || pr.state !== "snapshot") return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for a heartbeat response (or MsgAppResp) before probing again.
    pr.probeSent = true;
  }

  // ---- membership (Raft thesis §4.1) ----

  applyConfChange(cc: ConfChange): ConfState {
    switch (cc.type) {
      case "addNode":
        if (!this.progress.has(cc.nodeId)) {
          const pr = this.newProgress();
          // Treat a new member as alive so that it can be sent a snapshot at once.
          pr.recentActive = true;
          this.progress.set(cc.nodeId, pr);
        }
        break;
      case "removeNode":
        this.progress.delete(cc.nodeId);
        if (cc.nodeId === this.leadTransferee) this.leadTransferee = NONE;
        break;
      case "updateNode":
        break;
      default:
        assertNever(cc.type);
    }
    if (this.state === "leader") this.afterConfChangeAsLeader();
    return { voters: this.voters() };
  }

  private afterConfChangeAsLeader(): void {
    if (!this.progress.has(this.id)) {
      // A removed leader steps down; the remaining members elect a new one.
      this.becomeFollower(this.term, NONE);
      return;
    }
    // The quorum may have shrunk: entries may now be committed.
    if (this.maybeCommit()) {
      this.bcastAppend();
      this.releasePendingReadIndex();
    } else {
      for (const id of this.progress.keys()) {
        if (id !== this.id) this.maybeSendAppend(id, false);
      }
    }
  }
}
