/**
 * The last N events across all keys (etcd's `EventHistory`), for watches that start in the
 * past. Every store index has exactly one event, so index → slot is arithmetic.
 */
import { assert } from "../util/assert.ts";
import { ErrorCode, EtcdError } from "./errors.ts";
import { type Event, eventIndex } from "./event.ts";

/**
 * Events kept for `waitIndex` watches. etcd's value: it covers a client reconnecting within
 * about a second at etcd 2's write rates; older requests get error 401 and must re-read.
 */
export const eventHistoryCapacityDefault = 1000;

export class EventHistory {
  readonly capacity: number;
  private readonly events: (Event | undefined)[];
  /** Slot of the oldest event. */
  private front = 0;
  private size = 0;
  /** Index of the oldest kept event (0 while empty). */
  startIndex = 0;
  /** Index of the newest kept event (0 while empty). */
  lastIndex = 0;

  constructor(capacity: number) {
    assert(
      Number.isSafeInteger(capacity) && capacity > 0,
      `event history: bad capacity ${capacity}`,
    );
    this.capacity = capacity;
    this.events = new Array<Event | undefined>(capacity).fill(undefined);
  }

  add(e: Event): void {
    const index = eventIndex(e);
    assert(this.size === 0 || index === this.lastIndex + 1, `event history: gap before ${index}`);
    const back = (this.front + this.size) % this.capacity;
    this.events[back] = e;
    if (this.size === this.capacity) this.front = (this.front + 1) % this.capacity;
    else this.size++;
    this.lastIndex = index;
    this.startIndex = eventIndex(this.events[this.front] as Event);
  }

  /** Oldest first. */
  all(): Event[] {
    const out: Event[] = [];
    for (let i = 0; i < this.size; i++) {
      out.push(this.events[(this.front + i) % this.capacity] as Event);
    }
    return out;
  }

  /**
   * etcd's `scan`: the first non-refresh event at or after `index` that concerns `key`
   * (exact, under it when `recursive`, or a deleted/expired dir whose path prefixes `key`).
   * Hidden keys are not filtered here, as in etcd. Throws 401 (index 0; the caller sets
   * the store index) when `index` predates the history.
   */
  scan(key: string, recursive: boolean, index: number): Event | undefined {
    if (index < this.startIndex) {
      throw new EtcdError(
        ErrorCode.eventIndexCleared,
        `the requested history has been cleared [${this.startIndex}/${index}]`,
        0,
      );
    }
    if (index > this.lastIndex || this.size === 0) return undefined;
    const prefix = key.endsWith("/") ? key : `${key}/`;
    for (let offset = index - this.startIndex; offset < this.size; offset++) {
      const e = this.events[(this.front + offset) % this.capacity] as Event;
      if (e.refresh) continue;
      if (matches(e, key, recursive, prefix)) return e;
    }
    return undefined;
  }
}

function matches(e: Event, key: string, recursive: boolean, prefix: string): boolean {
  const nodeKey = e.node.key;
  if (nodeKey === key) return true;
  if (recursive && nodeKey.startsWith(prefix)) return true;
  // A raw string prefix, as in etcd: a watch on "/foo2" also matches deleting dir "/foo".
  const prev = e.prevNode;
  return (
    (e.action === "delete" || e.action === "expire") &&
    prev !== undefined &&
    prev.dir &&
    key.startsWith(prev.key)
  );
}
