/**
 * Opens a member's persistent state: a brand-new data dir (WAL created, the initial members
 * written as committed conf-change entries, as etcd's StartNode does) or an existing one (newest
 * usable snapshot + WAL replay). Refuses clearly when the data dir cannot be used.
 */
import { decodeConfChange, encodeConfChange } from "../raft/conf-change-codec.ts";
import { RawNode } from "../raft/raw-node.ts";
import { MemoryStorage } from "../raft/storage.ts";
import type { ConfState, Entry, HardState, Snapshot } from "../raft/types.ts";
import { Store } from "../store/store.ts";
import { type FetchMembers, fetchRemoteCluster } from "./join.ts";
import type { MemberInfo } from "./membership.ts";
import type { MemberSettings } from "./settings.ts";
import {
  type LogStorage,
  type MemberDisk,
  type OpenedLog,
  SnapshotMarkerMissing,
  type SnapshotStore,
} from "./storage.ts";

export interface Opened {
  readonly raft: RawNode;
  readonly storage: MemoryStorage;
  readonly wal: LogStorage;
  readonly snapshotter: SnapshotStore;
  readonly store: Store;
  readonly appliedIndex: number;
  readonly hardState: HardState;
  readonly confState: ConfState;
  readonly memberId: string;
  readonly clusterId: string;
  readonly restarted: boolean;
  /** Members learned from the cluster when joining it (empty otherwise). */
  readonly bootPeers: readonly MemberInfo[];
}

export { BootstrapError } from "./bootstrap-error.ts";

/** Raft message size limit per append (etcd: 1 MiB). */
const MAX_SIZE_PER_MSG = 1024 * 1024;
/** Appends in flight per follower before the leader waits for acks (etcd: 256). */
const MAX_INFLIGHT_MSGS = 256;

export async function openMember(
  settings: MemberSettings,
  disk: MemberDisk,
  fetchMembers: FetchMembers,
): Promise<Opened> {
  if (disk.logExists()) return restart(settings, disk);
  if (settings.initialClusterState === "existing") return joinCluster(settings, disk, fetchMembers);
  return bootstrapNew(settings, disk);
}

function newRaft(
  settings: MemberSettings,
  memberId: string,
  storage: MemoryStorage,
  applied: number,
) {
  const heartbeatTick = 1;
  const electionTick = Math.max(2, Math.round(settings.electionMs / settings.heartbeatMs));
  return new RawNode({
    id: memberId,
    electionTick,
    heartbeatTick,
    storage,
    applied,
    maxSizePerMsg: MAX_SIZE_PER_MSG,
    maxInflightMsgs: MAX_INFLIGHT_MSGS,
    preVote: settings.preVote,
    checkQuorum: true,
    seed: Number.parseInt(memberId.slice(-8), 16) ^ settings.raftSeed,
  });
}

async function bootstrapNew(settings: MemberSettings, disk: MemberDisk): Promise<Opened> {
  const wal = await disk.createLog({ memberId: settings.memberId, clusterId: settings.clusterId });
  const encoder = new TextEncoder();
  const entries: Entry[] = settings.initialMembers.map((m, i) => ({
    term: 1,
    index: i + 1,
    type: "confChange",
    data: encodeConfChange({
      type: "addNode",
      nodeId: m.id,
      context: encoder.encode(JSON.stringify({ id: m.id, peerURLs: m.peerUrls })),
    }),
  }));
  const hardState: HardState = { term: 1, vote: "", commit: entries.length };
  await wal.save(hardState, entries, { sync: true });
  const storage = new MemoryStorage();
  storage.setHardState(hardState);
  storage.append(entries);
  const ids = { memberId: settings.memberId, clusterId: settings.clusterId };
  return freshMember(settings, disk, ids, { wal, storage, hardState, bootPeers: [] });
}

/** The parts of a member that starts with an empty store (a new cluster, or a join). */
function freshMember(
  settings: MemberSettings,
  disk: MemberDisk,
  ids: { memberId: string; clusterId: string },
  parts: { wal: LogStorage; storage: MemoryStorage; hardState: HardState; bootPeers: MemberInfo[] },
): Opened {
  return {
    ...parts,
    ...ids,
    raft: newRaft(settings, ids.memberId, parts.storage, 0),
    snapshotter: disk.openSnapshots(),
    store: new Store(),
    appliedIndex: 0,
    confState: { voters: [] },
    restarted: false,
  };
}

/** A new member of an existing cluster: ids from the cluster, log and state from its leader. */
async function joinCluster(
  settings: MemberSettings,
  disk: MemberDisk,
  fetchMembers: FetchMembers,
): Promise<Opened> {
  const remote = await fetchRemoteCluster(settings, fetchMembers);
  const ids = { memberId: remote.self.id, clusterId: remote.clusterId };
  const wal = await disk.createLog(ids);
  const hardState: HardState = { term: 0, vote: "", commit: 0 };
  return freshMember(settings, disk, ids, {
    wal,
    storage: new MemoryStorage(),
    hardState,
    bootPeers: remote.members,
  });
}

/**
 * `--force-new-cluster`: keep only committed entries, then append (and commit) conf changes
 * that remove every other member and add this one if it is not a member (a restored backup
 * has a new id), so the member restarts as a one-member cluster with all committed data.
 */
async function forceNewCluster(
  settings: MemberSettings,
  memberId: string,
  snapshot: Snapshot | undefined,
  opened: OpenedLog,
): Promise<{ hardState: HardState; entries: Entry[] }> {
  const committed = opened.entries.filter((e) => e.index <= opened.hardState.commit);
  const voters = new Set(snapshot?.meta.confState.voters ?? []);
  for (const e of committed) {
    if (e.type !== "confChange") continue;
    const cc = decodeConfChange(e.data);
    if (cc.type === "addNode") voters.add(cc.nodeId);
    if (cc.type === "removeNode") voters.delete(cc.nodeId);
  }
  const last = committed.at(-1);
  let index = last?.index ?? snapshot?.meta.index ?? 0;
  const term = Math.max(opened.hardState.term, last?.term ?? 0, snapshot?.meta.term ?? 0);
  const encoder = new TextEncoder();
  const changes: Entry[] = [];
  const change = (type: "addNode" | "removeNode", nodeId: string, context: Uint8Array) => {
    index += 1;
    changes.push({
      term,
      index,
      type: "confChange",
      data: encodeConfChange({ type, nodeId, context }),
    });
  };
  for (const id of voters) if (id !== memberId) change("removeNode", id, new Uint8Array());
  if (!voters.has(memberId)) {
    const context = { id: memberId, peerURLs: [...settings.advertisePeerUrls] };
    change("addNode", memberId, encoder.encode(JSON.stringify(context)));
  }
  const hardState: HardState = { term, vote: "", commit: index };
  await opened.log.save(hardState, changes, { sync: true });
  return { hardState, entries: [...committed, ...changes] };
}

/**
 * The newest snapshot whose marker the WAL holds, and the WAL opened at it. A crash between
 * saving a snapshot and writing its marker leaves a snapshot the WAL does not know: it is
 * skipped (the WAL still has every entry after the older marker), as etcd 3.4 does.
 */
async function openAtUsableSnapshot(disk: MemberDisk, snapshots: SnapshotStore) {
  for (const { index, term } of snapshots.list()) {
    const snapshot = snapshots.loadAt(index, term);
    if (snapshot === undefined) continue; // an unusable copy: logged by the store
    try {
      return { snapshot, opened: await disk.openLog({ index, term }) };
    } catch (error) {
      if (!(error instanceof SnapshotMarkerMissing)) throw error;
    }
  }
  return { snapshot: undefined, opened: await disk.openLog(undefined) };
}

async function restart(settings: MemberSettings, disk: MemberDisk): Promise<Opened> {
  const snapshotter = disk.openSnapshots();
  const { snapshot, opened } = await openAtUsableSnapshot(disk, snapshotter);
  const { log: wal, ids } = opened;
  let { hardState, entries } = opened;
  if (settings.forceNewCluster) {
    ({ hardState, entries } = await forceNewCluster(settings, ids.memberId, snapshot, opened));
  }
  hardState = coveredBySnapshot(hardState, snapshot);
  const storage = new MemoryStorage();
  if (snapshot !== undefined) storage.applySnapshot(snapshot);
  storage.setHardState(hardState);
  storage.append(entries);
  const store =
    snapshot === undefined ? new Store() : Store.recover(new TextDecoder().decode(snapshot.data));
  const applied = snapshot?.meta.index ?? 0;
  return {
    raft: newRaft(settings, ids.memberId, storage, applied),
    storage,
    wal,
    snapshotter,
    store,
    appliedIndex: applied,
    hardState,
    confState: snapshot?.meta.confState ?? { voters: [] },
    memberId: ids.memberId,
    clusterId: ids.clusterId,
    restarted: true,
    bootPeers: [],
  };
}

/**
 * A snapshot received from the leader is saved, with its WAL marker, before the hard state of
 * the same Ready: a crash in between leaves a hard state whose commit (and maybe term) predates
 * the snapshot. The snapshot proves its entries committed, so the commit is raised to it; a
 * newer term starts without a vote.
 */
function coveredBySnapshot(hardState: HardState, snapshot: Snapshot | undefined): HardState {
  if (snapshot === undefined || hardState.commit >= snapshot.meta.index) return hardState;
  const term = Math.max(hardState.term, snapshot.meta.term);
  return {
    term,
    vote: term === hardState.term ? hardState.vote : "",
    commit: snapshot.meta.index,
  };
}
