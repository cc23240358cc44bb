/**
 * Data-driven scenario tests (etcd-io/raft's interaction tests): each file in testdata/ is a
 * list of blocks, "commands\n----\nexpected output", separated by blank lines. Lines starting
 * with # are comments. `UPDATE=1 bun test test/raft` rewrites the expected output; review the
 * diff. Commands:
 *   cluster <ids...> [prevote] [checkquorum]   a fresh bootstrapped cluster (Readies handled)
 *   campaign <id> | tick <id> [n] | tick-all [n] | propose <id> <text>
 *   transfer <leader> <to> | read-index <id> <ctx> | compact <id>
 *   add-node <leader> <id> | remove-node <leader> <id> | start <id>  (an empty, joining node)
 *   isolate <id> | heal | stabilize | status | log <id> | applied <id> | read-states <id>
 */

import { expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RawNode } from "../../src/raft/raw-node.ts";
import { MemoryStorage } from "../../src/raft/storage.ts";
import { ProposalDroppedError } from "../../src/raft/types.ts";
import { fmtMessage } from "./format.ts";
import { Cluster, config, enc } from "./harness.ts";

class Interpreter {
  private c: Cluster | undefined;
  private out: string[] = [];

  private cluster(): Cluster {
    if (this.c === undefined) throw new Error("no cluster yet");
    return this.c;
  }

  private stabilize(): void {
    const c = this.cluster();
    for (let round = 0; round < 1000; round++) {
      for (const n of [...c.nodes.values()].sort((a, b) => a.id.localeCompare(b.id))) {
        while (c.handleReady(n)) {}
      }
      if (c.queue.length === 0) return;
      const msgs = c.queue;
      c.queue = [];
      for (const m of msgs) {
        const cut = c.isolated.has(m.from) || c.isolated.has(m.to);
        this.out.push(`${fmtMessage(m)}${cut ? " (dropped)" : ""}`);
        if (!cut) c.nodes.get(m.to)?.rn.step(m);
      }
    }
    throw new Error("did not stabilize");
  }

  private status(): void {
    for (const [id, n] of [...this.cluster().nodes].sort()) {
      const s = n.rn.status();
      this.out.push(
        `${id}: ${s.state} term=${s.term} lead=${s.lead || "-"} vote=${s.vote || "-"} commit=${s.commit} applied=${s.applied}`,
      );
    }
  }

  private confChange(leader: string, type: "addNode" | "removeNode", id: string): void {
    const rn = this.cluster().node(leader).rn;
    rn.proposeConfChange({ type, nodeId: id, context: new Uint8Array(0) });
  }

  /** One handler per command; `a(i)` is the i-th argument ("" when absent). */
  private readonly commands: Record<string, (a: (i: number) => string, args: string[]) => void> = {
    cluster: (_a, args) => {
      const ids = args.filter((x) => x !== "prevote" && x !== "checkquorum");
      const options = {
        preVote: args.includes("prevote"),
        checkQuorum: args.includes("checkquorum"),
      };
      this.c = new Cluster(ids, options);
    },
    campaign: (a) => this.rn(a(0)).campaign(),
    tick: (a) => {
      for (let i = 0; i < Number(a(1) || "1"); i++) this.rn(a(0)).tick();
    },
    "tick-all": (a) => {
      for (let i = 0; i < Number(a(0) || "1"); i++) {
        for (const n of this.cluster().nodes.values()) n.rn.tick();
      }
    },
    propose: (a) => this.rn(a(0)).propose(enc(a(1))),
    transfer: (a) => this.rn(a(0)).transferLeader(a(1)),
    "read-index": (a) => this.rn(a(0)).readIndex(a(1)),
    compact: (a) => this.cluster().compact(a(0)),
    "add-node": (a) => this.confChange(a(0), "addNode", a(1)),
    "remove-node": (a) => this.confChange(a(0), "removeNode", a(1)),
    start: (a) => {
      const storage = new MemoryStorage();
      const rn = new RawNode(config(a(0), storage));
      const node = {
        id: a(0),
        rn,
        storage,
        applied: [],
        readStates: [],
        confState: { voters: [] },
      };
      this.cluster().nodes.set(a(0), node);
    },
    isolate: (a) => this.cluster().isolated.add(a(0)),
    heal: () => this.cluster().isolated.clear(),
    stabilize: () => this.stabilize(),
    status: () => this.status(),
    log: (a) => this.out.push(`${a(0)}: ${this.cluster().logTerms(a(0)).join(" ")}`),
    applied: (a) => this.out.push(`${a(0)}: ${this.cluster().appliedData(a(0)).join(" ")}`),
    "read-states": (a) => {
      const n = this.cluster().node(a(0));
      this.out.push(`${a(0)}: ${n.readStates.map((r) => `${r.requestCtx}@${r.index}`).join(" ")}`);
      n.readStates = [];
    },
  };

  private rn(id: string): RawNode {
    return this.cluster().node(id).rn;
  }

  run(line: string): void {
    const [cmd = "", ...args] = line.trim().split(/\s+/);
    const handler = this.commands[cmd];
    if (handler === undefined) throw new Error(`unknown command: ${line}`);
    try {
      handler((i) => args[i] ?? "", args);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.out.push(`error: ${e.message}`);
    }
  }

  take(): string {
    const s = this.out.join("\n");
    this.out = [];
    return s === "" ? "ok" : s;
  }
}

interface Block {
  commands: string[];
  expected: string;
}

function parse(text: string): Block[] {
  const blocks: Block[] = [];
  for (const chunk of text.split(/\n\s*\n/)) {
    const lines = chunk.split("\n").filter((l) => !l.startsWith("#"));
    const sep = lines.indexOf("----");
    if (lines.every((l) => l.trim() === "")) continue;
    if (sep < 0) throw new Error(`block without ----: ${chunk}`);
    blocks.push({
      commands: lines.slice(0, sep),
      expected: lines
        .slice(sep + 1)
        .join("\n")
        .trim(),
    });
  }
  return blocks;
}

const dir = join(import.meta.dir, "testdata");
for (const file of readdirSync(dir).filter((f) => f.endsWith(".txt"))) {
  test(`scenario ${file}`, () => {
    const path = join(dir, file);
    const original = readFileSync(path, "utf8");
    const interp = new Interpreter();
    const rewritten: string[] = [];
    // Keep comment lines (they are not part of blocks) by rebuilding from the raw chunks.
    for (const chunk of original.split(/\n\s*\n/)) {
      const lines = chunk.split("\n");
      const sep = lines.indexOf("----");
      if (sep < 0) {
        if (chunk.trim() !== "") rewritten.push(chunk.trimEnd());
        continue;
      }
      const [block] = parse(chunk);
      if (block === undefined) continue;
      for (const cmd of block.commands) if (cmd.trim() !== "") interp.run(cmd);
      const actual = interp.take();
      rewritten.push(`${lines.slice(0, sep + 1).join("\n")}\n${actual}`);
      if (process.env.UPDATE !== "1")
        expect(`${block.commands.join("\n")}\n----\n${actual}`).toBe(
          `${block.commands.join("\n")}\n----\n${block.expected}`,
        );
    }
    if (process.env.UPDATE === "1") writeFileSync(path, `${rewritten.join("\n\n")}\n`);
  });
}
