/**
 * Events and node views: the immutable, external picture of a store change (etcd's `Event`
 * and `NodeExtern`). Events are shared between the history, watchers and responses, so nothing
 * may mutate one after the store created it.
 */

export type Action =
  | "get"
  | "create"
  | "set"
  | "update"
  | "delete"
  | "compareAndSwap"
  | "compareAndDelete"
  | "expire";

/**
 * A node as reported to clients. Keys are full store paths (with the `/1` prefix; render.ts
 * trims it). `expireTime` is ms since the epoch, 0 = permanent; ttl is derived when rendering.
 */
export interface NodeView {
  readonly key: string;
  /** Files only (may be ""); undefined for dirs and for delete/expire `node`s. */
  readonly value: string | undefined;
  readonly dir: boolean;
  readonly expireTime: number;
  /** Children of a listed dir (hidden ones excluded); undefined when not listed. */
  readonly nodes: readonly NodeView[] | undefined;
  readonly modifiedIndex: number;
  readonly createdIndex: number;
}

export interface Event {
  readonly action: Action;
  readonly node: NodeView;
  readonly prevNode: NodeView | undefined;
  /** Store index to report in X-Etcd-Index for this event. */
  readonly etcdIndex: number;
  /** A TTL refresh: kept in history (so indexes stay contiguous) but never delivered. */
  readonly refresh: boolean;
}

/** The index of the change an event describes (etcd's `Event.Index()`). */
export function eventIndex(e: Event): number {
  return e.node.modifiedIndex;
}

/** True when the event created a key: HTTP 201 instead of 200 (etcd's `IsCreated`). */
export function isCreated(e: Event): boolean {
  return e.action === "create" || (e.action === "set" && e.prevNode === undefined);
}
