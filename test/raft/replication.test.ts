import { describe, expect, test } from "bun:test";
import { RawNode } from "../../src/raft/raw-node.ts";
import { MemoryStorage } from "../../src/raft/storage.ts";
import type { Entry, Message } from "../../src/raft/types.ts";
import { Cluster, config, dec, enc } from "./harness.ts";

describe("log replication", () => {
  test("a leader replicates and commits entries on all members (Raft §5.3)", () => {
    const c = new Cluster(["1", "2", "3"]);
    c.campaign("1");
    for (const s of ["a", "b", "c"]) c.propose("1", s);
    for (const id of ["1", "2", "3"]) {
      expect(c.appliedData(id)).toEqual(["a", "b", "c"]);
      expect(c.node(id).rn.status().commit).toBe(7);
    }
  });

  test("a follower forwards proposals to the leader", () => {
    const c = new Cluster(["1", "2", "3"]);
    c.campaign("1");
    c.propose("3", "from-3");
    for (const id of ["1", "2", "3"]) expect(c.appliedData(id)).toEqual(["from-3"]);
  });

  test("a minority cannot commit", () => {
    const c = new Cluster(["1", "2", "3"]);
    c.campaign("1");
    c.isolated.add("2");
    c.isolated.add("3");
    c.propose("1", "x");
    expect(c.node("1").rn.status().commit).toBe(4);
    c.isolated.clear();
    c.tickAll(1);
    expect(c.appliedData("2")).toEqual(["x"]);
  });

  // Raft Figure 7: a new leader brings every kind of divergent follower log in line with its
  // own (terms listed from index 4; 1..3 are the bootstrap entries).
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  for (const [name, log] of Object.entries(followers)) {
    test(`figure 7 (${name}): conflicting follower logs are repaired`, () => {
      const c = Cluster.fromLogs(
        { "1": leaderLog, "2": log, "3": leaderLog },
        { maxSizePerMsg: 1 },
      );
      // Bump 1 past every follower's term (d has term-7 entries) before it campaigns.
      c.node("1").rn.step({
        type: "MsgHeartbeat",
        from: "3",
        to: "1",
        term: 7,
        commit: 0,
        context: "",
      });
      c.stabilize();
      c.campaign("1");
      expect(c.leaders()).toEqual(["1"]);
      c.tickAll(3);
      const expected = [1, 1, 1, ...leaderLog, 8];
      for (const id of ["1", "2", "3"]) expect(c.logTerms(id)).toEqual(expected);
      expect(c.node("2").rn.status().commit).toBe(expected.length);
    });
  }

  test("fast backtracking needs few round trips", () => {
    const c = Cluster.fromLogs({
      "1": [2, 2, 2],
      "2": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
      "3": [2, 2, 2],
    });
    c.campaign("1");
    let probes = 0;
    c.drop = (m) => {
      if (m.type === "MsgAppResp" && m.from === "2" && m.reject) probes++;
      return false;
    };
    c.tickAll(3);
    expect(c.logTerms("2")).toEqual(c.logTerms("1"));
    expect(probes).toBeLessThanOrEqual(2);
  });

  test("only entries of the current term commit by counting replicas (Raft §5.4.2)", () => {
    // 1 holds a term-2 entry at index 4 that nobody else has.
    const c = Cluster.fromLogs({ "1": [2], "2": [], "3": [] }, { maxSizePerMsg: 1 });
    c.node("1").rn.step({
      type: "MsgHeartbeat",
      from: "3",
      to: "1",
      term: 3,
      commit: 0,
      context: "",
    });
    c.stabilize();
    // Entry 5 (the new leader's empty entry, term 4) never reaches the followers: the
    // MsgApp carrying it arrives with its entries stripped.
    c.drop = (m) => {
      if (m.type !== "MsgApp" || !m.entries.some((e) => e.index === 5)) return false;
      c.queue.push({ ...m, entries: [] });
      return true;
    };
    c.campaign("1");
    expect(c.leaders()).toEqual(["1"]);
    expect(c.logTerms("2")).toEqual([1, 1, 1, 2]);
    // Index 4 is on a majority but from an older term: not committed.
    expect(c.node("1").rn.status().commit).toBe(3);
    c.drop = () => false;
    c.tickAll(2);
    expect(c.node("1").rn.status().commit).toBe(5);
  });

  test("heartbeats carry commit to followers", () => {
    const c = new Cluster(["1", "2", "3"]);
    c.campaign("1");
    // Drop the MsgApp that would carry the new commit index to 3.
    c.propose("1", "x");
    expect(c.node("3").rn.status().commit).toBe(5);
    c.drop = (m) => m.type === "MsgApp" && m.to === "3";
    c.propose("1", "y");
    expect(c.node("3").rn.status().commit).toBe(5);
    c.drop = () => false;
    c.tickAll(1);
    expect(c.node("3").rn.status().commit).toBe(6);
  });

  test("Ready: entries, hardState and messages, then committed entries after advance", () => {
    const c = new Cluster(["1", "2", "3"]);
    c.campaign("1");
    const n = c.node("1");
    n.rn.propose(enc("p"));
    expect(n.rn.hasReady()).toBe(true);
    const rd = n.rn.ready();
    expect(rd.entries.map((e) => [e.index, e.term])).toEqual([[5, 2]]);
    expect(rd.messages.filter((m) => m.type === "MsgApp").length).toBe(2);
    expect(rd.mustSync).toBe(true);
    expect(rd.hardState).toBeUndefined();
    expect(n.rn.hasReady()).toBe(false);
    n.storage.append(rd.entries);
    n.rn.advance(rd);
    expect(n.rn.hasReady()).toBe(false);
  });
});

describe("restart and compaction", () => {
  test("a node restarts from a snapshot plus entries in storage", () => {
    const storage = new MemoryStorage();
    const snapData = enc("state@10");
    storage.applySnapshot({
      meta: { index: 10, term: 3, confState: { voters: ["1"] } },
      data: snapData,
    });
    const ents: Entry[] = [11, 12].map((index) => ({
      term: 3,
      index,
      type: "normal",
      data: enc(`e${index}`),
    }));
    storage.append(ents);
    storage.setHardState({ term: 3, vote: "1", commit: 11 });
    const rn = new RawNode({ ...config("1", storage), applied: 10 });
    expect(rn.status()).toMatchObject({ term: 3, vote: "1", commit: 11, applied: 10 });
    const rd = rn.ready();
    expect(rd.committedEntries.map((e) => dec(e.data))).toEqual(["e11"]);
    expect(rd.entries).toEqual([]);
    rn.advance(rd);
    rn.campaign();
    expect(rn.status().state).toBe("leader");
    const rd2 = rn.ready();
    expect(rd2.entries.map((e) => [e.index, e.term])).toEqual([[13, 4]]);
    storage.append(rd2.entries);
    rn.advance(rd2);
    const rd3 = rn.ready();
    expect(rd3.committedEntries.map((e) => e.index)).toEqual([12, 13]);
  });

  test("a restarted member reapplies nothing below its applied index", () => {
    const c = new Cluster(["1"]);
    c.campaign("1");
    for (const s of ["a", "b"]) c.propose("1", s);
    const n = c.node("1");
    const applied = n.rn.status().applied;
    const rn = new RawNode({ ...config("1", n.storage), applied });
    expect(rn.hasReady()).toBe(false);
    expect(rn.status().commit).toBe(applied);
  });

  test("a compacted leader sends a snapshot to a lagging follower (Raft §7)", () => {
    const c = new Cluster(["1", "2", "3"]);
    c.campaign("1");
    c.isolated.add("3");
    for (const s of ["a", "b", "c", "d"]) c.propose("1", s);
    c.compact("1");
    c.propose("1", "e");
    c.isolated.clear();
    c.tickAll(3);
    expect(c.appliedData("3")).toEqual(["a", "b", "c", "d", "e"]);
    expect(c.node("3").storage.firstIndex()).toBeGreaterThan(1);
    c.propose("3", "f");
    for (const id of ["1", "2", "3"])
      expect(c.appliedData(id)).toEqual(["a", "b", "c", "d", "e", "f"]);
  });
});

describe("stale and duplicated append acks", () => {
  test("an ack that acknowledges nothing new draws no append, even to a paused probe", () => {
    const c = new Cluster(["1", "2", "3"]);
    let lastAck: Message | undefined;
    c.drop = (m) => {
      if (m.type === "MsgAppResp" && m.from === "2" && !m.reject) lastAck = m;
      return false;
    };
    c.campaign("1");
    c.propose("1", "x");
    expect(lastAck).toBeDefined();
    // Follower 2 goes back to probing, and its probe is lost: the leader waits (paused).
    c.node("1").rn.reportUnreachable("2");
    c.drop = (m) => m.to === "2";
    c.propose("1", "y");
    // An old ack from 2 arrives again: it moves nothing, so nothing is sent for it.
    c.node("1").rn.step(lastAck as Message);
    const rd = c.node("1").rn.ready();
    expect(rd.messages.filter((m) => m.type === "MsgApp" && m.to === "2")).toEqual([]);
  });
});
