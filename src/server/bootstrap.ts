/**
 * Opens a member's persistent state: a brand-new data dir (WAL created, the initial members
 * written as committed conf-change entries, as etcd's StartNode does) or an existing one (newest
 * usable snapshot + WAL replay). Refuses clearly when the data dir cannot be used.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { tuning } from "../config/tuning.ts";
import { decodeConfChange, encodeConfChange } from "../raft/conf-change-codec.ts";
import { RawNode } from "../raft/raw-node.ts";
import { MemoryStorage } from "../raft/storage.ts";
import type { ConfState, Entry, HardState, Snapshot } from "../raft/types.ts";
import { Snapshotter } from "../snap/snapshotter.ts";
import { Store } from "../store/store.ts";
import { WalError } from "../wal/errors.ts";
import { Wal, type WalOptions } from "../wal/wal.ts";
import { BootstrapError } from "./bootstrap-error.ts";
import { fetchRemoteCluster } from "./join.ts";
import type { MemberInfo } from "./membership.ts";
import type { MemberSettings } from "./settings.ts";

export interface Opened {
  readonly raft: RawNode;
  readonly storage: MemoryStorage;
  readonly wal: Wal;
  readonly snapshotter: Snapshotter;
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

/**
 * The WAL writer: positioned writes (the WAL's default); ETCDBUN_WAL_WRITER=mmap selects the
 * mmap writer. Measured with `npm run bench -- --only ...` on this kind of machine (3 runs each,
 * same session): sequential PUT 2,268 vs 1,806 writes/s, 64 connections 19,088 vs 13,502 on one
 * member and 12,940 vs 8,575 to a 3-member leader (pwrite vs mmap). Both are equally durable
 * (one fdatasync per batch); a store into a mapping costs a write-protect fault per page after
 * every writeback, which a pwrite does not.
 */
function walOptions(): WalOptions {
  const { walWriter, walSegmentBytes } = tuning();
  return {
    ...(walWriter !== undefined && { writer: walWriter }),
    ...(walSegmentBytes !== undefined && { segmentSizeBytes: walSegmentBytes }),
  };
}

export function memberDirs(settings: MemberSettings) {
  const memberDir = join(settings.dataDir, "member");
  const walDir = settings.walDir === "" ? join(memberDir, "wal") : settings.walDir;
  return { memberDir, walDir, snapDir: join(memberDir, "snap") };
}

export async function openMember(settings: MemberSettings): Promise<Opened> {
  const { walDir } = memberDirs(settings);
  if (Wal.exists(walDir)) return restart(settings);
  if (settings.initialClusterState === "existing") return joinCluster(settings);
  return bootstrapNew(settings);
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

async function bootstrapNew(settings: MemberSettings): Promise<Opened> {
  const { walDir, snapDir } = memberDirs(settings);
  mkdirSync(snapDir, { recursive: true, mode: 0o700 });
  const wal = await Wal.create(
    walDir,
    {
      memberId: settings.memberId,
      clusterId: settings.clusterId,
    },
    walOptions(),
  );
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
  await wal.save(hardState, entries);
  const storage = new MemoryStorage();
  storage.setHardState(hardState);
  storage.append(entries);
  const ids = { memberId: settings.memberId, clusterId: settings.clusterId };
  return freshMember(settings, ids, { wal, storage, hardState, bootPeers: [] });
}

/** The parts of a member that starts with an empty store (a new cluster, or a join). */
function freshMember(
  settings: MemberSettings,
  ids: { memberId: string; clusterId: string },
  parts: { wal: Wal; storage: MemoryStorage; hardState: HardState; bootPeers: MemberInfo[] },
): Opened {
  return {
    ...parts,
    ...ids,
    raft: newRaft(settings, ids.memberId, parts.storage, 0),
    snapshotter: openSnapshotter(memberDirs(settings).snapDir),
    store: new Store(),
    appliedIndex: 0,
    confState: { voters: [] },
    restarted: false,
  };
}

/** A new member of an existing cluster: ids from the cluster, log and state from its leader. */
async function joinCluster(settings: MemberSettings): Promise<Opened> {
  const remote = await fetchRemoteCluster(settings);
  const { walDir, snapDir } = memberDirs(settings);
  mkdirSync(snapDir, { recursive: true, mode: 0o700 });
  const wal = await Wal.create(
    walDir,
    { memberId: remote.self.id, clusterId: remote.clusterId },
    walOptions(),
  );
  const hardState: HardState = { term: 0, vote: "", commit: 0 };
  const ids = { memberId: remote.self.id, clusterId: remote.clusterId };
  return freshMember(settings, ids, {
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
  opened: { wal: Wal; hardState: HardState; entries: Entry[] },
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
  await opened.wal.save(hardState, changes);
  return { hardState, entries: [...committed, ...changes] };
}

/**
 * The newest snapshot whose marker the WAL holds, and the WAL opened at it. A crash between
 * saving a snapshot and writing its marker leaves a snapshot the WAL does not know: it is
 * skipped (the WAL still has every entry after the older marker), as etcd 3.4 does.
 */
async function openAtUsableSnapshot(walDir: string, snapshotter: Snapshotter) {
  for (const { index, term } of snapshotter.list()) {
    const snapshot = snapshotter.loadAt(index, term);
    if (snapshot === undefined) continue; // corrupt row: logged by the snapshotter
    try {
      return { snapshot, opened: await Wal.open(walDir, { index, term }, walOptions()) };
    } catch (error) {
      if (!(error instanceof WalError) || !error.message.includes("snapshot not found"))
        throw error;
    }
  }
  return { snapshot: undefined, opened: await Wal.open(walDir, undefined, walOptions()) };
}

async function restart(settings: MemberSettings): Promise<Opened> {
  const { walDir, snapDir } = memberDirs(settings);
  mkdirSync(snapDir, { recursive: true, mode: 0o700 });
  const snapshotter = openSnapshotter(snapDir);
  const { snapshot, opened } = await openAtUsableSnapshot(walDir, snapshotter);
  const { wal, metadata } = opened;
  let { hardState, entries } = opened;
  if (settings.forceNewCluster) {
    ({ hardState, entries } = await forceNewCluster(settings, metadata.memberId, snapshot, opened));
  }
  const storage = new MemoryStorage();
  if (snapshot !== undefined) storage.applySnapshot(snapshot);
  storage.setHardState(hardState);
  storage.append(entries);
  const store =
    snapshot === undefined ? new Store() : Store.recover(new TextDecoder().decode(snapshot.data));
  const applied = snapshot?.meta.index ?? 0;
  return {
    raft: newRaft(settings, metadata.memberId, storage, applied),
    storage,
    wal,
    snapshotter,
    store,
    appliedIndex: applied,
    hardState,
    confState: snapshot?.meta.confState ?? { voters: [] },
    memberId: metadata.memberId,
    clusterId: metadata.clusterId,
    restarted: true,
    bootPeers: [],
  };
}

function openSnapshotter(snapDir: string): Snapshotter {
  try {
    return new Snapshotter(snapDir);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new BootstrapError(`snapshot database in ${snapDir} is unreadable (${message})`);
  }
}
