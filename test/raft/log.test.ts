import { describe, expect, test } from "bun:test";
import { NO_LIMIT, RaftLog } from "../../src/raft/log.ts";
import { Inflights, Progress } from "../../src/raft/progress.ts";
import { RawNode } from "../../src/raft/raw-node.ts";
import { ReadOnly } from "../../src/raft/read-only.ts";
import { MemoryStorage } from "../../src/raft/storage.ts";
import type { Entry } from "../../src/raft/types.ts";
import { config } from "./harness.ts";

const ent = (index: number, term: number): Entry => ({
  index,
  term,
  type: "normal",
  data: new Uint8Array(0),
});

function logWith(terms: number[]): RaftLog {
  const s = new MemoryStorage();
  s.append(terms.map((t, i) => ent(i + 1, t)));
  return new RaftLog(s);
}

describe("RaftLog", () => {
  test("maybeAppend rejects a mismatched previous entry (Raft §5.3)", () => {
    const log = logWith([1, 2, 3]);
    expect(log.maybeAppend(3, 2, 3, [ent(4, 4)])).toBeUndefined();
    expect(log.maybeAppend(4, 3, 3, [ent(5, 4)])).toBeUndefined();
    expect(log.lastIndex()).toBe(3);
  });

  test("maybeAppend truncates a conflicting suffix and commits up to the last new entry", () => {
    const log = logWith([1, 2, 3]);
    expect(log.maybeAppend(1, 1, 10, [ent(2, 4)])).toBe(2);
    expect(log.lastIndex()).toBe(2);
    expect(log.term(2)).toBe(4);
    expect(log.committed).toBe(2);
  });

  test("maybeAppend keeps entries after a matching prefix (stale, reordered MsgApp)", () => {
    const log = logWith([1, 2, 3]);
    expect(log.maybeAppend(1, 1, 0, [ent(2, 2)])).toBe(2);
    expect(log.lastIndex()).toBe(3);
  });

  test("a conflict with a committed entry is a bug", () => {
    const log = logWith([1, 2, 3]);
    log.commitTo(3);
    expect(() => log.maybeAppend(1, 1, 3, [ent(2, 5)])).toThrow();
  });

  test("findConflictByTerm skips whole terms", () => {
    const log = logWith([1, 1, 2, 2, 2, 5, 5]);
    expect(log.findConflictByTerm(7, 4)).toEqual({ index: 5, term: 2 });
    expect(log.findConflictByTerm(7, 1)).toEqual({ index: 2, term: 1 });
    expect(log.findConflictByTerm(7, 0)).toEqual({ index: 0, term: 0 });
  });

  test("isUpToDate compares last term, then length (Raft §5.4.1)", () => {
    const log = logWith([1, 2, 2]);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });

  test("maybeCommit only for an entry of the given term (Raft §5.4.2)", () => {
    const log = logWith([1, 2, 3]);
    expect(log.maybeCommit(2, 3)).toBe(false);
    expect(log.maybeCommit(3, 3)).toBe(true);
    expect(log.committed).toBe(3);
  });

  test("slice spans storage and unstable entries, honoring a byte limit", () => {
    const log = logWith([1, 1]);
    log.append([ent(3, 2), ent(4, 2)]);
    expect(log.slice(1, 5, NO_LIMIT).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(log.slice(2, 4, 16 * 2).map((e) => e.index)).toEqual([2, 3]);
    log.stableTo(3, 2);
    expect(log.unstableEntriesCopy().map((e) => e.index)).toEqual([4]);
    // A stale stableTo (the entry was replaced) changes nothing.
    log.stableTo(4, 9);
    expect(log.unstableEntriesCopy().map((e) => e.index)).toEqual([4]);
  });
});

describe("Progress", () => {
  test("probe → replicate → probe on rejection", () => {
    const pr = new Progress(5, 4);
    expect(pr.state).toBe("probe");
    pr.sentEntries(7, 3);
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeUpdate(7)).toBe(true);
    pr.becomeReplicate();
    expect(pr.next).toBe(8);
    pr.sentEntries(9, 2);
    expect(pr.next).toBe(10);
    expect(pr.maybeDecrTo(6, 6)).toBe(false);
    expect(pr.maybeDecrTo(9, 8)).toBe(true);
    expect(pr.next).toBe(8);
  });

  test("maybeDecrTo in probe uses the hint but never goes below match + 1", () => {
    const pr = new Progress(10, 4);
    pr.match = 3;
    expect(pr.maybeDecrTo(8, 5)).toBe(false);
    expect(pr.maybeDecrTo(9, 5)).toBe(true);
    expect(pr.next).toBe(6);
    expect(pr.maybeDecrTo(5, 0)).toBe(true);
    expect(pr.next).toBe(4);
  });

  test("snapshot state pauses until the snapshot is done", () => {
    const pr = new Progress(3, 4);
    pr.becomeSnapshot(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(21);
  });

  test("inflights are bounded and freed in order", () => {
    const inf = new Inflights(3);
    inf.add(2);
    inf.add(4);
    inf.add(6);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(8)).toThrow();
    inf.freeLE(4);
    expect(inf.count()).toBe(1);
    inf.freeFirstOne();
    expect(inf.count()).toBe(0);
  });
});

describe("ReadOnly", () => {
  test("completes requests in order", () => {
    const ro = new ReadOnly();
    ro.add(5, "a", "c1");
    ro.add(6, "b", "c2");
    ro.add(6, "b", "c2");
    expect(ro.size()).toBe(2);
    expect(ro.recvAck("x", "c2")?.size).toBe(1);
    expect(ro.advance("c2").map((r) => r.context)).toEqual(["c1", "c2"]);
    expect(ro.size()).toBe(0);
  });
});

describe("RawNode boundaries", () => {
  test("ignores messages for another node, with bad terms, or responses from strangers", () => {
    const s = new MemoryStorage();
    const rn = new RawNode(config("1", s), ["1", "2", "3"]);
    rn.advance(rn.ready());
    const before = rn.status();
    rn.step({ type: "MsgHeartbeat", from: "2", to: "9", term: 5, commit: 0, context: "" });
    rn.step({ type: "MsgHeartbeat", from: "2", to: "1", term: 0, commit: 0, context: "" });
    rn.step({ type: "MsgVoteResp", from: "7", to: "1", term: 5, reject: false });
    expect(rn.status()).toEqual(before);
    const bogus = JSON.parse('{"type":"MsgHup","from":"2","to":"1","term":5}');
    rn.step(bogus);
    expect(rn.status()).toEqual(before);
  });

  test("ready() twice without advance() is a bug", () => {
    const rn = new RawNode(config("1", new MemoryStorage()), ["1"]);
    rn.ready();
    expect(() => rn.ready()).toThrow();
  });

  test("bootstrapping a node that already has a log is a bug", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1)]);
    expect(() => new RawNode(config("1", s), ["1"])).toThrow();
  });

  test("bootstrap entries are the same whatever the peer order", () => {
    const a = new RawNode(config("1", new MemoryStorage()), ["3", "1", "2"]).ready().entries;
    const b = new RawNode(config("2", new MemoryStorage()), ["1", "2", "3"]).ready().entries;
    expect(a).toEqual(b);
  });
});
