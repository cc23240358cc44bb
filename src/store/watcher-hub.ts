/**
 * Watchers and their notification (etcd's `watcherHub` + `watcher`). A watcher is registered
 * under the exact path it watches; a change at K is offered to watchers on every ancestor of
 * K (recursive ones take it) and, for deletes/expiries, to watchers on every removed path.
 *
 * Delivery is deferred to `flush()`, which the store calls once an operation has completed, so
 * callbacks always see a consistent store and may call back into it; nested flushes append to
 * the same queue, keeping each watcher's events in index order.
 */
import { assert } from "../util/assert.ts";
import { EtcdError } from "./errors.ts";
import { type Event, eventIndex } from "./event.ts";
import type { EventHistory } from "./event-history.ts";

export interface WatchOptions {
  /** Absolute store path (cleaned by the store). */
  readonly key: string;
  readonly recursive: boolean;
  readonly stream: boolean;
  /** First index of interest; 0 = the store's current index + 1. */
  readonly sinceIndex: number;
}

export interface Watcher {
  /** Store index when the watch started (the X-Etcd-Index of a watch response). */
  readonly startIndex: number;
  /** Stops delivery. Idempotent; does not call `onRemoved`. */
  remove(): void;
}

export type OnEvent = (e: Event) => void;
export type OnRemoved = () => void;

class HubWatcher implements Watcher {
  /** No longer registered in the hub (fired once, history hit, or cancelled). */
  removed = false;
  /** The owner called `remove()`: queued callbacks are dropped. */
  cancelled = false;

  constructor(
    private readonly hub: WatcherHub,
    readonly key: string,
    readonly opts: { recursive: boolean; stream: boolean; sinceIndex: number },
    readonly startIndex: number,
    readonly onEvent: OnEvent,
    readonly onRemoved: OnRemoved,
  ) {}

  remove(): void {
    this.cancelled = true;
    this.hub.unregister(this);
  }

  /** etcd's `watcher.notify` condition. */
  wants(e: Event, originalPath: boolean, deleted: boolean): boolean {
    return (
      (this.opts.recursive || originalPath || deleted) && eventIndex(e) >= this.opts.sinceIndex
    );
  }
}

/** A pending callback: an event, or `null` for "the store removed this watcher". */
type Delivery = [HubWatcher, Event | null];

export class WatcherHub {
  /** Replaced wholesale when the store restores a snapshot (watchers stay registered). */
  history: EventHistory;
  private readonly watchers = new Map<string, Set<HubWatcher>>();
  private readonly queue: Delivery[] = [];
  private flushing = false;
  /** Registered watchers (the `watchers` stat). */
  count = 0;

  constructor(history: EventHistory) {
    this.history = history;
  }

  /**
   * Starts a watch at `sinceIndex` (already resolved, never 0). A matching event in history is
   * queued at once: a one-shot watcher is then done and never registered; a stream watcher
   * gets only that event and is not registered either (etcd 3.4 behaves so: verified).
   */
  watch(opts: WatchOptions, storeIndex: number, onEvent: OnEvent, onRemoved: OnRemoved): Watcher {
    assert(opts.sinceIndex > 0, "watch: sinceIndex must be resolved");
    let hit: Event | undefined;
    try {
      hit = this.history.scan(opts.key, opts.recursive, opts.sinceIndex);
    } catch (err) {
      if (err instanceof EtcdError) err.index = storeIndex;
      throw err;
    }
    const w = new HubWatcher(this, opts.key, opts, storeIndex, onEvent, onRemoved);
    if (hit !== undefined) {
      w.removed = true;
      this.queue.push([w, { ...hit, etcdIndex: storeIndex }]);
      if (!opts.stream) this.queue.push([w, null]);
      return w;
    }
    let set = this.watchers.get(opts.key);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(opts.key, set);
    }
    set.add(w);
    this.count++;
    return w;
  }

  unregister(w: HubWatcher): void {
    if (w.removed) return;
    w.removed = true;
    const set = this.watchers.get(w.key);
    assert(set?.delete(w) === true, `watcher on ${w.key} missing from hub`);
    if (set.size === 0) this.watchers.delete(w.key);
    this.count--;
  }

  /** Records a refresh event in history without notifying anyone (etcd's `add`). */
  add(e: Event): void {
    this.history.add(e);
  }

  /** Records `e` and offers it to watchers on the event's path and all its ancestors. */
  notify(e: Event): void {
    this.history.add(e);
    const key = e.node.key;
    this.notifyWatchers(e, "/", false);
    let slash = key.indexOf("/", 1);
    while (slash !== -1) {
      this.notifyWatchers(e, key.slice(0, slash), false);
      slash = key.indexOf("/", slash + 1);
    }
    if (key !== "/") this.notifyWatchers(e, key, false);
  }

  /** Offers `e` to the watchers registered exactly at `path`; `deleted` = path was removed. */
  notifyWatchers(e: Event, path: string, deleted: boolean): void {
    const set = this.watchers.get(path);
    if (set === undefined) return;
    const originalPath = e.node.key === path;
    if (!originalPath && isHidden(path, e.node.key)) return;
    for (const w of set) {
      if (!w.wants(e, originalPath, deleted)) continue;
      this.queue.push([w, e]);
      if (w.opts.stream) continue;
      w.removed = true;
      set.delete(w);
      this.count--;
      this.queue.push([w, null]);
    }
    if (set.size === 0) this.watchers.delete(path);
  }

  /**
   * Runs queued callbacks in order; re-entrant calls (a callback that writes to the store)
   * leave the work to the outer loop. Callbacks of a watcher removed meanwhile are dropped.
   */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    const queue = this.queue;
    let done = 0;
    try {
      while (done < queue.length) {
        const [w, e] = queue[done] as Delivery;
        done++;
        if (w.cancelled) continue;
        if (e === null) w.onRemoved();
        else w.onEvent(e);
      }
    } finally {
      queue.splice(0, done);
      this.flushing = false;
    }
  }
}

/**
 * etcd's `isHidden`: is `keyPath` hidden from a watcher at its ancestor `watchPath`, i.e. does
 * any element below `watchPath` start with "_"? False when the watcher is below the key
 * (a deleted dir notifying watchers inside it).
 */
export function isHidden(watchPath: string, keyPath: string): boolean {
  if (watchPath.length > keyPath.length) return false;
  const rest = keyPath.slice(watchPath.length);
  return rest.charCodeAt(0) === 95 || rest.includes("/_");
}
