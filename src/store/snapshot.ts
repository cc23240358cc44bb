/**
 * The store's snapshot format: JSON of the tree, the index, the counters and the event history
 * (what etcd's `store.Save()` keeps, in our own field names). Decoding validates everything,
 * since the text comes from disk or from a peer.
 *
 * Shape (version 1):
 *   {"version":1,"currentIndex":N,"stats":{counter:N...},
 *    "history":{"capacity":N,"events":[Event...]},          oldest first
 *    "root":Node}
 *   Node  = {"path":s,"createdIndex":N,"modifiedIndex":N,"expireTime":N,
 *            "value":s | "children":[Node...]}               files have value, dirs children
 *   Event = {"action":s,"node":View,"prevNode"?:View,"etcdIndex":N,"refresh":b}
 *   View  = {"key":s,"value"?:s,"dir":b,"expireTime":N,"modifiedIndex":N,"createdIndex":N}
 */
import type { Action, Event, NodeView } from "./event.ts";
import { Node } from "./node.ts";
import { type StatsCounter, statsFields } from "./stats.ts";

const snapshotVersion = 1;

export interface SnapshotState {
  readonly currentIndex: number;
  readonly root: Node;
  readonly counters: Readonly<Record<StatsCounter, number>>;
  readonly historyCapacity: number;
  readonly events: readonly Event[];
}

/**
 * Writes a snapshot of a store that keeps changing, a slice at a time: the image is the state at
 * construction. Before the store changes a node (its fields or, for a dir, its children) it calls
 * `preserve(node)`; a node the writer has not reached yet is then copied once, and the writer uses
 * the copy (copy-on-write at node granularity). A node the writer has reached is marked and never
 * copied: its part of the image is already fixed.
 */
export class SnapshotWriter {
  private readonly mark = nextWriterMark++;
  private readonly frozen = new Map<Node, FrozenNode>();
  private readonly stack: { kids: readonly Node[]; i: number }[] = [];
  private readonly encoder = new TextEncoder();
  /** Shared memory, so the image goes to the save worker without a copy. */
  private out: Uint8Array;
  private size = 0;
  private parts: string[] = [];
  private finished = false;

  /** `sizeHint`: the expected image size in bytes (say, the last one's), to allocate once. */
  constructor(
    s: SnapshotState,
    sizeHint: number,
    private readonly onDone: (complete: boolean) => void,
  ) {
    this.out = new Uint8Array(new SharedArrayBuffer(Math.max(MIN_CAPACITY, sizeHint * 1.25)));
    this.parts.push(
      `{"version":${snapshotVersion},"currentIndex":${s.currentIndex},"stats":`,
      JSON.stringify(s.counters),
      `,"history":{"capacity":${s.historyCapacity},"events":`,
      // NodeView's undefined fields (value, nodes, prevNode) are dropped by JSON.stringify.
      JSON.stringify(s.events),
      `},"root":`,
    );
    this.open(s.root);
  }

  /** Called by the store before it changes `n`. */
  preserve(n: Node): void {
    if (this.finished || n.snapshotMark === this.mark) return;
    n.snapshotMark = this.mark;
    this.frozen.set(n, {
      modifiedIndex: n.modifiedIndex,
      expireTime: n.expireTime,
      value: n.value,
      kids: n.children === null ? null : Array.from(n.children.values()),
    });
  }

  /**
   * Writes nodes while `timeLeft()` (asked every 64 nodes; the caller owns the clock) holds;
   * true once the image is done.
   */
  step(timeLeft: () => boolean): boolean {
    const { stack, parts } = this;
    let count = 0;
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { kids: readonly Node[]; i: number };
      if (top.i === top.kids.length) {
        parts.push("]}");
        stack.pop();
        continue;
      }
      if (top.i > 0) parts.push(",");
      this.open(top.kids[top.i++] as Node);
      if ((++count & 63) === 0 && !timeLeft()) break;
    }
    const complete = stack.length === 0 && !this.finished;
    if (complete) parts.push("}");
    this.append(parts.join(""));
    this.parts = [];
    if (complete) {
      this.finished = true;
      this.frozen.clear();
      this.onDone(true);
    }
    return this.finished;
  }

  private append(text: string): void {
    // A UTF-16 code unit becomes at most 3 UTF-8 bytes.
    const need = this.size + 3 * text.length;
    if (need > this.out.length) {
      const bigger = new Uint8Array(new SharedArrayBuffer(Math.max(2 * this.out.length, need)));
      bigger.set(this.out.subarray(0, this.size));
      this.out = bigger;
    }
    this.size += this.encoder.encodeInto(text, this.out.subarray(this.size)).written;
  }

  /** Stops taking copies; the writer must not be stepped again. */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    this.frozen.clear();
    this.onDone(false);
  }

  /** The whole image (a view of shared memory), once `step` has returned true. */
  bytes(): Uint8Array {
    return this.out.subarray(0, this.size);
  }

  /** Writes `n`'s fields as of the image, and queues a dir's children. */
  private open(n: Node): void {
    const f = this.frozen.get(n);
    if (f !== undefined) this.frozen.delete(n);
    n.snapshotMark = this.mark;
    this.parts.push(
      `{"path":${JSON.stringify(n.path)},"createdIndex":${n.createdIndex},"modifiedIndex":${f?.modifiedIndex ?? n.modifiedIndex},"expireTime":${f?.expireTime ?? n.expireTime},`,
    );
    if (n.children === null) {
      this.parts.push(`"value":${JSON.stringify(f?.value ?? n.value)}}`);
      return;
    }
    this.parts.push(`"children":[`);
    this.stack.push({ kids: f?.kids ?? Array.from(n.children.values()), i: 0 });
  }
}

interface FrozenNode {
  readonly modifiedIndex: number;
  readonly expireTime: number;
  readonly value: string;
  readonly kids: readonly Node[] | null;
}

const MIN_CAPACITY = 64 * 1024;

/** Distinguishes writers, so a node marked by an earlier snapshot is copied again. */
let nextWriterMark = 1;

class SnapshotError extends Error {
  override name = "SnapshotError";
}

function fail(what: string): never {
  throw new SnapshotError(`store snapshot: bad ${what}`);
}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(what);
  return v as Obj;
}

function int(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) fail(what);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== "string") fail(what);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") fail(what);
  return v;
}

function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) fail(what);
  return v;
}

/** Parses and validates `SnapshotWriter` output. Throws `SnapshotError` on any defect. */
export function decodeSnapshot(json: string): SnapshotState {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    fail("JSON");
  }
  const top = obj(raw, "top level");
  if (top.version !== snapshotVersion) fail("version");
  const currentIndex = int(top.currentIndex, "currentIndex");
  const statsObj = obj(top.stats, "stats");
  const counters = {} as Record<StatsCounter, number>;
  for (const f of statsFields) counters[f] = int(statsObj[f], `stats.${f}`);
  const history = obj(top.history, "history");
  const historyCapacity = int(history.capacity, "history capacity");
  if (historyCapacity <= 0) fail("history capacity");
  const events = arr(history.events, "history events").map(decodeEvent);
  if (events.length > historyCapacity) fail("history length");
  events.forEach((e, i) => {
    const prev = events[i - 1];
    if (prev !== undefined && e.node.modifiedIndex !== prev.node.modifiedIndex + 1)
      fail("history order");
  });
  const last = events[events.length - 1];
  if (last !== undefined && last.node.modifiedIndex !== currentIndex) fail("history end");
  const root = decodeNode(top.root, null, "/");
  if (root.children === null) fail("root");
  return { currentIndex, root, counters, historyCapacity, events };
}

function decodeNode(v: unknown, parent: Node | null, expectedPath: string | null): Node {
  const o = obj(v, "node");
  const path = str(o.path, "node path");
  if (expectedPath !== null && path !== expectedPath) fail(`node path ${path}`);
  const isDir = o.children !== undefined;
  const n = new Node({
    path,
    createdIndex: int(o.createdIndex, "createdIndex"),
    parent,
    expireTime: int(o.expireTime, "expireTime"),
    value: isDir ? null : str(o.value, "value"),
  });
  n.modifiedIndex = int(o.modifiedIndex, "modifiedIndex");
  if (n.children === null) return n;
  const prefix = path === "/" ? "/" : `${path}/`;
  for (const c of arr(o.children, "children")) {
    const child = decodeNode(c, n, null);
    const name = child.name();
    if (name === "" || child.path !== prefix + name || n.children.has(name))
      fail(`child ${child.path}`);
    n.children.set(name, child);
  }
  return n;
}

const actions: ReadonlySet<string> = new Set<Action>([
  "get",
  "create",
  "set",
  "update",
  "delete",
  "compareAndSwap",
  "compareAndDelete",
  "expire",
]);

function decodeEvent(v: unknown): Event {
  const o = obj(v, "event");
  const action = str(o.action, "event action");
  if (!actions.has(action)) fail(`event action ${action}`);
  return {
    action: action as Action,
    node: decodeView(o.node),
    prevNode: o.prevNode === undefined ? undefined : decodeView(o.prevNode),
    etcdIndex: int(o.etcdIndex, "event etcdIndex"),
    refresh: bool(o.refresh, "event refresh"),
  };
}

function decodeView(v: unknown): NodeView {
  const o = obj(v, "event node");
  if (o.nodes !== undefined) fail("event node listing");
  return {
    key: str(o.key, "event key"),
    value: o.value === undefined ? undefined : str(o.value, "event value"),
    dir: bool(o.dir, "event dir"),
    expireTime: int(o.expireTime, "event expireTime"),
    nodes: undefined,
    modifiedIndex: int(o.modifiedIndex, "event modifiedIndex"),
    createdIndex: int(o.createdIndex, "event createdIndex"),
  };
}
