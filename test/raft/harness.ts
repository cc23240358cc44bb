/**
 * A small in-process cluster for raft unit tests: RawNodes over MemoryStorage, a FIFO
 * message queue, and helpers to persist/apply Readies and to partition nodes. Deterministic.
 */

import { decodeConfChange } from "../../src/raft/conf-change-codec.ts";
import { type RaftConfig, RawNode } from "../../src/raft/raw-node.ts";
import { MemoryStorage } from "../../src/raft/storage.ts";
import type {
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ReadState,
  Ready,
} from "../../src/raft/types.ts";

export interface TestNode {
  id: NodeId;
  rn: RawNode;
  storage: MemoryStorage;
  /** Normal entries applied, in order (data as text). */
  applied: Entry[];
  readStates: ReadState[];
  confState: ConfState;
}

export interface ClusterOptions {
  preVote?: boolean;
  checkQuorum?: boolean;
  electionTick?: number;
  heartbeatTick?: number;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export function config(id: NodeId, storage: MemoryStorage, o: ClusterOptions = {}): RaftConfig {
  return {
    id,
    electionTick: o.electionTick ?? 10,
    heartbeatTick: o.heartbeatTick ?? 1,
    storage,
    applied: 0,
    maxSizePerMsg: o.maxSizePerMsg ?? 1024 * 1024,
    maxInflightMsgs: o.maxInflightMsgs ?? 256,
    preVote: o.preVote ?? false,
    checkQuorum: o.checkQuorum ?? false,
    seed: Number.parseInt(id, 16) || 1,
  };
}

export class Cluster {
  readonly nodes = new Map<NodeId, TestNode>();
  queue: Message[] = [];
  /** Nodes cut off from everyone (messages to or from them are dropped). */
  readonly isolated = new Set<NodeId>();
  /** Extra drop filter. */
  drop: (m: Message) => boolean = () => false;
  readonly options: ClusterOptions;

  constructor(ids: NodeId[], options: ClusterOptions = {}) {
    this.options = options;
    for (const id of ids) {
      const storage = new MemoryStorage();
      const rn = new RawNode(config(id, storage, options), ids);
      this.nodes.set(id, {
        id,
        rn,
        storage,
        applied: [],
        readStates: [],
        confState: { voters: [] },
      });
    }
    this.stabilize();
  }

  /**
   * A cluster whose members restart from prepared logs: entries 1..n are the bootstrap conf
   * changes (term 1, committed), followed by entries with the given terms.
   */
  static fromLogs(logs: Record<NodeId, number[]>, options: ClusterOptions = {}): Cluster {
    const ids = Object.keys(logs).sort();
    const c = new Cluster([], options);
    const boot = new MemoryStorage();
    const bootNode = new RawNode(config("boot", boot), ids);
    const bootEntries = bootNode.ready().entries;
    for (const id of ids) {
      const storage = new MemoryStorage();
      const terms = logs[id] ?? [];
      const tail: Entry[] = terms.map((term, i) => ({
        term,
        index: bootEntries.length + 1 + i,
        type: "normal",
        data: enc(`${id}@${term}`),
      }));
      storage.append([...bootEntries, ...tail]);
      const hs: HardState = { term: Math.max(1, ...terms), vote: "", commit: bootEntries.length };
      storage.setHardState(hs);
      const rn = new RawNode(config(id, storage, options));
      c.nodes.set(id, { id, rn, storage, applied: [], readStates: [], confState: { voters: [] } });
    }
    c.stabilize();
    return c;
  }

  /** Snapshots the node's state machine at its applied index and compacts its log there. */
  compact(id: NodeId): void {
    const n = this.node(id);
    const applied = n.rn.status().applied;
    const data = enc(JSON.stringify(this.appliedData(id)));
    n.storage.createSnapshot(applied, n.confState, data);
    n.storage.compact(applied);
  }

  logTerms(id: NodeId): number[] {
    const s = this.node(id).storage;
    return s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER).map((e) => e.term);
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Persist, collect messages, apply, advance: one Ready for one node. */
  handleReady(n: TestNode): boolean {
    if (!n.rn.hasReady()) return false;
    const rd: Ready = n.rn.ready();
    if (rd.snapshot !== undefined) {
      n.storage.applySnapshot(rd.snapshot);
      const texts = JSON.parse(dec(rd.snapshot.data)) as string[];
      n.applied = texts.map((t) => ({ term: 0, index: 0, type: "normal", data: enc(t) }));
      n.confState = rd.snapshot.meta.confState;
    }
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    this.queue.push(...rd.messages);
    for (const e of rd.committedEntries) {
      if (e.type === "confChange") n.confState = n.rn.applyConfChange(decodeConfChange(e.data));
      else if (e.data.byteLength > 0) n.applied.push(e);
    }
    n.readStates.push(...rd.readStates);
    n.rn.advance(rd);
    return true;
  }

  deliverAll(): number {
    const msgs = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const m of msgs) {
      if (this.isolated.has(m.from) || this.isolated.has(m.to) || this.drop(m)) continue;
      this.nodes.get(m.to)?.rn.step(m);
      delivered++;
    }
    return delivered;
  }

  /** Runs Readies and delivers messages until nothing is left to do. */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let busy = false;
      for (const n of this.nodes.values()) while (this.handleReady(n)) busy = true;
      if (this.queue.length > 0) {
        this.deliverAll();
        busy = true;
      }
      if (!busy) return;
    }
    throw new Error("cluster did not stabilize");
  }

  campaign(id: NodeId): void {
    this.node(id).rn.campaign();
    this.stabilize();
  }

  tickAll(ticks: number): void {
    for (let i = 0; i < ticks; i++) {
      for (const n of this.nodes.values()) n.rn.tick();
      this.stabilize();
    }
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()]
      .filter((n) => n.rn.status().state === "leader")
      .map((n) => n.id);
  }

  propose(id: NodeId, s: string): void {
    this.node(id).rn.propose(enc(s));
    this.stabilize();
  }

  appliedData(id: NodeId): string[] {
    return this.node(id).applied.map((e) => dec(e.data));
  }
}
