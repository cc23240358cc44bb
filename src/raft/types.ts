/**
 * Raft data types: log entries, persistent state, snapshots, messages and the Ready batch.
 *
 * Plain data only: this module holds no behaviour and does no I/O. Every type is JSON-friendly
 * except the `Uint8Array` payloads, which a transport must encode itself.
 */

/** A member id: lowercase hex of a 64-bit id, e.g. "2e1259d415f2a040". `""` means none. */
export type NodeId = string;

/** The id that means "no node" (no leader, no vote). */
export const NONE: NodeId = "";

export type EntryType = "normal" | "confChange";

/** One log entry. `index` starts at 1; `term` is the leader's term when it was created. */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** State that must reach stable storage before messages of the same Ready are sent (Raft §5.1). */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
}

export interface SnapshotMeta {
  index: number;
  term: number;
  confState: ConfState;
}

/** A state-machine snapshot covering the log up to and including `meta.index` (Raft §7). */
export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

/** A single-server membership change (Raft thesis §4.1). */
export type ConfChange = {
  type: "addNode" | "removeNode" | "updateNode";
  nodeId: NodeId;
  context: Uint8Array;
};

interface MsgBase {
  from: NodeId;
  to: NodeId;
  /** Sender's term; 0 on forwarded proposals and read requests, which carry no term. */
  term: number;
}

/** AppendEntries (Raft §5.3): entries following (index, logTerm), plus the leader's commit. */
export interface MsgApp extends MsgBase {
  type: "MsgApp";
  index: number;
  logTerm: number;
  entries: Entry[];
  commit: number;
}

/**
 * AppendEntries reply. On success `index` is the follower's last matching index. On reject,
 * `index` echoes the rejected MsgApp's index and (rejectHint, logTerm) is the follower's
 * guess of the largest index where the logs may match, for fast backtracking.
 */
export interface MsgAppResp extends MsgBase {
  type: "MsgAppResp";
  index: number;
  reject: boolean;
  rejectHint: number;
  logTerm: number;
}

/** RequestVote (Raft §5.2); `index`/`logTerm` describe the candidate's last entry (§5.4.1). */
export interface MsgVote extends MsgBase {
  type: "MsgVote";
  index: number;
  logTerm: number;
  /** True when the election was started by a leader transfer, which overrides leases. */
  transfer: boolean;
}

export interface MsgVoteResp extends MsgBase {
  type: "MsgVoteResp";
  reject: boolean;
}

/** Pre-vote (Raft thesis §9.6): `term` is the term the sender would campaign in. */
export interface MsgPreVote extends MsgBase {
  type: "MsgPreVote";
  index: number;
  logTerm: number;
  transfer: boolean;
}

export interface MsgPreVoteResp extends MsgBase {
  type: "MsgPreVoteResp";
  reject: boolean;
}

/** Heartbeat; `context` is non-empty when it doubles as a ReadIndex quorum check (§6.4). */
export interface MsgHeartbeat extends MsgBase {
  type: "MsgHeartbeat";
  commit: number;
  context: string;
}

export interface MsgHeartbeatResp extends MsgBase {
  type: "MsgHeartbeatResp";
  context: string;
}

/** InstallSnapshot (Raft §7), sent whole. */
export interface MsgSnap extends MsgBase {
  type: "MsgSnap";
  snapshot: Snapshot;
}

/** Tells the transfer target to campaign at once (Raft thesis §3.10). */
export interface MsgTimeoutNow extends MsgBase {
  type: "MsgTimeoutNow";
}

/** A leader-transfer request forwarded to the leader; `from` is the transferee. */
export interface MsgTransferLeader extends MsgBase {
  type: "MsgTransferLeader";
}

/** A ReadIndex request forwarded from a follower to the leader (Raft thesis §6.4). */
export interface MsgReadIndex extends MsgBase {
  type: "MsgReadIndex";
  context: string;
}

export interface MsgReadIndexResp extends MsgBase {
  type: "MsgReadIndexResp";
  index: number;
  context: string;
}

/** Proposals forwarded from a follower to the leader; `term` and entry indexes are 0. */
export interface MsgProp extends MsgBase {
  type: "MsgProp";
  entries: Entry[];
}

export type Message =
  | MsgApp
  | MsgAppResp
  | MsgVote
  | MsgVoteResp
  | MsgPreVote
  | MsgPreVoteResp
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgSnap
  | MsgTimeoutNow
  | MsgTransferLeader
  | MsgReadIndex
  | MsgReadIndexResp
  | MsgProp;

export type MessageType = Message["type"];

/**
 * Every message kind. The peer codec uses the position as the wire code, so only ever append;
 * all of them may arrive from the network.
 */
export const MESSAGE_TYPES: readonly MessageType[] = [
  "MsgApp",
  "MsgAppResp",
  "MsgVote",
  "MsgVoteResp",
  "MsgPreVote",
  "MsgPreVoteResp",
  "MsgHeartbeat",
  "MsgHeartbeatResp",
  "MsgSnap",
  "MsgTimeoutNow",
  "MsgTransferLeader",
  "MsgReadIndex",
  "MsgReadIndexResp",
  "MsgProp",
];

/** A completed ReadIndex request: reads are linearizable once `applied >= index`. */
export interface ReadState {
  index: number;
  requestCtx: string;
}

export type StateType = "follower" | "preCandidate" | "candidate" | "leader";

/** Volatile state, reported in a Ready only when it changes. */
export interface SoftState {
  lead: NodeId;
  state: StateType;
}

/**
 * One batch of work for the server. Contract, in order:
 * 1. persist `snapshot` (if any), then `entries` and `hardState` (fsync when `mustSync`);
 * 2. only then send `messages` (votes and acks promise the state persisted in step 1). One
 *    exception, which server/ready-loop.ts takes: a leader may send its appends and
 *    heartbeats before its own fsync when this Ready changes neither term nor vote (thesis
 *    §10.2.1: the leader's own log counts toward the quorum only once persisted);
 * 3. apply `snapshot`, then `committedEntries` in order, and serve `readStates`. Committed
 *    entries are durable on a quorum already, so the server applies them while the fsync of
 *    step 1 runs, unless they hold a membership change or a snapshot is in the Ready;
 * 4. call `advance(rd)`. Only one Ready is outstanding at a time; step/propose/tick may be
 *    called meanwhile.
 */
export interface Ready {
  softState?: SoftState;
  /** Present only when changed since the previous Ready. */
  hardState?: HardState;
  /** Entries to append to stable storage; they may overwrite entries at the same indexes. */
  entries: Entry[];
  snapshot?: Snapshot;
  /** Entries to apply, contiguous and ascending; may overlap `entries` (persist first). */
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  /** True when `hardState.term`, `hardState.vote`, `entries` or `snapshot` must be fsynced. */
  mustSync: boolean;
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: "probe" | "replicate" | "snapshot";
}

export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  /** The index of the last entry in this node's log. */
  lastIndex: number;
  lead: NodeId;
  state: StateType;
  /** Present only on the leader. */
  progress?: Record<NodeId, ProgressStatus>;
}

/** Thrown by `propose` when the proposal cannot be accepted here now; the caller may retry. */
export class ProposalDroppedError extends Error {
  override name = "ProposalDroppedError";
  constructor(reason: string) {
    super(`raft proposal dropped: ${reason}`);
  }
}
