/**
 * The in-memory tree (etcd's `node`): files hold a value, dirs hold children. Mutation rules
 * live in store.ts; this module only builds, walks, removes and describes nodes. It does not
 * touch indexes or history.
 */
import { assert } from "../util/assert.ts";
import { ErrorCode, EtcdError } from "./errors.ts";
import type { NodeView } from "./event.ts";
import type { TtlHeap } from "./ttl-heap.ts";

export class Node {
  readonly path: string;
  /** Last path element starts with "_": left out of listings and ancestor watches. */
  readonly hidden: boolean;
  createdIndex: number;
  modifiedIndex: number;
  /** ms since epoch; 0 = permanent. */
  expireTime: number;
  /** File content; "" for dirs. */
  value: string;
  /** Insertion-ordered children for dirs; null for files (etcd lists in Go map order). */
  readonly children: Map<string, Node> | null;
  parent: Node | null;
  /** Position in the TTL heap, -1 when absent (owned by TtlHeap). */
  heapIndex = -1;
  /** The last snapshot writer that reached or copied this node (owned by SnapshotWriter). */
  snapshotMark = 0;

  constructor(opts: {
    path: string;
    createdIndex: number;
    parent: Node | null;
    expireTime: number;
    value: string | null;
  }) {
    assert(Number.isSafeInteger(opts.createdIndex), `node ${opts.path}: bad index`);
    this.path = opts.path;
    this.hidden = opts.path.charCodeAt(opts.path.lastIndexOf("/") + 1) === 95;
    this.createdIndex = opts.createdIndex;
    this.modifiedIndex = opts.createdIndex;
    this.parent = opts.parent;
    this.expireTime = opts.expireTime;
    this.value = opts.value ?? "";
    this.children = opts.value === null ? new Map() : null;
  }

  isDir(): boolean {
    return this.children !== null;
  }

  isPermanent(): boolean {
    return this.expireTime === 0;
  }

  name(): string {
    return this.path.slice(this.path.lastIndexOf("/") + 1);
  }

  /** etcd's `Repr`: this node for a response; dirs list children only when `recursive`. */
  view(recursive: boolean, sorted: boolean): NodeView {
    const children = this.children;
    if (children === null) {
      return {
        key: this.path,
        value: this.value,
        dir: false,
        expireTime: this.expireTime,
        nodes: undefined,
        modifiedIndex: this.modifiedIndex,
        createdIndex: this.createdIndex,
      };
    }
    return {
      key: this.path,
      value: undefined,
      dir: true,
      expireTime: this.expireTime,
      nodes: recursive ? this.listViews(recursive, sorted) : undefined,
      modifiedIndex: this.modifiedIndex,
      createdIndex: this.createdIndex,
    };
  }

  /** etcd's `loadInternalNode`: like `view`, but a dir always lists its direct children. */
  listing(recursive: boolean, sorted: boolean): NodeView {
    if (this.children === null) return this.view(false, false);
    return {
      key: this.path,
      value: undefined,
      dir: true,
      expireTime: this.expireTime,
      nodes: this.listViews(recursive, sorted),
      modifiedIndex: this.modifiedIndex,
      createdIndex: this.createdIndex,
    };
  }

  private listViews(recursive: boolean, sorted: boolean): NodeView[] {
    const out: NodeView[] = [];
    for (const child of (this.children as Map<string, Node>).values()) {
      if (!child.hidden) out.push(child.view(recursive, sorted));
    }
    if (sorted) out.sort(compareViewKeys);
    return out;
  }

  /**
   * etcd's `node.Remove`: detaches this node (and, for dirs, its subtree, children first),
   * dropping TTLs from `heap` and calling `onRemoved(path)` for each detached node. Throws
   * 102 for a dir without `dir`, 108 for a non-empty dir without `recursive`, before any change.
   */
  remove(opts: {
    dir: boolean;
    recursive: boolean;
    heap: TtlHeap<Node>;
    currentIndex: number;
    onRemoved: ((path: string) => void) | null;
    /** Called before a node's child list changes (see SnapshotWriter). */
    beforeChange: (n: Node) => void;
  }): void {
    const children = this.children;
    if (children !== null) {
      if (!opts.dir) throw new EtcdError(ErrorCode.notFile, this.path, opts.currentIndex);
      if (children.size !== 0 && !opts.recursive) {
        throw new EtcdError(ErrorCode.dirNotEmpty, this.path, opts.currentIndex);
      }
      const childOpts = { ...opts, dir: true, recursive: true };
      // Deleting the current entry while iterating a Map is safe in JS.
      for (const child of children.values()) child.remove(childOpts);
    }
    const parent = this.parent;
    const attached = parent?.children?.get(this.name()) === this;
    if (attached && parent !== null) {
      opts.beforeChange(parent);
      parent.children?.delete(this.name());
    }
    // etcd reports a removed file even when detached, a removed dir only when it was attached.
    if (attached || children === null) opts.onRemoved?.(this.path);
    if (this.heapIndex !== -1) opts.heap.remove(this);
  }
}

/** Orders keys by their UTF-8 bytes, as Go's string comparison does. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 puts surrogates (U+10000 and up) below U+E000..U+FFFF; UTF-8 puts them above.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

function compareViewKeys(a: NodeView, b: NodeView): number {
  return compareKeys(a.key, b.key);
}
