/**
 * Safety checks for the cluster simulator (Raft §5.4, Figure 3): election safety, log
 * matching, leader completeness, state-machine safety, and durability of applied entries
 * across restarts. Every check throws SimViolation with a description; the simulator adds
 * the seed.
 */

import type { MemoryStorage } from "../../src/raft/storage.ts";
import type { Entry, NodeId } from "../../src/raft/types.ts";

export class SimViolation extends Error {
  override name = "SimViolation";
}

function fail(message: string): never {
  throw new SimViolation(message);
}

/** FNV-1a over the entry, chained: the digest of a state machine after applying `e`. */
export function chainDigest(prev: number, e: Entry): number {
  let h = (prev ^ 0x811c9dc5) >>> 0;
  const mix = (b: number) => {
    h = Math.imul(h ^ b, 0x01000193) >>> 0;
  };
  for (const ch of `${e.index}/${e.term}/${e.type}/`) mix(ch.charCodeAt(0));
  for (const b of e.data) mix(b);
  return h;
}

function termAt(disk: MemoryStorage, i: number): number | undefined {
  if (i < disk.firstIndex() - 1 || i > disk.lastIndex()) return undefined;
  return disk.term(i);
}

export class Checker {
  /** Election safety: at most one leader per term. */
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** Log matching: (index, term) identifies one entry and one predecessor term. */
  private readonly entryAt = new Map<string, { data: string; prevTerm: number | undefined }>();
  /** Entries known committed: index → entry term and the lowest leader term that committed it. */
  private readonly committed = new Map<number, { term: number; leaderTerm: number }>();
  /** State-machine safety: the entry applied at each index, and the digest after it. */
  private readonly appliedAt = new Map<number, { term: number; data: string; digest: number }>();
  /** How far each node's leader commits have been recorded. */
  private readonly recordedCommit = new Map<NodeId, number>();
  /** ReadIndex requests: the highest index known committed anywhere when each was issued. */
  private readonly readFloor = new Map<string, number>();
  private maxCommitted = 0;
  leaderElections = 0;
  readsServed = 0;
  entriesApplied = 0;

  /** A node is leader in `term`: only one per term, and its log holds all earlier commits. */
  observeLeader(id: NodeId, term: number, disk: MemoryStorage): void {
    const known = this.leaderOfTerm.get(term);
    if (known !== undefined && known !== id)
      fail(`two leaders in term ${term}: ${known} and ${id}`);
    if (known === id) return;
    this.leaderOfTerm.set(term, id);
    this.leaderElections++;
    // Leader completeness (Raft §5.4.1): entries committed in earlier terms are in its log.
    for (const [index, c] of this.committed) {
      if (c.leaderTerm >= term || index <= disk.snapshot().meta.index) continue;
      const t = termAt(disk, index);
      if (t !== undefined && t === c.term) continue;
      if (index < disk.firstIndex()) continue;
      fail(
        `leader ${id} of term ${term} lacks entry ${index} (term ${c.term}) committed in term ${c.leaderTerm}, has ${t}`,
      );
    }
  }

  /** Entries just persisted by `id`: each (index, term) names exactly one entry. */
  onPersisted(id: NodeId, disk: MemoryStorage, entries: Entry[]): void {
    for (const e of entries) {
      const data = `${e.type}:${Array.from(e.data).join(",")}`;
      const prevTerm = termAt(disk, e.index - 1);
      const key = `${e.index}/${e.term}`;
      const known = this.entryAt.get(key);
      if (known === undefined) {
        this.entryAt.set(key, { data, prevTerm });
        continue;
      }
      if (known.data !== data) fail(`log matching: ${id} has a different entry at ${key}`);
      if (known.prevTerm !== undefined && prevTerm !== undefined && known.prevTerm !== prevTerm) {
        fail(`log matching: ${id} entry ${key} follows term ${prevTerm}, not ${known.prevTerm}`);
      }
    }
  }

  /** The leader `id` (in `leaderTerm`) now has commit index `commit`. */
  onLeaderCommit(id: NodeId, leaderTerm: number, commit: number, disk: MemoryStorage): void {
    const from = Math.max(this.recordedCommit.get(id) ?? 0, disk.firstIndex() - 1);
    for (let i = from + 1; i <= commit; i++) {
      const t = termAt(disk, i);
      if (t === undefined) fail(`leader ${id} committed ${i} beyond its log`);
      const known = this.committed.get(i);
      if (known !== undefined && known.term !== t) {
        fail(`index ${i} committed with term ${known.term} and ${t}`);
      }
      if (known === undefined || known.leaderTerm > leaderTerm) {
        this.committed.set(i, { term: t, leaderTerm });
      }
    }
    this.recordedCommit.set(id, Math.max(from, commit));
    this.maxCommitted = Math.max(this.maxCommitted, commit);
  }

  onReadRequest(context: string): void {
    this.readFloor.set(context, this.maxCommitted);
  }

  /** Raft thesis §6.4: a read index is at least every commit that preceded the request. */
  onReadState(id: NodeId, rs: { index: number; requestCtx: string }): void {
    const floor = this.readFloor.get(rs.requestCtx);
    if (floor === undefined) fail(`${id} got a read state for unknown request ${rs.requestCtx}`);
    if (rs.index < floor) {
      fail(`linearizability: ${id} read index ${rs.index} < ${floor} committed before the request`);
    }
    this.readsServed++;
  }

  /** `id` applied `e` and reached `digest`: every node applies the same entry at an index. */
  onApply(id: NodeId, e: Entry, digest: number): void {
    this.entriesApplied++;
    const data = Array.from(e.data).join(",");
    const known = this.appliedAt.get(e.index);
    if (known === undefined) {
      this.appliedAt.set(e.index, { term: e.term, data, digest });
      return;
    }
    if (known.term !== e.term || known.data !== data) {
      fail(`state machine safety: ${id} applied a different entry at ${e.index}`);
    }
    if (known.digest !== digest) fail(`state machine safety: ${id} diverged at ${e.index}`);
  }

  /** `id` installed a snapshot ending at `index` with state `digest`. */
  onSnapshot(id: NodeId, index: number, digest: number): void {
    const known = this.appliedAt.get(index);
    if (known !== undefined && known.digest !== digest) {
      fail(`state machine safety: ${id} installed a divergent snapshot at ${index}`);
    }
  }

  /** After a restart: everything `id` applied before the crash is still on its disk. */
  onRestart(id: NodeId, appliedBeforeCrash: number, disk: MemoryStorage): void {
    const snapIndex = disk.snapshot().meta.index;
    if (disk.initialState().hardState.commit < Math.min(appliedBeforeCrash, snapIndex)) {
      fail(`${id} restarted with commit below its snapshot`);
    }
    for (let i = snapIndex + 1; i <= appliedBeforeCrash; i++) {
      const t = termAt(disk, i);
      const known = this.appliedAt.get(i);
      if (t === undefined || known === undefined || t !== known.term) {
        fail(`durability: ${id} lost applied entry ${i} across a restart (disk term ${t})`);
      }
    }
  }
}
