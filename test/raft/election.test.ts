import { describe, expect, test } from "bun:test";
import { RawNode } from "../../src/raft/raw-node.ts";
import { MemoryStorage } from "../../src/raft/storage.ts";
import { type Message, ProposalDroppedError } from "../../src/raft/types.ts";
import { Cluster, config, enc } from "./harness.ts";

describe("elections", () => {
  test("a single node elects itself on campaign and commits a proposal once persisted", () => {
    const c = new Cluster(["1"]);
    c.campaign("1");
    const n = c.node("1");
    expect(n.rn.status().state).toBe("leader");
    expect(n.rn.status().term).toBe(2);
    n.rn.propose(enc("x"));
    // Raft §5.3: nothing commits before the leader's own log is persisted (self-ack).
    const rd = n.rn.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([3]);
    expect(rd.committedEntries).toEqual([]);
    n.storage.append(rd.entries);
    n.rn.advance(rd);
    const rd2 = n.rn.ready();
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([3]);
    expect(rd2.hardState?.commit).toBe(3);
    n.rn.advance(rd2);
    expect(n.rn.status().applied).toBe(3);
  });

  test("a single node campaigns before its first Ready is handled", () => {
    const storage = new MemoryStorage();
    const rn = new RawNode(config("1", storage), ["1"]);
    rn.campaign();
    expect(rn.status().state).toBe("leader");
  });

  test("a single node elects itself after its election timeout", () => {
    const c = new Cluster(["1"], { electionTick: 10 });
    c.tickAll(19);
    expect(c.leaders()).toEqual(["1"]);
  });

  test("randomized election timeout falls in [electionTick, 2*electionTick)", () => {
    // Raft §5.2: randomized timeouts make split votes rare.
    for (let seed = 1; seed <= 50; seed++) {
      const storage = new MemoryStorage();
      const rn = new RawNode({ ...config("1", storage), seed }, ["1"]);
      let ticks = 0;
      while (rn.status().state !== "leader") {
        rn.tick();
        ticks++;
        expect(ticks).toBeLessThan(20);
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
    }
  });

  for (const size of [3, 5]) {
    test(`${size} nodes elect exactly one leader`, () => {
      const ids = Array.from({ length: size }, (_, i) => String(i + 1));
      const c = new Cluster(ids);
      c.campaign("1");
      expect(c.leaders()).toEqual(["1"]);
      for (const id of ids) {
        expect(c.node(id).rn.status().lead).toBe("1");
        expect(c.node(id).rn.status().term).toBe(2);
      }
    });

    test(`${size} nodes elect a leader by ticking alone`, () => {
      const ids = Array.from({ length: size }, (_, i) => String(i + 1));
      const c = new Cluster(ids);
      c.tickAll(40);
      expect(c.leaders().length).toBe(1);
    });
  }

  test("a candidate needs a majority (Raft §5.2)", () => {
    const c = new Cluster(["1", "2", "3", "4", "5"]);
    c.isolated.add("3");
    c.isolated.add("4");
    c.isolated.add("5");
    c.campaign("1");
    expect(c.node("1").rn.status().state).toBe("candidate");
    c.isolated.delete("3");
    c.campaign("1");
    expect(c.node("1").rn.status().state).toBe("leader");
  });

  test("a voter grants one vote per term (Raft §5.2)", () => {
    const c = new Cluster(["1", "2", "3"]);
    c.isolated.add("3");
    c.campaign("1");
    expect(c.leaders()).toEqual(["1"]);
    // 3 campaigns in term 2 too, but 1 and 2 voted (or lead) in term 2.
    c.isolated.delete("3");
    c.isolated.add("1");
    const n3 = c.node("3");
    n3.rn.campaign();
    c.stabilize();
    expect(n3.rn.status().term).toBe(2);
    expect(n3.rn.status().state).toBe("candidate");
    expect(c.node("2").rn.status().vote).toBe("1");
  });

  test("votes go only to candidates with up-to-date logs (Raft §5.4.1)", () => {
    const c = new Cluster(["1", "2", "3"]);
    c.campaign("1");
    c.isolated.add("3");
    c.propose("1", "a");
    c.isolated.delete("3");
    // 3 lacks "a": 1 and 2 refuse it, so it cannot win.
    c.isolated.add("1");
    c.campaign("3");
    expect(c.node("3").rn.status().state).not.toBe("leader");
    c.campaign("2");
    expect(c.node("2").rn.status().state).toBe("leader");
  });

  test("a leader with a stale term steps down and its uncommitted entries are replaced", () => {
    const c = new Cluster(["1", "2", "3"]);
    c.campaign("1");
    c.isolated.add("1");
    c.node("1").rn.propose(enc("lost"));
    c.stabilize();
    c.campaign("2");
    expect(c.node("2").rn.status().state).toBe("leader");
    c.propose("2", "kept");
    c.isolated.delete("1");
    c.tickAll(2);
    expect(c.node("1").rn.status().state).toBe("follower");
    expect(c.node("1").rn.status().lead).toBe("2");
    for (const id of ["1", "2", "3"]) expect(c.appliedData(id)).toEqual(["kept"]);
  });

  test("a higher term in any message bumps the term (Raft §5.1)", () => {
    const c = new Cluster(["1", "2", "3"]);
    c.campaign("1");
    const m: Message = {
      type: "MsgHeartbeat",
      from: "2",
      to: "1",
      term: 9,
      commit: 0,
      context: "",
    };
    c.node("1").rn.step(m);
    const s = c.node("1").rn.status();
    expect(s.term).toBe(9);
    expect(s.state).toBe("follower");
    expect(s.lead).toBe("2");
  });

  test("messages from a lower term are ignored (Raft §5.1)", () => {
    const c = new Cluster(["1", "2", "3"]);
    c.campaign("1");
    c.campaign("2");
    const before = c.node("2").rn.status();
    c.node("2").rn.step({
      type: "MsgVote",
      from: "3",
      to: "2",
      term: 1,
      index: 99,
      logTerm: 99,
      transfer: false,
    });
    expect(c.node("2").rn.status()).toEqual(before);
  });

  test("propose without a leader throws ProposalDroppedError", () => {
    const c = new Cluster(["1", "2", "3"]);
    expect(() => c.node("1").rn.propose(enc("x"))).toThrow(ProposalDroppedError);
  });
});
