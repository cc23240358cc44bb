/**
 * Min-heap of nodes with a TTL, ordered by (expireTime, path). The path tie-break makes the
 * expiry order a pure function of the tree, so a member that recovered from a snapshot expires
 * keys in the same order (and thus at the same indexes) as one that never restarted. etcd
 * breaks ties by heap history and Go map order; only the order of equal deadlines differs.
 */
import { assert } from "../util/assert.ts";

/** What the heap needs of a node; `heapIndex` is owned by the heap (-1 = not in it). */
export interface HeapEntry {
  readonly path: string;
  expireTime: number;
  heapIndex: number;
}

function less(a: HeapEntry, b: HeapEntry): boolean {
  if (a.expireTime !== b.expireTime) return a.expireTime < b.expireTime;
  return a.path < b.path;
}

export class TtlHeap<T extends HeapEntry> {
  private readonly items: T[] = [];

  get length(): number {
    return this.items.length;
  }

  top(): T | undefined {
    return this.items[0];
  }

  push(n: T): void {
    assert(n.heapIndex === -1, `ttl heap: ${n.path} pushed twice`);
    assert(n.expireTime !== 0, `ttl heap: ${n.path} is permanent`);
    n.heapIndex = this.items.length;
    this.items.push(n);
    this.up(n.heapIndex);
  }

  pop(): T | undefined {
    const first = this.items[0];
    if (first !== undefined) this.remove(first);
    return first;
  }

  /** Removes `n` if present (etcd removes unconditionally; a missing node is a no-op). */
  remove(n: T): void {
    const i = n.heapIndex;
    if (i === -1) return;
    assert(this.items[i] === n, `ttl heap: ${n.path} index out of sync`);
    const last = this.items.pop();
    assert(last !== undefined, "ttl heap: pop from empty heap");
    n.heapIndex = -1;
    if (last === n) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.fix(i);
  }

  /** Restores order after `n.expireTime` changed. */
  update(n: T): void {
    assert(n.heapIndex !== -1 && this.items[n.heapIndex] === n, `ttl heap: ${n.path} not in heap`);
    this.fix(n.heapIndex);
  }

  private fix(i: number): void {
    if (!this.down(i)) this.up(i);
  }

  private up(start: number): void {
    const items = this.items;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const a = items[i] as T;
      const b = items[parent] as T;
      if (!less(a, b)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Sifts down; returns true if the element moved. */
  private down(start: number): boolean {
    const items = this.items;
    const n = items.length;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let child = l;
      const r = l + 1;
      if (r < n && less(items[r] as T, items[l] as T)) child = r;
      if (!less(items[child] as T, items[i] as T)) break;
      this.swap(i, child);
      i = child;
    }
    return i > start;
  }

  private swap(i: number, j: number): void {
    const a = this.items[i] as T;
    const b = this.items[j] as T;
    this.items[i] = b;
    this.items[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }
}
