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

export function encodeSnapshot(s: SnapshotState): string {
  const parts: string[] = [
    `{"version":${snapshotVersion},"currentIndex":${s.currentIndex},"stats":`,
    JSON.stringify(s.counters),
    `,"history":{"capacity":${s.historyCapacity},"events":`,
    // NodeView's undefined fields (value, nodes, prevNode) are dropped by JSON.stringify.
    JSON.stringify(s.events),
    `},"root":`,
  ];
  encodeNode(s.root, parts);
  parts.push("}");
  return parts.join("");
}

function encodeNode(n: Node, parts: string[]): void {
  parts.push(
    `{"path":${JSON.stringify(n.path)},"createdIndex":${n.createdIndex},"modifiedIndex":${n.modifiedIndex},"expireTime":${n.expireTime},`,
  );
  if (n.children === null) {
    parts.push(`"value":${JSON.stringify(n.value)}}`);
    return;
  }
  parts.push(`"children":[`);
  let first = true;
  for (const child of n.children.values()) {
    if (!first) parts.push(",");
    first = false;
    encodeNode(child, parts);
  }
  parts.push("]}");
}

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

/** Parses and validates `encodeSnapshot` output. Throws `SnapshotError` on any defect. */
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
