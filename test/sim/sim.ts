/**
 * A deterministic cluster simulator: N RawNodes in one process over a seeded network that
 * drops, delays, duplicates and reorders messages; partitions that heal; crashes that keep
 * only each node's "disk" (a MemoryStorage holding what its Readies persisted); log
 * compaction; proposals, leader transfers and membership changes. After every tick the
 * Checker verifies Raft's safety properties; at the end the faults stop and the cluster must
 * elect a leader and commit a final entry everywhere (liveness).
 *
 * Everything derives from one seed, so a failing run replays exactly.
 */

import { decodeConfChange } from "../../src/raft/conf-change-codec.ts";
import { RawNode } from "../../src/raft/raw-node.ts";
import { MemoryStorage } from "../../src/raft/storage.ts";
import {
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  ProposalDroppedError,
  type Ready,
  type Snapshot,
} from "../../src/raft/types.ts";
import { Prng } from "../../src/util/prng.ts";
import { fmtMessage } from "../raft/format.ts";
import { Checker, chainDigest, SimViolation } from "./checker.ts";

export interface SimConfig {
  seed: number;
  /** Ticks of simulated time with faults on; liveness is checked afterwards. */
  ticks: number;
  nodeCount: number;
  /** Extra ids that may join through membership changes (0 disables membership changes). */
  spareCount: number;
  dropRate: number;
  dupRate: number;
  delayTicksMax: number;
  /** Per-tick probabilities of each kind of event. */
  crashRate: number;
  restartRate: number;
  partitionRate: number;
  healRate: number;
  proposeRate: number;
  compactRate: number;
  transferRate: number;
  confChangeRate: number;
  readIndexRate: number;
  /** Chance that a Ready is held "in fsync" for a few ticks while the node keeps stepping. */
  asyncPersistRate: number;
  /** On a crash, lose hard-state writes made since the last fsync (mustSync false). */
  loseUnsynced: boolean;
  /** Each node's clock runs at a rate in (1 - tickSkew, 1]: some nodes tick slower. */
  tickSkew: number;
  preVote: boolean;
  checkQuorum: boolean;
  electionTick: number;
  heartbeatTick: number;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
}

/** Derives a varied fault profile from the seed alone. */
export function configFromSeed(seed: number, ticks = 1500): SimConfig {
  const p = new Prng(seed ^ 0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[p.nextInt(xs.length)] as T;
  return {
    seed,
    ticks,
    nodeCount: pick([3, 3, 5, 5, 1]),
    spareCount: pick([0, 1, 2]),
    dropRate: pick([0, 0.01, 0.05, 0.15, 0.3]),
    dupRate: pick([0, 0.02, 0.1]),
    delayTicksMax: pick([0, 1, 3, 8]),
    crashRate: pick([0, 0.002, 0.01, 0.03]),
    restartRate: pick([0.02, 0.1, 0.3]),
    partitionRate: pick([0, 0.003, 0.01, 0.03]),
    healRate: pick([0.01, 0.05, 0.2]),
    proposeRate: pick([0.1, 0.5, 1]),
    compactRate: pick([0, 0.01, 0.05]),
    transferRate: pick([0, 0.002, 0.01]),
    confChangeRate: pick([0, 0.005, 0.02]),
    readIndexRate: pick([0, 0.05, 0.3]),
    asyncPersistRate: pick([0, 0, 0.2, 0.7]),
    loseUnsynced: p.chance(0.5),
    tickSkew: pick([0, 0, 0.2, 0.5]),
    preVote: p.chance(0.5),
    checkQuorum: p.chance(0.5),
    electionTick: pick([10, 10, 5]),
    heartbeatTick: 1,
    maxSizePerMsg: pick([1, 64, 1024 * 1024]),
    maxInflightMsgs: pick([1, 4, 256]),
  };
}

export interface SimResult {
  ok: boolean;
  seed: number;
  ticks: number;
  error?: string;
  stats: {
    messagesDelivered: number;
    messagesDropped: number;
    proposals: number;
    crashes: number;
    elections: number;
    entriesApplied: number;
    snapshotsInstalled: number;
    confChanges: number;
    readsServed: number;
    maxCommit: number;
  };
}

interface InFlight {
  at: number;
  seq: number;
  msg: Message;
}

interface SimNode {
  id: NodeId;
  disk: MemoryStorage;
  /** Undefined while crashed. */
  rn: RawNode | undefined;
  /** The state machine: index and chained digest of everything applied. */
  smIndex: number;
  smDigest: number;
  confState: ConfState;
  /** Removed from the cluster: stopped for good, as etcd stops a removed member. */
  removed: boolean;
  /** A Ready taken but still being persisted (models an async fsync); lost on crash. */
  held: { rd: Ready; releaseAt: number } | undefined;
  /** The commit index as of the last fsync; a crash may lose later commit-only writes. */
  syncedCommit: number;
  tickRate: number;
}

function nodeId(i: number): NodeId {
  // Real member ids are 64-bit hex; mimic their shape.
  return `2e1259d415f2${(0xa000 + i * 0x1111).toString(16)}`;
}

function encodeState(index: number, digest: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ index, digest }));
}

function decodeState(data: Uint8Array): { index: number; digest: number } {
  if (data.byteLength === 0) return { index: 0, digest: 0 };
  return JSON.parse(new TextDecoder().decode(data)) as { index: number; digest: number };
}

export class Simulation {
  readonly cfg: SimConfig;
  private readonly prng: Prng;
  private readonly checker = new Checker();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly allIds: NodeId[];
  private readonly initialVoters: NodeId[];
  private inflight: InFlight[] = [];
  private seq = 0;
  private now = 0;
  /** Partition group per node; nodes talk only within a group. */
  private group = new Map<NodeId, number>();
  private proposalSeq = 0;
  /** Removed members to stop once the current Ready is done (not mid-Ready). */
  private removedPending: SimNode[] = [];
  private marker: string | undefined;
  private markerAppliedBy = new Set<NodeId>();
  private faults = true;
  private readonly stats: SimResult["stats"] = {
    messagesDelivered: 0,
    messagesDropped: 0,
    proposals: 0,
    crashes: 0,
    elections: 0,
    entriesApplied: 0,
    snapshotsInstalled: 0,
    confChanges: 0,
    readsServed: 0,
    maxCommit: 0,
  };
  /** Optional trace sink for replaying a seed verbosely. */
  trace: ((line: string) => void) | undefined;
  /** Also trace every delivered message (verbose). */
  traceMessages = false;

  constructor(cfg: SimConfig) {
    this.cfg = cfg;
    this.prng = new Prng(cfg.seed);
    this.allIds = Array.from({ length: cfg.nodeCount + cfg.spareCount }, (_, i) => nodeId(i + 1));
    this.initialVoters = this.allIds.slice(0, cfg.nodeCount);
    for (const id of this.initialVoters) this.startNode(id, this.initialVoters);
  }

  private log(line: string): void {
    this.trace?.(`[t=${this.now}] ${line}`);
  }

  private rawConfig(id: NodeId, disk: MemoryStorage, applied: number) {
    return {
      id,
      electionTick: this.cfg.electionTick,
      heartbeatTick: this.cfg.heartbeatTick,
      storage: disk,
      applied,
      maxSizePerMsg: this.cfg.maxSizePerMsg,
      maxInflightMsgs: this.cfg.maxInflightMsgs,
      preVote: this.cfg.preVote,
      checkQuorum: this.cfg.checkQuorum,
      seed: (this.cfg.seed * 31 + this.prng.nextInt(1 << 30)) % Number.MAX_SAFE_INTEGER,
    };
  }

  /** Starts a brand-new member: bootstrapping with `peers`, or empty (joining) without. */
  private startNode(id: NodeId, peers: NodeId[] | undefined): void {
    const disk = new MemoryStorage();
    const rn = new RawNode(this.rawConfig(id, disk, 0), peers);
    const node: SimNode = {
      id,
      disk,
      rn,
      smIndex: 0,
      smDigest: 0,
      confState: { voters: [] },
      removed: false,
      held: undefined,
      syncedCommit: 0,
      tickRate: 1 - this.prng.nextFloat() * this.cfg.tickSkew,
    };
    this.nodes.set(id, node);
    this.group.set(id, 0);
    this.handleReadies(node);
  }

  private crash(node: SimNode): void {
    this.log(`crash ${node.id}`);
    node.rn = undefined;
    node.held = undefined;
    this.stats.crashes++;
    const hs = node.disk.hardStateCopy();
    if (this.cfg.loseUnsynced && hs.commit > node.syncedCommit) {
      // The commit-only hard state written without fsync did not survive (a sequential WAL
      // keeps everything up to its last fsync).
      this.log(`${node.id} loses unsynced commit ${hs.commit} -> ${node.syncedCommit}`);
      node.disk.setHardState({ ...hs, commit: node.syncedCommit });
    }
  }

  /** Restart from disk only: the state machine comes back from the disk's snapshot. */
  private restart(node: SimNode): void {
    this.log(`restart ${node.id}`);
    this.checker.onRestart(node.id, node.smIndex, node.disk);
    const snap = node.disk.snapshot();
    const state = decodeState(snap.data);
    node.smIndex = snap.meta.index;
    node.smDigest = state.digest;
    node.confState = { voters: [...snap.meta.confState.voters] };
    // Like etcd, a member with no WAL yet (it crashed before its first fsync) bootstraps again.
    const fresh = node.disk.lastIndex() === 0 && node.disk.initialState().hardState.term === 0;
    const peers = fresh && this.initialVoters.includes(node.id) ? this.initialVoters : undefined;
    node.rn = new RawNode(this.rawConfig(node.id, node.disk, snap.meta.index), peers);
    this.handleReadies(node);
  }

  // ---- the Ready loop: persist → send → apply → advance ----

  private handleReadies(node: SimNode): void {
    for (let i = 0; node.held === undefined && node.rn?.hasReady() === true; i++) {
      if (i > 10_000) throw new SimViolation(`${node.id} never runs out of Readies`);
      const rd = node.rn.ready();
      if (this.faults && this.prng.chance(this.cfg.asyncPersistRate)) {
        // The server awaits fsync; meanwhile raft keeps stepping messages, ticks, proposals.
        // A leader may send its appends and heartbeats before its own fsync completes (Raft
        // thesis §10.2.1); everything else waits for the fsync.
        // Only when term and vote are already durable: a vote must never be sent unpersisted.
        const disk = node.disk.hardStateCopy();
        const hs = rd.hardState;
        const durable = hs === undefined || (hs.term === disk.term && hs.vote === disk.vote);
        const early = durable && node.rn.status().state === "leader";
        const sendNow = (m: Message) => early && (m.type === "MsgApp" || m.type === "MsgHeartbeat");
        for (const m of rd.messages) if (sendNow(m)) this.send(m);
        const held: Ready = { ...rd, messages: rd.messages.filter((m) => !sendNow(m)) };
        node.held = { rd: held, releaseAt: this.now + 1 + this.prng.nextInt(3) };
        return;
      }
      this.handleReady(node, node.rn, rd);
    }
  }

  private releaseHeld(): void {
    for (const n of this.nodes.values()) {
      if (n.held === undefined || n.rn === undefined) continue;
      if (this.faults && n.held.releaseAt > this.now) continue;
      const { rd } = n.held;
      n.held = undefined;
      this.handleReady(n, n.rn, rd);
      this.handleReadies(n);
    }
  }

  private handleReady(node: SimNode, rn: RawNode, rd: Ready): void {
    if (rd.snapshot !== undefined) this.installSnapshot(node, rd.snapshot);
    node.disk.append(rd.entries);
    // An fsync persists every earlier write too, including commit-only hard states.
    if (rd.mustSync) node.syncedCommit = node.disk.hardStateCopy().commit;
    this.checker.onPersisted(node.id, node.disk, rd.entries);
    if (rd.hardState !== undefined) {
      node.disk.setHardState(rd.hardState);
      if (rd.mustSync) node.syncedCommit = rd.hardState.commit;
      const s = rn.status();
      if (s.state === "leader" && s.term === rd.hardState.term) {
        this.checker.onLeaderCommit(node.id, s.term, rd.hardState.commit, node.disk);
      }
      this.stats.maxCommit = Math.max(this.stats.maxCommit, rd.hardState.commit);
    }
    for (const m of rd.messages) this.send(m);
    for (const e of rd.committedEntries) this.apply(node, rn, e);
    for (const rs of rd.readStates) this.checker.onReadState(node.id, rs);
    rn.advance(rd);
  }

  private installSnapshot(node: SimNode, snap: Snapshot): void {
    node.disk.applySnapshot(snap);
    const state = decodeState(snap.data);
    this.checker.onSnapshot(node.id, snap.meta.index, state.digest);
    node.smIndex = snap.meta.index;
    node.smDigest = state.digest;
    node.confState = { voters: [...snap.meta.confState.voters] };
    this.stats.snapshotsInstalled++;
    this.log(`${node.id} installed snapshot at ${snap.meta.index}`);
  }

  private apply(node: SimNode, rn: RawNode, e: Entry): void {
    if (e.index <= node.smIndex) return;
    if (e.index !== node.smIndex + 1) {
      throw new SimViolation(`${node.id} applies ${e.index} after ${node.smIndex}`);
    }
    node.smIndex = e.index;
    node.smDigest = chainDigest(node.smDigest, e);
    this.checker.onApply(node.id, e, node.smDigest);
    if (this.marker !== undefined && new TextDecoder().decode(e.data) === this.marker) {
      this.markerAppliedBy.add(node.id);
    }
    if (e.type === "confChange") {
      const cc = decodeConfChange(e.data);
      node.confState = rn.applyConfChange(cc);
      this.log(`${node.id} applied ${cc.type} ${cc.nodeId} at ${e.index}`);
      if (cc.type === "removeNode") this.stopRemoved(cc.nodeId);
    }
  }

  /** A committed removal stops the member for good (its id is never reused). */
  private stopRemoved(id: NodeId): void {
    const n = this.nodes.get(id);
    if (n === undefined || n.removed) return;
    n.removed = true;
    this.removedPending.push(n);
  }

  // ---- the network ----

  private send(m: Message): void {
    if (this.faults && this.prng.chance(this.cfg.dropRate)) {
      this.drop(m);
      return;
    }
    const copies = this.faults && this.prng.chance(this.cfg.dupRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = this.faults ? this.prng.nextInt(this.cfg.delayTicksMax + 1) : 0;
      // A structured clone models serialization: nothing is shared between nodes.
      this.inflight.push({ at: this.now + delay, seq: this.seq++, msg: structuredClone(m) });
    }
  }

  private drop(m: Message): void {
    this.stats.messagesDropped++;
    // The transport reports failed snapshot sends (etcd's ReportSnapshot).
    if (m.type === "MsgSnap") this.nodes.get(m.from)?.rn?.reportSnapshot(m.to, false);
  }

  private deliverDue(): void {
    const due = this.inflight.filter((f) => f.at <= this.now).sort((a, b) => a.seq - b.seq);
    this.inflight = this.inflight.filter((f) => f.at > this.now);
    for (const { msg } of due) {
      const to = this.nodes.get(msg.to);
      const reachable = this.group.get(msg.from) === this.group.get(msg.to);
      if (to?.rn === undefined || !reachable) {
        this.drop(msg);
        continue;
      }
      if (this.traceMessages) this.log(fmtMessage(msg));
      to.rn.step(msg);
      this.stats.messagesDelivered++;
      if (msg.type === "MsgSnap") this.nodes.get(msg.from)?.rn?.reportSnapshot(msg.to, true);
      this.handleReadies(to);
    }
  }

  // ---- random events ----

  private liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.rn !== undefined);
  }

  private pickNode(nodes: SimNode[]): SimNode | undefined {
    return nodes.length === 0 ? undefined : nodes[this.prng.nextInt(nodes.length)];
  }

  private randomEvents(): void {
    const c = this.cfg;
    const p = this.prng;
    if (p.chance(c.crashRate)) {
      const n = this.pickNode(this.liveNodes());
      if (n !== undefined) this.crash(n);
    }
    if (p.chance(c.restartRate)) {
      const n = this.pickNode(
        [...this.nodes.values()].filter((x) => x.rn === undefined && !x.removed),
      );
      if (n !== undefined) this.restart(n);
    }
    if (p.chance(c.partitionRate)) this.partition();
    if (p.chance(c.healRate)) this.heal();
    if (p.chance(c.proposeRate)) this.proposeRandom();
    if (p.chance(c.compactRate)) this.compactRandom();
    if (p.chance(c.transferRate)) this.transferRandom();
    if (p.chance(c.confChangeRate)) this.confChangeRandom();
    if (p.chance(c.readIndexRate)) this.readIndexRandom();
  }

  /** A linearizable read: its read index must cover every write committed before it began. */
  private readIndexRandom(): void {
    const n = this.pickNode(this.liveNodes());
    if (n?.rn === undefined) return;
    const ctx = `r${this.proposalSeq++}`;
    try {
      n.rn.readIndex(ctx);
      this.checker.onReadRequest(ctx);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
    this.handleReadies(n);
  }

  private partition(): void {
    for (const id of this.nodes.keys()) this.group.set(id, this.prng.nextInt(2));
    this.log(`partition ${[...this.group].map(([id, g]) => `${id.slice(-4)}:${g}`).join(" ")}`);
  }

  private heal(): void {
    for (const id of this.nodes.keys()) this.group.set(id, 0);
  }

  private propose(node: SimNode, text: string): boolean {
    try {
      node.rn?.propose(new TextEncoder().encode(text));
      this.stats.proposals++;
      return true;
    } catch (e) {
      if (e instanceof ProposalDroppedError) return false;
      throw e;
    }
  }

  private proposeRandom(): void {
    const n = this.pickNode(this.liveNodes());
    if (n === undefined) return;
    this.propose(n, `p${this.proposalSeq++}@${n.id.slice(-4)}`);
    this.handleReadies(n);
  }

  /** Snapshot at the applied index and compact, keeping a few entries for slow followers. */
  private compactRandom(): void {
    const n = this.pickNode(this.liveNodes());
    if (n === undefined || n.smIndex <= n.disk.snapshot().meta.index) return;
    if (n.smIndex > n.disk.lastIndex()) return;
    n.disk.createSnapshot(n.smIndex, n.confState, encodeState(n.smIndex, n.smDigest));
    // Saving a snapshot fsyncs (the WAL records it), which also persists the hard state.
    n.syncedCommit = n.disk.hardStateCopy().commit;
    const keep = this.prng.nextInt(5);
    const compactAt = n.smIndex - keep;
    if (compactAt >= n.disk.firstIndex()) n.disk.compact(compactAt);
    this.log(`${n.id} compacted at ${compactAt}, snapshot ${n.smIndex}`);
  }

  private transferRandom(): void {
    const leader = this.liveNodes().find((n) => n.rn?.status().state === "leader");
    const target = this.pickNode(this.liveNodes());
    if (leader?.rn === undefined || target === undefined) return;
    leader.rn.transferLeader(target.id);
    this.handleReadies(leader);
  }

  private confChangeRandom(): void {
    if (this.cfg.spareCount === 0) return;
    const leader = this.liveNodes().find((n) => n.rn?.status().state === "leader");
    if (leader?.rn === undefined) return;
    const voters = leader.confState.voters;
    const id = this.allIds[this.prng.nextInt(this.allIds.length)] as NodeId;
    if (this.nodes.get(id)?.removed === true) return;
    const adding = !voters.includes(id);
    // Keep at least three voters so the cluster can still make progress.
    if (!adding && voters.length <= 3) return;
    // Half the time a random member proposes, so forwarding to the leader is exercised too.
    const proposer = this.prng.chance(0.5) ? leader : (this.pickNode(this.liveNodes()) ?? leader);
    try {
      const type = adding ? "addNode" : "removeNode";
      proposer.rn?.proposeConfChange({ type, nodeId: id, context: new Uint8Array(0) });
      this.stats.confChanges++;
      this.log(`propose ${type} ${id}`);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
    // A member being added starts empty and learns everything from the leader.
    if (adding && !this.nodes.has(id)) this.startNode(id, undefined);
    this.handleReadies(proposer);
  }

  // ---- the main loop ----

  private tickOnce(): void {
    this.now++;
    this.releaseHeld();
    for (const n of this.liveNodes()) {
      if (this.faults && n.tickRate < 1 && !this.prng.chance(n.tickRate)) continue;
      n.rn?.tick();
      this.handleReadies(n);
    }
    this.deliverDue();
    // Once faults stop, the network is instant: run message exchanges to quiescence.
    for (let i = 0; !this.faults && i < 10_000 && this.inflight.length > 0; i++) {
      this.deliverDue();
      this.releaseHeld();
    }
    if (this.faults) this.randomEvents();
    this.checkLeaders();
    for (const n of this.removedPending) {
      if (n.rn !== undefined) this.log(`stop removed ${n.id}`);
      n.rn = undefined;
    }
    this.removedPending = [];
  }

  private checkLeaders(): void {
    for (const n of this.liveNodes()) {
      const s = n.rn?.status();
      if (s?.state === "leader") this.checker.observeLeader(n.id, s.term, n.disk);
    }
  }

  /** Faults off, everyone up and connected: a leader must emerge and commit everywhere. */
  private checkLiveness(): void {
    this.faults = false;
    this.heal();
    for (const n of this.nodes.values()) if (n.rn === undefined && !n.removed) this.restart(n);
    this.marker = `final-${this.cfg.seed}`;
    const limit = this.cfg.electionTick * 60;
    for (let i = 0; i < limit; i++) {
      this.tickOnce();
      const leader = this.liveNodes().find((n) => n.rn?.status().state === "leader");
      // (Re)propose the marker now and then: a leadership change may lose a proposal.
      if (leader !== undefined && i % (this.cfg.electionTick * 5) === 0) {
        this.propose(leader, this.marker);
        this.handleReadies(leader);
      }
      if (leader !== undefined && this.allMembersApplied(leader)) return;
    }
    const states = this.liveNodes().map((n) => {
      const s = n.rn?.status();
      return `${n.id.slice(-4)}:${s?.state}/t${s?.term}/c${s?.commit}/a${n.smIndex}`;
    });
    throw new SimViolation(
      `liveness: no commit on every member after faults stopped (${states.join(" ")})`,
    );
  }

  private allMembersApplied(leader: SimNode): boolean {
    return leader.confState.voters.every((id) => this.markerAppliedBy.has(id));
  }

  run(): SimResult {
    try {
      for (let t = 0; t < this.cfg.ticks; t++) this.tickOnce();
      this.checkLiveness();
      return this.result(undefined);
    } catch (e) {
      const message = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e);
      return this.result(message);
    }
  }

  private result(error: string | undefined): SimResult {
    this.stats.elections = this.checker.leaderElections;
    this.stats.entriesApplied = this.checker.entriesApplied;
    this.stats.readsServed = this.checker.readsServed;
    const r: SimResult = {
      ok: error === undefined,
      seed: this.cfg.seed,
      ticks: this.now,
      stats: this.stats,
    };
    if (error !== undefined) r.error = error;
    return r;
  }
}

export function runSim(
  seed: number,
  ticks?: number,
  trace?: (line: string) => void,
  traceMessages = false,
): SimResult {
  const sim = new Simulation(configFromSeed(seed, ticks));
  sim.trace = trace;
  sim.traceMessages = traceMessages;
  return sim.run();
}
