/**
 * The v2 store (a port of etcd's `store.go`): a tree of nodes with one global index, TTLs,
 * compare-and-swap/delete, an event history and watchers. Deterministic: every operation is a
 * function of the tree and its arguments; expiry happens only in `deleteExpiredKeys(cutoff)`
 * with a cutoff taken from the applied request; rendering takes its clock as an argument.
 *
 * Stats quirk, kept on purpose and checked against etcd 3.4: some rejected operations count as
 * successes because etcd's deferred counter only sees errors assigned to its `err` variable:
 * update/compareAndSwap/delete on a read-only root, update with a value on a dir, and
 * compareAndDelete on a dir or with a failed compare. A create that meets a file on its path
 * also counts a `setsFail`.
 */
import { assert } from "../util/assert.ts";
import { ErrorCode, EtcdError } from "./errors.ts";
import type { Event, NodeView } from "./event.ts";
import { EventHistory, eventHistoryCapacityDefault } from "./event-history.ts";
import { Node } from "./node.ts";
import { cleanStorePath, split } from "./path.ts";
import { decodeSnapshot, SnapshotWriter } from "./snapshot.ts";
import { newCounters, type StatsCounter, type StoreStats, statsFields } from "./stats.ts";
import { TtlHeap } from "./ttl-heap.ts";
import { type OnEvent, type OnRemoved, type Watcher, WatcherHub } from "./watcher-hub.ts";

export type { Watcher, WatchOptions } from "./watcher-hub.ts";

/** Wall-clock source in ms since the epoch; injected so tests and replicas control time. */
export interface Clock {
  now(): number;
}

/** TTL of a write: `expireTime` in ms since the epoch (0 = permanent); `refresh` keeps the value. */
export interface ExpireOptions {
  readonly expireTime: number;
  readonly refresh: boolean;
}

export const permanent: ExpireOptions = { expireTime: 0, refresh: false };

/**
 * 2000-01-01T00:00:00Z. Creates with an earlier expire time make a permanent node: etcd's guard
 * against clients that serialise a zero time.
 */
export const minExpireTimeMs = 946_684_800_000;

/** etcd's top-level namespaces: /0 cluster metadata, /1 user keys (/2 auth is made on demand). */
export const defaultNamespaces: readonly string[] = ["/0", "/1"];

export interface StoreOptions {
  readonly namespaces?: readonly string[];
  readonly historyCapacity?: number;
}

export class Store {
  private root: Node;
  private currentIndex = 0;
  private heap = new TtlHeap<Node>();
  private hub: WatcherHub;
  private counters = newCounters();
  /** Watch requests so far, refused ones included (etcd_debugging_store_watch_requests_total). */
  watchRequests = 0;
  /** "/" and the namespaces: user operations may not change them (error 107). */
  private readonly readonlyPaths: ReadonlySet<string>;
  /** An error that etcd counts as a success of the operation (see the module comment). */
  private quirkSuccess = false;
  /** The snapshot being written, which must see every node before it changes. */
  private writer: SnapshotWriter | null = null;
  /** Size of the last snapshot image written or restored: the next one's first guess. */
  private lastImageBytes = 0;
  /** Called before any change to a node (also passed to Node.remove; bound once). */
  private readonly beforeChange = (n: Node): void => this.writer?.preserve(n);
  /** Changes per top-level dir and restores, for `revisionOf`. */
  private readonly changesByTop = new Map<string, number>();
  private restores = 0;

  constructor(options: StoreOptions = {}) {
    const namespaces = options.namespaces ?? defaultNamespaces;
    this.root = new Node({ path: "/", createdIndex: 0, parent: null, expireTime: 0, value: null });
    for (const ns of namespaces) {
      assert(cleanStorePath(ns) === ns && ns.lastIndexOf("/") === 0, `bad namespace ${ns}`);
      const dir = new Node({
        path: ns,
        createdIndex: 0,
        parent: this.root,
        expireTime: 0,
        value: null,
      });
      this.root.children?.set(dir.name(), dir);
    }
    this.readonlyPaths = new Set(["/", ...namespaces]);
    this.hub = new WatcherHub(
      new EventHistory(options.historyCapacity ?? eventHistoryCapacityDefault),
    );
  }

  /**
   * A number that changes whenever something under the top-level dir `top` (e.g. "/2") changes,
   * or the whole store is restored: callers cache what they parsed from that part of the tree.
   */
  revisionOf(top: string): number {
    return (this.changesByTop.get(top) ?? 0) + this.restores * 2 ** 32;
  }

  private changed(e: Event): void {
    const key = e.node.key;
    const slash = key.indexOf("/", 1);
    const top = slash === -1 ? key : key.slice(0, slash);
    this.changesByTop.set(top, (this.changesByTop.get(top) ?? 0) + 1);
    this.hub.notify(e);
  }

  /** The current store index: the index of the last change. */
  index(): number {
    return this.currentIndex;
  }

  /** Counters of `/v2/stats/store`, with the live watcher count. */
  get stats(): StoreStats {
    return { ...this.counters, watchers: this.hub.count };
  }

  /** True while some node has a TTL (the server then proposes periodic SYNCs). */
  hasTTLKeys(): boolean {
    return this.heap.length !== 0;
  }

  /** Whether a node is at `path` (hidden and internal ones too); 104 if a file is on the way. */
  has(path: string): boolean {
    return typeof this.find(cleanStorePath(path)) !== "number";
  }

  /** Reads a node; a dir lists its visible children (all levels when `recursive`). */
  get(path: string, recursive: boolean, sorted: boolean): Event {
    const p = cleanStorePath(path);
    let n: Node;
    try {
      n = this.internalGet(p);
    } catch (err) {
      this.counters.getsFail++;
      throw err;
    }
    this.counters.getsSuccess++;
    return {
      action: "get",
      node: n.listing(recursive, sorted),
      prevNode: undefined,
      etcdIndex: this.currentIndex,
      refresh: false,
    };
  }

  /** Creates a node that must not exist; `unique` appends "/<20-digit next index>" (POST). */
  create(path: string, dir: boolean, value: string, unique: boolean, opts: ExpireOptions): Event {
    return this.counted("createSuccess", "createFail", () => {
      const e = this.internalCreate({
        path,
        dir,
        value,
        unique,
        replace: false,
        opts,
        action: "create",
      });
      this.changed(e);
      return e;
    });
  }

  /** Creates or replaces a file, or replaces a file by a dir; a dir in the way is 102. */
  set(path: string, dir: boolean, value: string, opts: ExpireOptions): Event {
    return this.counted("setsSuccess", "setsFail", () => {
      const p = cleanStorePath(path);
      const found = this.find(p);
      if (typeof found === "number" && opts.refresh) {
        throw new EtcdError(ErrorCode.keyNotFound, p.slice(0, found), this.currentIndex);
      }
      const prev = typeof found === "number" ? undefined : found;
      // A refresh keeps the old value (and re-creates the node, as etcd does).
      const v = opts.refresh && prev !== undefined ? prev.value : value;
      const e = this.internalCreate({
        path,
        dir,
        value: v,
        unique: false,
        replace: true,
        opts,
        action: "set",
      });
      if (opts.refresh) this.hub.add(e);
      else this.changed(e);
      return e;
    });
  }

  /** Changes a file's value and TTL, or a dir's TTL (an update without TTL removes it). */
  update(path: string, value: string, opts: ExpireOptions): Event {
    return this.counted("updateSuccess", "updateFail", () => {
      const p = this.writablePath(path);
      const n = this.internalGet(p);
      const nextIndex = this.currentIndex + 1;
      if (n.isDir() && value.length !== 0) {
        this.quirkSuccess = true;
        throw new EtcdError(ErrorCode.notFile, p, this.currentIndex);
      }
      const newValue = opts.refresh ? n.value : value;
      const prevNode = n.view(false, false);
      // etcd ignores the failed write on a dir: the event gets the new index, the dir does not.
      if (!n.isDir()) {
        this.beforeChange(n);
        n.value = newValue;
        n.modifiedIndex = nextIndex;
      }
      this.updateTtl(n, opts.expireTime);
      const e: Event = {
        action: "update",
        node: this.changedView(n, p, n.isDir() ? undefined : newValue, nextIndex),
        prevNode,
        etcdIndex: nextIndex,
        refresh: opts.refresh,
      };
      this.currentIndex = nextIndex;
      if (opts.refresh) this.hub.add(e);
      else this.changed(e);
      return e;
    });
  }

  /** Replaces a file's value if `prevValue` ("" = any) and `prevIndex` (0 = any) both match. */
  compareAndSwap(
    path: string,
    prevValue: string,
    prevIndex: number,
    value: string,
    opts: ExpireOptions,
  ): Event {
    return this.counted("compareAndSwapSuccess", "compareAndSwapFail", () => {
      const p = this.writablePath(path);
      const n = this.internalGet(p);
      if (n.isDir()) throw new EtcdError(ErrorCode.notFile, p, this.currentIndex);
      const cause = compareFailCause(n, prevValue, prevIndex);
      if (cause !== "") throw new EtcdError(ErrorCode.testFailed, cause, this.currentIndex);
      const newValue = opts.refresh ? n.value : value;
      this.currentIndex++;
      const prevNode = n.view(false, false);
      this.beforeChange(n);
      n.value = newValue;
      n.modifiedIndex = this.currentIndex;
      this.updateTtl(n, opts.expireTime);
      const e: Event = {
        action: "compareAndSwap",
        node: this.changedView(n, p, newValue, this.currentIndex),
        prevNode,
        etcdIndex: this.currentIndex,
        refresh: opts.refresh,
      };
      if (opts.refresh) this.hub.add(e);
      else this.changed(e);
      return e;
    });
  }

  /** Deletes a file; a dir needs `dir` (empty) or `recursive` (which implies `dir`). */
  delete(path: string, dir: boolean, recursive: boolean): Event {
    return this.counted("deleteSuccess", "deleteFail", () => {
      const p = this.writablePath(path);
      const n = this.internalGet(p);
      const e = this.removalEvent("delete", n, this.currentIndex + 1);
      this.detach(n, e, { dir: dir || recursive, recursive });
      this.currentIndex++;
      this.changed(e);
      return e;
    });
  }

  /** Deletes a file if `prevValue` ("" = any) and `prevIndex` (0 = any) both match. */
  compareAndDelete(path: string, prevValue: string, prevIndex: number): Event {
    return this.counted("compareAndDeleteSuccess", "compareAndDeleteFail", () => {
      // No read-only check here, as in etcd: "/1" is a dir, so it fails with 102.
      const p = cleanStorePath(path);
      const n = this.internalGet(p);
      if (n.isDir()) {
        this.quirkSuccess = true;
        throw new EtcdError(ErrorCode.notFile, p, this.currentIndex);
      }
      const cause = compareFailCause(n, prevValue, prevIndex);
      if (cause !== "") {
        this.quirkSuccess = true;
        throw new EtcdError(ErrorCode.testFailed, cause, this.currentIndex);
      }
      this.currentIndex++;
      const e = this.removalEvent("compareAndDelete", n, this.currentIndex);
      this.detach(n, e, { dir: false, recursive: false });
      this.changed(e);
      return e;
    });
  }

  /**
   * Removes every node whose expire time is ≤ `cutoffMs`, earliest first, each with its own
   * `expire` event and index. Watchers inside an expired dir receive the dir's event.
   */
  deleteExpiredKeys(cutoffMs: number): void {
    for (
      let n = this.heap.top();
      n !== undefined && n.expireTime <= cutoffMs;
      n = this.heap.top()
    ) {
      this.currentIndex++;
      const e = this.removalEvent("expire", n, this.currentIndex);
      this.heap.pop();
      this.detach(n, e, { dir: true, recursive: true });
      this.counters.expireCount++;
      this.changed(e);
    }
    this.hub.flush();
  }

  /**
   * Watches `key` (exactly, or its subtree when `recursive`) from `sinceIndex` (0 = next
   * change). Throws 401 when `sinceIndex` predates the history. Callbacks never run inside a
   * store operation: an event already in history is delivered before `watch()` returns (or,
   * when called from another watcher's callback, right after that callback), live events
   * right after the operation that caused them. A one-shot watcher is removed after its event
   * (then `onRemoved` runs); a stream watcher stays until `remove()`.
   */
  watch(
    opts: { key: string; recursive: boolean; stream: boolean; sinceIndex: number },
    onEvent: OnEvent,
    onRemoved: OnRemoved,
  ): Watcher {
    this.watchRequests++;
    const key = cleanStorePath(opts.key);
    const sinceIndex = opts.sinceIndex === 0 ? this.currentIndex + 1 : opts.sinceIndex;
    assert(Number.isSafeInteger(sinceIndex) && sinceIndex > 0, `watch: bad index ${sinceIndex}`);
    const w = this.hub.watch(
      { key, recursive: opts.recursive, stream: opts.stream, sinceIndex },
      this.currentIndex,
      onEvent,
      onRemoved,
    );
    this.hub.flush();
    return w;
  }

  /** The whole state (tree, index, stats, history) as JSON; watchers are not saved. */
  save(): string {
    const writer = this.beginSnapshot();
    writer.step(() => true);
    return new TextDecoder().decode(writer.bytes());
  }

  /**
   * Starts writing the current state as `save()` does, a slice per `step()`, while operations
   * go on (they do not show in the image). One writer at a time.
   */
  beginSnapshot(): SnapshotWriter {
    assert(this.writer === null, "beginSnapshot: a snapshot is already being written");
    const writer = new SnapshotWriter(
      {
        currentIndex: this.currentIndex,
        root: this.root,
        counters: this.counters,
        historyCapacity: this.hub.history.capacity,
        events: this.hub.history.all(),
      },
      this.lastImageBytes,
      (complete) => {
        if (this.writer === writer) this.writer = null;
        if (complete) this.lastImageBytes = writer.bytes().length;
      },
    );
    this.writer = writer;
    return writer;
  }

  /**
   * Builds a store from `save()` output (see `restore`). Throws on malformed input.
   */
  static recover(json: string, options: StoreOptions = {}): Store {
    const s = new Store(options);
    s.restore(json);
    return s;
  }

  /**
   * Replaces tree, index, counters and history with `save()` output, keeping the registered
   * watchers (etcd's `Recovery` does too: a follower that installs a snapshot keeps its
   * clients' watches). TTL nodes, even already expired ones, go at the next
   * `deleteExpiredKeys`. Throws before changing anything if the input is malformed.
   */
  restore(json: string): void {
    const snap = decodeSnapshot(json);
    this.lastImageBytes = json.length;
    const history = new EventHistory(snap.historyCapacity);
    for (const e of snap.events) history.add(e);
    const heap = new TtlHeap<Node>();
    const queue: Node[] = [snap.root];
    for (let n = queue.pop(); n !== undefined; n = queue.pop()) {
      if (n.expireTime !== 0) heap.push(n);
      if (n.children !== null) queue.push(...n.children.values());
    }
    this.root = snap.root;
    this.currentIndex = snap.currentIndex;
    this.restores++;
    this.heap = heap;
    this.hub.history = history;
    for (const f of statsFields) this.counters[f] = snap.counters[f];
  }

  /** Runs a write, counting it as etcd does, and delivers its notifications afterwards. */
  private counted(success: StatsCounter, fail: StatsCounter, op: () => Event): Event {
    let e: Event;
    this.quirkSuccess = false;
    try {
      e = op();
    } catch (err) {
      this.counters[this.quirkSuccess ? success : fail]++;
      this.quirkSuccess = false;
      throw err;
    }
    this.counters[success]++;
    this.hub.flush();
    return e;
  }

  /** Cleans `path` and rejects the read-only roots (107, counted as a success by etcd). */
  private writablePath(path: string): string {
    const p = cleanStorePath(path);
    if (this.readonlyPaths.has(p)) {
      this.quirkSuccess = true;
      throw new EtcdError(ErrorCode.rootReadOnly, "/", this.currentIndex);
    }
    return p;
  }

  /** The node at clean path `p`: 100 if missing, 104 if a file is on the way. */
  private internalGet(p: string): Node {
    const found = this.find(p);
    if (typeof found === "number") {
      throw new EtcdError(ErrorCode.keyNotFound, p.slice(0, found), this.currentIndex);
    }
    return found;
  }

  /**
   * The node at clean path `p`, or where the first missing component ends; 104 if a file is on
   * the way. No throw for a missing key: a set of a new key would pay for an Error's stack.
   */
  private find(p: string): Node | number {
    let curr = this.root;
    let start = 1;
    while (start < p.length) {
      let end = p.indexOf("/", start);
      if (end === -1) end = p.length;
      const children = curr.children;
      if (children === null) throw new EtcdError(ErrorCode.notDir, curr.path, this.currentIndex);
      const child = children.get(p.slice(start, end));
      if (child === undefined) return end;
      curr = child;
      start = end + 1;
    }
    return curr;
  }

  /** The dir at clean dir path `p` (ending in "/"), creating missing permanent dirs. */
  private ensureDir(p: string, createdIndex: number): Node {
    let curr = this.root;
    let start = 1;
    while (start < p.length) {
      const end = p.indexOf("/", start);
      assert(end !== -1, `ensureDir: ${p} must end with "/"`);
      const children = curr.children as Map<string, Node>;
      const name = p.slice(start, end);
      let child = children.get(name);
      if (child === undefined) {
        const path = p.slice(0, end);
        child = new Node({ path, createdIndex, parent: curr, expireTime: 0, value: null });
        this.beforeChange(curr);
        children.set(name, child);
      } else if (!child.isDir()) {
        this.counters.setsFail++;
        throw new EtcdError(ErrorCode.notDir, child.path, this.currentIndex);
      }
      curr = child;
      start = end + 1;
    }
    return curr;
  }

  private internalCreate(args: {
    path: string;
    dir: boolean;
    value: string;
    unique: boolean;
    replace: boolean;
    opts: ExpireOptions;
    action: "create" | "set";
  }): Event {
    const nextIndex = this.currentIndex + 1;
    const raw = args.unique ? `${args.path}/${String(nextIndex).padStart(20, "0")}` : args.path;
    const p = cleanStorePath(raw);
    if (this.readonlyPaths.has(p)) {
      throw new EtcdError(ErrorCode.rootReadOnly, "/", this.currentIndex);
    }
    const expireTime = args.opts.expireTime < minExpireTimeMs ? 0 : args.opts.expireTime;
    const [dirName, name] = split(p);
    const parent = this.ensureDir(dirName, nextIndex);
    const parentChildren = parent.children as Map<string, Node>;
    const existing = parentChildren.get(name);
    let prevNode: NodeView | undefined;
    if (existing !== undefined) {
      if (!args.replace) throw new EtcdError(ErrorCode.nodeExist, p, this.currentIndex);
      if (existing.isDir()) throw new EtcdError(ErrorCode.notFile, p, this.currentIndex);
      prevNode = existing.view(false, false);
      existing.remove({
        ...removeQuietly,
        heap: this.heap,
        currentIndex: this.currentIndex,
        beforeChange: this.beforeChange,
      });
    }
    const value = args.dir ? null : args.value;
    const n = new Node({ path: p, createdIndex: nextIndex, parent, expireTime, value });
    this.beforeChange(parent);
    parentChildren.set(name, n);
    if (expireTime !== 0) this.heap.push(n);
    this.currentIndex = nextIndex;
    return {
      action: args.action,
      node: this.changedView(n, p, args.dir ? undefined : args.value, nextIndex),
      prevNode,
      etcdIndex: nextIndex,
      refresh: args.opts.refresh,
    };
  }

  /** etcd's `UpdateTTL`: 0 makes the node permanent; the heap follows. */
  private updateTtl(n: Node, expireTime: number): void {
    this.beforeChange(n);
    if (n.expireTime !== 0) {
      n.expireTime = expireTime;
      if (expireTime === 0) this.heap.remove(n);
      else this.heap.update(n);
      return;
    }
    if (expireTime === 0) return;
    n.expireTime = expireTime;
    this.heap.push(n);
  }

  /** The `node` of a write event: the node after the change, reported at `modifiedIndex`. */
  private changedView(
    n: Node,
    key: string,
    value: string | undefined,
    modifiedIndex: number,
  ): NodeView {
    return {
      key,
      value,
      dir: n.isDir(),
      expireTime: n.expireTime,
      nodes: undefined,
      modifiedIndex,
      createdIndex: n.createdIndex,
    };
  }

  /** A delete/compareAndDelete/expire event: `node` carries only key, dir and indexes. */
  private removalEvent(
    action: "delete" | "compareAndDelete" | "expire",
    n: Node,
    index: number,
  ): Event {
    const node: NodeView = {
      key: n.path,
      value: undefined,
      dir: n.isDir(),
      expireTime: 0,
      nodes: undefined,
      modifiedIndex: index,
      createdIndex: n.createdIndex,
    };
    return { action, node, prevNode: n.view(false, false), etcdIndex: index, refresh: false };
  }

  /** Removes `n`, offering `e` to the watchers of every removed path. */
  private detach(n: Node, e: Event, mode: { dir: boolean; recursive: boolean }): void {
    n.remove({
      ...mode,
      heap: this.heap,
      currentIndex: this.currentIndex,
      onRemoved: (path) => this.hub.notifyWatchers(e, path, true),
      beforeChange: this.beforeChange,
    });
  }
}

const removeQuietly = { dir: false, recursive: false, onRemoved: null };

/** "" when both conditions hold; else etcd's cause text naming the failed condition(s). */
function compareFailCause(n: Node, prevValue: string, prevIndex: number): string {
  const indexMatch = prevIndex === 0 || n.modifiedIndex === prevIndex;
  const valueMatch = prevValue === "" || n.value === prevValue;
  if (indexMatch && valueMatch) return "";
  if (indexMatch) return `[${prevValue} != ${n.value}]`;
  if (valueMatch) return `[${prevIndex} != ${n.modifiedIndex}]`;
  return `[${prevValue} != ${n.value}] [${prevIndex} != ${n.modifiedIndex}]`;
}
