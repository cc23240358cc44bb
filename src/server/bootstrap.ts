/**
 * Opens a member's persistent state: a brand-new data dir (WAL created, the initial members
 * written as committed conf-change entries, as etcd's StartNode does) or an existing one (newest
 * usable snapshot + WAL replay). Refuses clearly when the data dir cannot be used.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { encodeConfChange } from "../raft/conf-change-codec.ts";
import { RawNode } from "../raft/raw-node.ts";
import { MemoryStorage } from "../raft/storage.ts";
import type { ConfState, Entry, HardState, Snapshot } from "../raft/types.ts";
import { Snapshotter } from "../snap/snapshotter.ts";
import { Store } from "../store/store.ts";
import { Wal, type WalOptions } from "../wal/wal.ts";
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
}

/** A data dir that cannot be used as asked; the message is for the operator. */
export class BootstrapError extends Error {
  override name = "BootstrapError";
}

/** Raft message size limit per append (etcd: 1 MiB). */
const MAX_SIZE_PER_MSG = 1024 * 1024;
/** Appends in flight per follower before the leader waits for acks (etcd: 256). */
const MAX_INFLIGHT_MSGS = 256;
const storeClock = { now: () => Date.now() };

/** The WAL writer: mmap by default; ETCDBUN_WAL_WRITER=pwrite selects positioned writes. */
function walOptions(): WalOptions {
  return { writer: process.env.ETCDBUN_WAL_WRITER === "pwrite" ? "pwrite" : "mmap" };
}

export function memberDirs(settings: MemberSettings) {
  const memberDir = join(settings.dataDir, "member");
  const walDir = settings.walDir === "" ? join(memberDir, "wal") : settings.walDir;
  return { memberDir, walDir, snapDir: join(memberDir, "snap") };
}

export async function openMember(settings: MemberSettings): Promise<Opened> {
  const { walDir } = memberDirs(settings);
  if (Wal.exists(walDir)) return restart(settings);
  if (settings.initialClusterState === "existing") {
    throw new BootstrapError(
      "joining an existing cluster (--initial-cluster-state existing) is not supported yet",
    );
  }
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
    preVote: true,
    checkQuorum: true,
    seed: Number.parseInt(memberId.slice(-8), 16) ^ Date.now(),
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
  return {
    raft: newRaft(settings, settings.memberId, storage, 0),
    storage,
    wal,
    snapshotter: openSnapshotter(snapDir),
    store: new Store(storeClock),
    appliedIndex: 0,
    hardState,
    confState: { voters: [] },
    memberId: settings.memberId,
    clusterId: settings.clusterId,
    restarted: false,
  };
}

async function restart(settings: MemberSettings): Promise<Opened> {
  const { walDir, snapDir } = memberDirs(settings);
  mkdirSync(snapDir, { recursive: true, mode: 0o700 });
  const snapshotter = openSnapshotter(snapDir);
  const snapshot: Snapshot | undefined = snapshotter.loadNewest();
  const marker =
    snapshot === undefined ? undefined : { index: snapshot.meta.index, term: snapshot.meta.term };
  const { wal, metadata, hardState, entries } = await Wal.open(walDir, marker, walOptions());
  const storage = new MemoryStorage();
  if (snapshot !== undefined) storage.applySnapshot(snapshot);
  storage.setHardState(hardState);
  storage.append(entries);
  const store =
    snapshot === undefined
      ? new Store(storeClock)
      : Store.recover(new TextDecoder().decode(snapshot.data), storeClock);
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
