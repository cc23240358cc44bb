/**
 * A member's server: what the member edge and the HTTP API call. It wires the parts by job
 * (ready-loop.ts drives Raft; proposal-queue.ts, waiters.ts, read-index.ts, snapshots.ts,
 * peer-set.ts, conf-change-proposer.ts), ticks Raft, proposes TTL expiry (SYNC) while leader,
 * and answers proposals and reads. It knows nothing of HTTP.
 */

import type { RawNode } from "../raft/raw-node.ts";
import type { MemoryStorage } from "../raft/storage.ts";
import {
  type ConfChange,
  type ConfState,
  type HardState,
  type Message,
  ProposalDroppedError,
  type SoftState,
  type Status,
} from "../raft/types.ts";
import { EtcdError } from "../store/errors.ts";
import type { Event } from "../store/event.ts";
import type { Store } from "../store/store.ts";
import { applyV2Request, authStorePath, syncRequest, type V2Request } from "../store/v2-apply.ts";
import { appendSize, RateWindow } from "./append-rates.ts";
import type { ApplyContext } from "./apply.ts";
import { proposeConfChange } from "./conf-change-proposer.ts";
import { type EntryPayload, encodePayload } from "./entry-payload.ts";
import { HeartbeatWatch } from "./heartbeat-watch.ts";
import type { MemberInfo } from "./membership.ts";
import { PeerSet } from "./peer-set.ts";
import { ProposalQueue } from "./proposal-queue.ts";
import { LinearizableReads } from "./read-index.ts";
import { type ApplyResult, ReadyLoop } from "./ready-loop.ts";
import { SnapshotKeeper } from "./snapshots.ts";
import type { LogStorage, SnapshotStorage } from "./storage.ts";
import type { Cancel, Time } from "./time.ts";
import { Waiters } from "./waiters.ts";

export type { ApplyResult } from "./ready-loop.ts";

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
  /** A lone voter campaigns at boot (absent: true); false waits out an election timeout. */
  readonly electionTickAdvance?: boolean;
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

/** etcd's tick advance looks for connected peers every 50 ms, for up to 5 s. */
const TICK_ADVANCE_POLL_MS = 50;
const TICK_ADVANCE_LOOKS = 100;

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
  /** A stream to the peer is open (etcd_network_active_peers). */
  readonly active?: boolean;
  readonly latencyMs: {
    readonly current: number;
    readonly average: number;
    readonly standardDeviation: number;
    readonly minimum: number;
    readonly maximum: number;
  };
}

export class EtcdServer {
  readonly memberId: string;
  readonly clusterId: string;
  readonly name: string;
  readonly startTime: Date;
  /** Append requests received from / sent to peers (for `/v2/stats/self`). */
  readonly appendCounts = { received: 0, sent: 0 };
  /** Append requests sent (as leader) and received (as follower) over the last second or so. */
  readonly appendRates: { readonly sent: RateWindow; readonly received: RateWindow };
  private readonly heartbeats: HeartbeatWatch;
  private readonly currentStore: Store;
  private readonly raft: RawNode;
  private readonly wal: LogStorage;
  private readonly snapshotter: SnapshotStorage;
  private readonly options: ServerOptions;
  private readonly time: Time;
  private readonly waiters: Waiters<ApplyResult>;
  private readonly applyContext: ApplyContext;
  private readonly snapshots: SnapshotKeeper;
  private readonly reads: LinearizableReads;
  private readonly peers: PeerSet;
  private readonly proposals: ProposalQueue;
  private readonly loop: ReadyLoop;
  private timers: Cancel[] = [];
  private network: PeerNetwork | undefined;
  private stopDone: Promise<void> | undefined;

  constructor(parts: ServerParts, options: ServerOptions) {
    this.raft = parts.raft;
    this.wal = parts.wal;
    this.snapshotter = parts.snapshotter;
    this.currentStore = parts.store;
    this.options = options;
    this.memberId = options.memberId;
    this.clusterId = options.clusterId;
    this.name = options.name;
    this.time = options.time;
    this.startTime = new Date(this.time.now());
    const monotonic = () => this.time.monotonic();
    this.appendRates = { sent: new RateWindow(monotonic), received: new RateWindow(monotonic) };
    this.heartbeats = new HeartbeatWatch(options.heartbeatMs, monotonic, options.log);
    this.waiters = new Waiters(options.memberId, this.time);
    this.peers = new PeerSet(options.memberId);
    this.proposals = this.newProposalQueue();
    this.snapshots = new SnapshotKeeper(
      {
        time: this.time,
        raftLog: parts.storage,
        wal: this.wal,
        snapshotter: this.snapshotter,
        snapshotCount: options.snapshotCount,
        catchUpEntries: options.snapshotCatchUpEntries,
        maxSnapshots: options.maxSnapshots,
        maxWals: options.maxWals,
        store: () => this.store,
        confState: () => this.applyContext.confState,
        appliedIndex: () => this.loop.appliedIndex,
        stopping: () => this.loop.stopping,
        schedule: () => this.loop.schedule(),
        fatal: (error) => this.loop.fail(error),
        log: (line) => this.options.log(line),
      },
      parts.appliedIndex,
    );
    this.reads = new LinearizableReads({
      time: this.time,
      askReadIndex: (ctx) => this.askReadIndex(ctx),
      newContext: () => this.waiters.nextId(),
      hasLeader: () => this.leader !== "",
      appliedIndex: () => this.loop.appliedIndex,
      timeoutMs: () => this.requestTimeoutMs,
      timeoutError: () => timeoutError(),
    });
    this.applyContext = {
      store: this.currentStore,
      raft: this.raft,
      confState: parts.confState,
      onMembersChanged: (type, nodeId) => this.onMembersChanged(type, nodeId),
    };
    this.loop = new ReadyLoop({
      memberId: options.memberId,
      time: this.time,
      raft: this.raft,
      storage: parts.storage,
      wal: this.wal,
      snapshotter: this.snapshotter,
      store: this.currentStore,
      applyContext: this.applyContext,
      waiters: this.waiters,
      reads: this.reads,
      proposals: this.proposals,
      snapshots: this.snapshots,
      peers: this.peers,
      electionMs: options.electionMs,
      electionTickAdvance: options.electionTickAdvance ?? true,
      appliedIndex: parts.appliedIndex,
      hardState: parts.hardState,
      send: (msgs) => this.send(msgs),
      log: (line) => this.options.log(line),
    });
  }

  /** Raft messages to peers, counted for the self stats. */
  private send(msgs: readonly Message[]): void {
    for (const m of msgs) {
      if (m.type === "MsgHeartbeat") this.heartbeats.sent(m.to, m.term);
      if (m.type !== "MsgApp") continue;
      this.appendCounts.sent++;
      this.appendRates.sent.record(appendSize(m));
    }
    this.network?.send(msgs);
  }

  private newProposalQueue(): ProposalQueue {
    return new ProposalQueue({
      time: this.time,
      hasLeader: () => this.leader !== "",
      proposeMany: (batch) => {
        try {
          this.raft.proposeMany(batch);
          return true;
        } catch (error) {
          if (!(error instanceof ProposalDroppedError)) throw error;
          return false;
        }
      },
      schedule: () => this.loop.schedule(),
      requestTimeoutMs: () => this.requestTimeoutMs,
    });
  }

  /** Starts ticking. `onFatal` is called once if persistence fails; the process must exit. */
  start(onFatal: (error: unknown) => void): void {
    this.loop.setFatal(onFatal);
    this.timers.push(this.time.every(this.options.heartbeatMs, () => this.tick()));
    this.timers.push(this.time.every(SYNC_INTERVAL_MS, () => this.maybeSync()));
    // A lone voter need not wait out an election timeout after a restart whose replay left no
    // Ready to handle (etcd fast-forwards its election ticks for the same reason).
    this.loop.campaignIfAlone();
    if (this.options.electionTickAdvance !== false) this.advanceTicksOncePeersConnect();
    this.loop.schedule();
  }

  /**
   * etcd's initial election tick advance with several voters: once two peers are connected
   * (looked at every 50 ms for 5 s), a member that has heard of no leader yet is fast-forwarded
   * to two ticks short of its election timeout, so a cluster restarted as a whole elects about
   * one election timeout sooner. A leader's heartbeat still resets it, as any tick count.
   */
  private advanceTicksOncePeersConnect(): void {
    const others = () => this.applyContext.confState.voters.filter((id) => id !== this.memberId);
    if (others().length < 2) return;
    let looks = 0;
    const cancel = this.time.every(TICK_ADVANCE_POLL_MS, () => {
      looks++;
      const connected = others().filter((id) => this.peerActiveSince(id) !== undefined).length;
      if (connected < 2 && looks < TICK_ADVANCE_LOOKS) return;
      cancel();
      if (connected < 2 || this.loop.stopping) return;
      if (this.leader !== "" || this.state !== "follower") return;
      const ticks = Math.floor(this.options.electionMs / this.options.heartbeatMs) - 2;
      if (ticks <= 0) return;
      for (let i = 0; i < ticks; i++) this.raft.tick();
      this.options.log(
        `${this.memberId} initialized peer connection; fast-forwarding ${ticks} ticks (election ticks ${ticks + 2}) with ${connected} active peer(s)`,
      );
      this.loop.schedule();
    });
    this.timers.push(cancel);
  }

  /**
   * Stops the loop after the Ready in progress (its entries synced, its committed entries
   * applied and answered), fails every request still waiting (error 300, outcome unknown, as
   * etcd's "server stopped"), then syncs and closes the WAL.
   */
  /** Stops the server; later calls wait for the first one. */
  stop(): Promise<void> {
    this.stopDone ??= this.stopOnce();
    return this.stopDone;
  }

  private async stopOnce(): Promise<void> {
    this.loop.stopping = true;
    for (const cancel of this.timers) cancel();
    while (this.loop.busy) await this.time.sleep(1);
    const stopped = () => new EtcdError(300, "etcdserver: server stopped", 0);
    this.waiters.failAll(stopped);
    this.reads.failAll(stopped);
    // A snapshot still being written is simply not marked in the WAL: restart uses the last one.
    await this.snapshots.settle();
    await this.wal.close();
    this.snapshotter.close();
  }

  get stopped(): boolean {
    return this.loop.stopping;
  }

  /**
   * Applies every entry already committed in the log (a restart's WAL replay) before the member
   * serves, so the first reads see all acknowledged writes.
   */
  async replayCommitted(): Promise<void> {
    await this.loop.run();
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
    if (this.loop.stopping) return;
    for (const m of msgs) {
      if (m.type === "MsgApp") {
        this.appendCounts.received++;
        this.appendRates.received.record(appendSize(m));
      }
      this.raft.step(m);
    }
    this.loop.schedule();
  }

  reportUnreachable(id: string): void {
    this.raft.reportUnreachable(id);
  }

  reportSnapshot(id: string, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
    this.loop.schedule();
  }

  /** Follower link figures as seen from this member (meaningful on the leader). */
  peerStats(): Record<string, PeerLinkStats> {
    return this.network?.stats() ?? {};
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
        isLeader: () => this.state === "leader",
        leader: () => this.leader,
        stopping: () => this.loop.stopping,
        requestTimeoutMs: () => this.requestTimeoutMs,
        newRequest: () => {
          const id = this.waiters.nextId();
          const applied = this.waiters.wait(id, this.requestTimeoutMs, () => timeoutError());
          return { id, applied };
        },
        failRequest: (id, error) => this.waiters.fail(id, error),
        schedule: () => this.loop.schedule(),
        log: (line) => this.options.log(line),
      },
      type,
      nodeId,
      peerURLs,
    );
  }

  private onMembersChanged(type: ConfChange["type"], nodeId: string): void {
    const done = { addNode: "added", removeNode: "removed", updateNode: "updated" }[type];
    this.options.log(`membership: ${done} member ${nodeId} (applied)`);
    if (type === "removeNode" && nodeId === this.memberId) {
      this.options.onRemoved();
      return;
    }
    this.peers.sync(this.currentStore);
  }

  /** True when the store holds `path` (internal paths such as `/0/version` included). */
  hasKey(path: string): boolean {
    return this.currentStore.has(path);
  }

  /** Resolves true if an empty proposal commits and applies within timeoutMs. */
  async probeQuorum(timeoutMs: number): Promise<boolean> {
    const id = this.waiters.nextId();
    const done = this.waiters.wait(id, timeoutMs, () => new Error("timeout"));
    this.proposals.add(encodePayload({ kind: "noop", id }));
    return done.then(
      () => true,
      () => false,
    );
  }

  /** Raft's status (for `/debug/vars`). */
  raftStatus(): Status {
    return this.raft.status();
  }

  /** What the metrics show of the server (read at each scrape). */
  figures(): ServerFigures {
    return {
      commitIndex: this.raft.status().commit,
      appliedIndex: this.loop.appliedIndex,
      pendingProposals: this.waiters.size,
      failedProposals: this.waiters.failed,
      leaderChanges: this.loop.leaderChanges,
      slowApplies: this.loop.slowApplies,
      failedReadIndexes: this.reads.failed,
      lateHeartbeats: this.heartbeats.late,
    };
  }

  get raftIndex(): number {
    return this.loop.appliedIndex;
  }

  get raftTerm(): number {
    return this.loop.term;
  }

  get leader(): string {
    return this.loop.soft.lead;
  }

  get state(): SoftState["state"] {
    return this.loop.soft.state;
  }

  /** When this member last saw the leader change (for `/v2/stats/self`). */
  get leaderSince(): Date {
    return this.loop.leaderSince;
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
    this.loop.schedule();
    return true;
  }

  /** Proposes a v2 request through Raft and resolves when it has been applied locally. */
  proposeV2(req: V2Request): Promise<ApplyResult> {
    const id = this.waiters.nextId();
    const done = this.waiters.wait(id, this.requestTimeoutMs, () => timeoutError());
    this.proposals.add(encodePayload({ kind: "v2", id, req }));
    return done;
  }

  /** Proposes a write of the auth data (`req.path` relative to `/2`); resolves once applied. */
  proposeAuth(req: V2Request): Promise<ApplyResult> {
    const id = this.waiters.nextId();
    const done = this.waiters.wait(id, this.requestTimeoutMs, () => timeoutError());
    this.proposals.add(encodePayload({ kind: "auth", id, req }));
    return done;
  }

  /** Reads the auth data locally (`path` relative to `/2`). Throws EtcdError. */
  authGet(path: string): Event {
    return this.store.get(authStorePath(path), false, false);
  }

  /** Proposes an internal metadata write under `/0`; resolves once applied. */
  proposeInternal(path: string, value: string): Promise<ApplyResult> {
    const id = this.waiters.nextId();
    const done = this.waiters.wait(id, this.requestTimeoutMs, () => timeoutError());
    const payload: EntryPayload = { kind: "internal", id, path, value };
    this.proposals.add(encodePayload(payload));
    return done;
  }

  /** Reads a key locally (default v2 GET: served from this member's store, no Raft). */
  localGet(req: V2Request): Event {
    return applyV2Request(this.store, req) as Event;
  }

  private tick(): void {
    if (this.loop.stopping) return;
    this.raft.tick();
    this.reads.retryLost();
    this.loop.schedule();
  }

  private maybeSync(): void {
    if (this.loop.stopping || this.state !== "leader" || !this.store.hasTTLKeys()) return;
    const req = syncRequest(this.time.now());
    this.proposals.add(encodePayload({ kind: "v2", id: "", req }));
  }
}

export interface ServerFigures {
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly pendingProposals: number;
  readonly failedProposals: number;
  readonly leaderChanges: number;
  readonly slowApplies: number;
  readonly failedReadIndexes: number;
  readonly lateHeartbeats: number;
}

/** etcd's writeKeyError gives errors that are not the store's (300) index 0. */
function timeoutError(): EtcdError {
  return new EtcdError(300, "etcdserver: request timed out", 0);
}
