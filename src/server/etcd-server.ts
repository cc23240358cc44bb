/**
 * The member's event loop: the only scheduler. It drives the pure Raft state machine (ticks and
 * Ready handling: persist → send → apply → advance), owns proposal waiters, applies committed
 * entries to the v2 store, proposes TTL expiry (SYNC) while leader, and takes snapshots.
 * It must not know HTTP: the http layer talks to it through `propose` and read-only accessors.
 */

import type { RawNode } from "../raft/raw-node.ts";
import type { MemoryStorage } from "../raft/storage.ts";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  ProposalDroppedError,
  type Ready,
  type Snapshot,
  type SoftState,
} from "../raft/types.ts";
import { EtcdError } from "../store/errors.ts";
import type { Event } from "../store/event.ts";
import type { Store } from "../store/store.ts";
import { applyV2Request, syncRequest, type V2Request } from "../store/v2-apply.ts";
import { assert } from "../util/assert.ts";
import { type ApplyContext, applyEntry, ConfChangeRejected } from "./apply.ts";
import { proposeConfChange } from "./conf-change-proposer.ts";
import { type EntryPayload, encodePayload } from "./entry-payload.ts";
import type { MemberInfo } from "./membership.ts";
import { PeerSet } from "./peer-set.ts";
import { ProposalQueue } from "./proposal-queue.ts";
import { LinearizableReads } from "./read-index.ts";
import { SnapshotKeeper } from "./snapshots.ts";
import type { LogStorage, SnapshotStorage } from "./storage.ts";
import type { Cancel, Time } from "./time.ts";
import { Waiters } from "./waiters.ts";

/** The outcome of an applied v2 request, with the Raft position it was applied at. */
export interface ApplyResult {
  readonly event: Event | undefined;
  readonly error: EtcdError | undefined;
  /** A membership change refused when applied (it raced with another change). */
  readonly confError?: ConfChangeRejected;
  readonly raftIndex: number;
  readonly raftTerm: number;
}

export interface ServerOptions {
  readonly memberId: string;
  readonly clusterId: string;
  readonly name: string;
  readonly heartbeatMs: number;
  readonly electionMs: number;
  readonly snapshotCount: number;
  /**
   * Entries kept in the Raft log behind a snapshot so slow followers catch up without one
   * (etcd's 5000); tests lower it to exercise snapshot transfer.
   */
  readonly snapshotCatchUpEntries: number;
  readonly maxSnapshots: number;
  readonly maxWals: number;
  readonly strictReconfigCheck: boolean;
  readonly log: (line: string) => void;
  /** The clock and timers (real at the edge, simulated in tests). */
  readonly time: Time;
  /** This member was removed from the cluster (applied in its own log): it must stop. */
  readonly onRemoved: () => void;
}

export interface ServerParts {
  readonly raft: RawNode;
  readonly storage: MemoryStorage;
  readonly wal: LogStorage;
  readonly snapshotter: SnapshotStorage;
  readonly store: Store;
  readonly appliedIndex: number;
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/** How often the leader proposes a SYNC so expired TTL keys are deleted (etcd: 500 ms). */
const SYNC_INTERVAL_MS = 500;

/** Where Raft messages for other members go (the peer transport, or a test network). */
export interface PeerNetwork {
  send(msgs: readonly Message[]): void;
  /** Since when (ms since the epoch) this member has been connected to `id`; undefined if not. */
  activeSince(id: string): number | undefined;
  stats(): Record<string, PeerLinkStats>;
  addPeer(id: string, peerUrls: string[]): void;
  removePeer(id: string): void;
  markRemoved(id: string): void;
}

/** Per-follower figures for `/v2/stats/leader` (latency in ms). */
export interface PeerLinkStats {
  readonly sent: number;
  readonly failed: number;
  readonly latencyMs: {
    readonly current: number;
    readonly average: number;
    readonly standardDeviation: number;
    readonly minimum: number;
    readonly maximum: number;
  };
}

export class EtcdServer {
  private readonly currentStore: Store;
  readonly memberId: string;
  readonly clusterId: string;
  readonly name: string;
  private readonly raft: RawNode;
  private readonly storage: MemoryStorage;
  private readonly wal: LogStorage;
  private readonly snapshotter: SnapshotStorage;
  private readonly options: ServerOptions;
  private readonly waiters: Waiters<ApplyResult>;
  private readonly applyContext: ApplyContext;
  private appliedIndex: number;
  private readonly snapshots: SnapshotKeeper;
  private term: number;
  private soft: SoftState = { lead: "", state: "follower" };
  private scheduled = false;
  private processing = false;
  private stopping = false;
  private fatal: ((error: unknown) => void) | undefined;
  private timers: Cancel[] = [];
  private network: PeerNetwork | undefined;
  /** Term and vote as last persisted: a leader sends early only when neither changes. */
  private persisted: { term: number; vote: string };
  private readonly reads: LinearizableReads;
  private readonly peers: PeerSet;
  private readonly proposals: ProposalQueue;
  readonly startTime: Date;
  leaderSince: Date;
  private readonly time: Time;

  constructor(parts: ServerParts, options: ServerOptions) {
    this.raft = parts.raft;
    this.storage = parts.storage;
    this.wal = parts.wal;
    this.snapshotter = parts.snapshotter;
    this.currentStore = parts.store;
    this.appliedIndex = parts.appliedIndex;

    this.term = parts.hardState.term;
    this.persisted = { term: parts.hardState.term, vote: parts.hardState.vote };
    this.options = options;
    this.memberId = options.memberId;
    this.clusterId = options.clusterId;
    this.name = options.name;
    this.time = options.time;
    this.startTime = new Date(this.time.now());
    this.leaderSince = this.startTime;
    this.waiters = new Waiters(options.memberId, this.time);
    this.peers = new PeerSet(options.memberId);
    this.proposals = new ProposalQueue({
      time: this.time,
      hasLeader: () => this.soft.lead !== "",
      proposeMany: (batch) => {
        try {
          this.raft.proposeMany(batch);
          return true;
        } catch (error) {
          if (!(error instanceof ProposalDroppedError)) throw error;
          return false;
        }
      },
      schedule: () => this.schedule(),
      requestTimeoutMs: () => this.requestTimeoutMs,
    });
    this.snapshots = new SnapshotKeeper(
      {
        time: this.time,
        raftLog: this.storage,
        wal: this.wal,
        snapshotter: this.snapshotter,
        snapshotCount: options.snapshotCount,
        catchUpEntries: options.snapshotCatchUpEntries,
        maxSnapshots: options.maxSnapshots,
        maxWals: options.maxWals,
        store: () => this.store,
        confState: () => this.applyContext.confState,
        appliedIndex: () => this.appliedIndex,
        stopping: () => this.stopping,
        schedule: () => this.schedule(),
        fatal: (error) => this.fatal?.(error),
        log: (line) => this.options.log(line),
      },
      parts.appliedIndex,
    );
    this.reads = new LinearizableReads({
      time: this.time,
      askReadIndex: (ctx) => this.askReadIndex(ctx),
      newContext: () => this.waiters.nextId(),
      hasLeader: () => this.soft.lead !== "",
      appliedIndex: () => this.appliedIndex,
      timeoutMs: () => this.requestTimeoutMs,
      timeoutError: () => timeoutError(this.currentStore),
    });
    this.applyContext = {
      store: this.currentStore,
      raft: this.raft,
      confState: parts.confState,
      onMembersChanged: (type, nodeId) => this.onMembersChanged(type, nodeId),
    };
  }

  /** Starts ticking. `onFatal` is called once if persistence fails; the process must exit. */
  start(onFatal: (error: unknown) => void): void {
    this.fatal = onFatal;
    this.timers.push(this.time.every(this.options.heartbeatMs, () => this.tick()));
    this.timers.push(this.time.every(SYNC_INTERVAL_MS, () => this.maybeSync()));
    // A lone voter need not wait out an election timeout after a restart whose replay left no
    // Ready to handle (etcd fast-forwards its election ticks for the same reason).
    this.campaignIfAlone();
    this.schedule();
  }

  /**
   * Stops the loop after the Ready in progress (its entries synced, its committed entries
   * applied and answered), fails every request still waiting (error 300, outcome unknown, as
   * etcd's "server stopped"), then syncs and closes the WAL.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const cancel of this.timers) cancel();
    while (this.processing) await this.time.sleep(1);
    const stopped = () => new EtcdError(300, "etcdserver: server stopped", this.store.index());
    this.waiters.failAll(stopped);
    this.reads.failAll(stopped);
    // A snapshot still being written is simply not marked in the WAL: restart uses the last one.
    await this.snapshots.settle();
    await this.wal.close();
    this.snapshotter.close();
  }

  /** The v2 store; restored in place when a snapshot from the leader is installed. */
  get store(): Store {
    return this.currentStore;
  }

  /**
   * Connects the member to its peers; messages are sent from the next Ready on. `bootPeers`
   * are the members a joining member learned from the cluster before its own store has any:
   * used until the store lists members.
   */
  attachNetwork(network: PeerNetwork, bootPeers: readonly MemberInfo[] = []): void {
    this.network = network;
    this.peers.attach(network, bootPeers);
    this.peers.sync(this.currentStore);
  }

  /** Raft messages from peers. */
  receive(msgs: readonly Message[]): void {
    if (this.stopping) return;
    for (const m of msgs) {
      if (m.type === "MsgApp") this.appendCounts.received++;
      this.raft.step(m);
    }
    this.schedule();
  }

  get strictReconfigCheck(): boolean {
    return this.options.strictReconfigCheck;
  }

  peerActiveSince(id: string): number | undefined {
    return this.network?.activeSince(id);
  }

  /** Proposes a membership change; resolves once it is applied here (conf-change-proposer.ts). */
  proposeConfChange(type: ConfChange["type"], nodeId: string, peerURLs: string[]): Promise<void> {
    return proposeConfChange(
      {
        time: this.time,
        raft: this.raft,
        memberId: this.memberId,
        electionMs: this.options.electionMs,
        isLeader: () => this.soft.state === "leader",
        leader: () => this.soft.lead,
        stopping: () => this.stopping,
        requestTimeoutMs: () => this.requestTimeoutMs,
        newRequest: () => {
          const id = this.waiters.nextId();
          const applied = this.waiters.wait(id, this.requestTimeoutMs, () =>
            timeoutError(this.currentStore),
          );
          return { id, applied };
        },
        failRequest: (id, error) => this.waiters.fail(id, error),
        schedule: () => this.schedule(),
        log: (line) => this.options.log(line),
      },
      type,
      nodeId,
      peerURLs,
    );
  }

  /** Follower link figures as seen from this member (meaningful on the leader). */
  peerStats(): Record<string, PeerLinkStats> {
    return this.network?.stats() ?? {};
  }

  /** Append requests received from / sent to peers (for `/v2/stats/self`). */
  readonly appendCounts = { received: 0, sent: 0 };

  reportUnreachable(id: string): void {
    this.raft.reportUnreachable(id);
  }

  reportSnapshot(id: string, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
    this.schedule();
  }

  private onMembersChanged(type: ConfChange["type"], nodeId: string): void {
    if (type === "removeNode" && nodeId === this.memberId) {
      this.options.onRemoved();
      return;
    }
    this.peers.sync(this.currentStore);
  }

  get stopped(): boolean {
    return this.stopping;
  }

  /**
   * Applies every entry already committed in the log (a restart's WAL replay) before the member
   * serves, so the first reads see all acknowledged writes.
   */
  async replayCommitted(): Promise<void> {
    await this.run();
  }

  /** True when the store holds `path` (internal paths such as `/0/version` included). */
  hasKey(path: string): boolean {
    return this.currentStore.has(path);
  }

  /** Resolves true if an empty proposal commits and applies within timeoutMs. */
  async probeQuorum(timeoutMs: number): Promise<boolean> {
    const id = this.waiters.nextId();
    const done = this.waiters.wait(id, timeoutMs, () => new Error("timeout"));
    this.proposeData(encodePayload({ kind: "noop", id }));
    return done.then(
      () => true,
      () => false,
    );
  }

  /** A lone voter elects itself at once instead of waiting out an election timeout. */
  private campaignIfAlone(): void {
    const voters = this.applyContext.confState.voters;
    if (this.soft.state !== "follower" || this.soft.lead !== "") return;
    if (voters.length === 1 && voters[0] === this.memberId) this.raft.campaign();
  }

  get raftIndex(): number {
    return this.appliedIndex;
  }

  get raftTerm(): number {
    return this.term;
  }

  get leader(): string {
    return this.soft.lead;
  }

  get state(): SoftState["state"] {
    return this.soft.state;
  }

  /** The wall clock, ms since the epoch (for reconfiguration's checks). */
  now(): number {
    return this.time.now();
  }

  /** Request timeout for writes and quorum reads: 5 s + 2 × election timeout, as etcd. */
  get requestTimeoutMs(): number {
    return 5000 + 2 * this.options.electionMs;
  }

  /**
   * Waits until this member has applied everything committed when the call was made, as
   * confirmed by the leader's quorum (read-index.ts). After it resolves, a local read is
   * linearizable.
   */
  linearizableRead(): Promise<void> {
    return this.reads.read();
  }

  /** Asks Raft for a ReadIndex; false when it was dropped for want of a leader. */
  private askReadIndex(ctx: string): boolean {
    try {
      this.raft.readIndex(ctx);
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
      return false;
    }
    this.schedule();
    return true;
  }

  /** Proposes a v2 request through Raft and resolves when it has been applied locally. */
  proposeV2(req: V2Request): Promise<ApplyResult> {
    const id = this.waiters.nextId();
    const done = this.waiters.wait(id, this.requestTimeoutMs, () => timeoutError(this.store));
    this.proposeData(encodePayload({ kind: "v2", id, req }));
    return done;
  }

  /** Proposes an internal metadata write under `/0`; resolves once applied. */
  proposeInternal(path: string, value: string): Promise<ApplyResult> {
    const id = this.waiters.nextId();
    const done = this.waiters.wait(id, this.requestTimeoutMs, () => timeoutError(this.store));
    const payload: EntryPayload = { kind: "internal", id, path, value };
    this.proposeData(encodePayload(payload));
    return done;
  }

  /** Queues a proposal; the Ready loop hands every queued one to Raft together. */
  private proposeData(data: Uint8Array): void {
    this.proposals.add(data);
  }

  private tick(): void {
    if (this.stopping) return;
    this.raft.tick();
    this.reads.retryLost();
    this.schedule();
  }

  private maybeSync(): void {
    if (this.stopping || this.soft.state !== "leader" || !this.store.hasTTLKeys()) return;
    const req = syncRequest(this.time.now());
    this.proposeData(encodePayload({ kind: "v2", id: "", req }));
  }

  private schedule(): void {
    if (this.scheduled || this.stopping) return;
    this.scheduled = true;
    // After the I/O turn, not a microtask: requests that arrive in one turn join one batch.
    this.time.soon(() => {
      this.scheduled = false;
      this.run().catch((error: unknown) => this.fatal?.(error));
    });
  }

  private async run(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.stopping) {
        this.proposals.flush();
        if (this.raft.hasReady()) {
          const rd = this.raft.ready();
          await this.handleReady(rd);
          this.raft.advance(rd);
        } else if (this.snapshots.hasSaved()) {
          await this.snapshots.finishSaved();
        } else break;
      }
    } finally {
      this.processing = false;
    }
  }

  private send(msgs: readonly Message[]): void {
    if (this.network === undefined || msgs.length === 0) return;
    for (const m of msgs) if (m.type === "MsgApp") this.appendCounts.sent++;
    this.network.send(msgs);
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
      saving = this.wal.save(rd.hardState, rd.entries, { sync: rd.mustSync, blocking });
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
      this.storage.setHardState(rd.hardState);
      this.persisted = { term: rd.hardState.term, vote: rd.hardState.vote };
    }
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    this.send(after);
    if (!applyEarly) this.applyAll(rd.committedEntries);
    for (const rs of rd.readStates) this.reads.answered(rs);
    this.reads.release();
    this.campaignIfAlone();
    this.snapshots.maybeTake();
  }

  /** A snapshot from the leader: persist it, then replace the store with its contents. */
  private async installSnapshot(snap: Snapshot): Promise<void> {
    this.snapshotter.save(snap);
    await this.wal.saveSnapshot({ index: snap.meta.index, term: snap.meta.term });
    this.storage.applySnapshot(snap);
    // In place, so registered watchers stay (as etcd's store recovery keeps them).
    this.store.restore(new TextDecoder().decode(snap.data));
    this.applyContext.confState = snap.meta.confState;
    this.appliedIndex = snap.meta.index;
    this.snapshots.installed(snap.meta.index);
    this.peers.sync(this.currentStore);
    this.options.log(`installed snapshot at index ${snap.meta.index} from the leader`);
  }

  private onSoftState(soft: SoftState): void {
    const leaderChanged = soft.lead !== this.soft.lead;
    this.soft = soft;
    if (leaderChanged) {
      // Proposals that went to a leader that is gone are probably lost; etcd answers them
      // only at the full request timeout, which stalls every client of this member. Answer
      // (error 300, outcome unknown) after two election timeouts unless they apply first.
      this.waiters.expireAllWithin(2 * this.options.electionMs, () =>
        leaderFailureError(this.currentStore),
      );
      this.reads.leaderChanged();
      this.leaderSince = new Date(this.time.now());
      this.options.log(`leader is now ${soft.lead === "" ? "unknown" : soft.lead}`);
    }
    if (soft.lead !== "") this.reads.ask();
    if (soft.lead !== "") this.proposals.leaderKnown();
  }

  private applyAll(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.index <= this.appliedIndex) continue;
      assert(
        entry.index === this.appliedIndex + 1,
        `apply gap: ${this.appliedIndex} → ${entry.index}`,
      );
      const outcome = applyEntry(this.applyContext, entry);
      this.appliedIndex = entry.index;
      if (outcome !== undefined && outcome.id !== "") {
        const { error } = outcome;
        this.waiters.trigger(outcome.id, {
          event: outcome.event,
          error: error instanceof EtcdError ? error : undefined,
          ...(error instanceof ConfChangeRejected ? { confError: error } : {}),
          raftIndex: entry.index,
          raftTerm: this.term,
        });
      }
    }
  }

  /** Reads a key locally (default v2 GET: served from this member's store, no Raft). */
  localGet(req: V2Request): Event {
    return applyV2Request(this.store, req) as Event;
  }
}

/** Messages whose sender vouches for no persisted state: safe to send before the fdatasync. */
function promisesNothing(m: Message): boolean {
  return m.type === "MsgProp" || m.type === "MsgReadIndex";
}

function leaderFailureError(store: Store): EtcdError {
  return new EtcdError(
    300,
    "etcdserver: request timed out, possibly due to previous leader failure",
    store.index(),
  );
}

function timeoutError(store: Store): EtcdError {
  return new EtcdError(300, "etcdserver: request timed out", store.index());
}
