/**
 * etcd's send and receive rates of append requests (`/v2/stats/self`'s `sendPkgRate`,
 * `sendBandwidthRate`, `recvPkgRate`, `recvBandwidthRate`): over the last 200 requests, their
 * count and bytes per second across the time they span; 0 (and so left out of the JSON) once
 * none came for a second, or while there is only one.
 */
import type { MsgApp } from "../raft/types.ts";

const CAPACITY = 200;
const STALE_MS = 1000;

export interface Rates {
  /** Requests per second. */
  readonly pkg: number;
  /** Bytes per second. */
  readonly bandwidth: number;
}

export class RateWindow {
  private readonly times = new Float64Array(CAPACITY);
  private readonly sizes = new Float64Array(CAPACITY);
  /** Where the next record goes; records are [next - count, next). */
  private next = 0;
  private count = 0;
  private bytes = 0;

  constructor(private readonly now: () => number) {}

  record(bytes: number): void {
    if (this.count === CAPACITY) this.bytes -= this.sizes[this.next] ?? 0;
    else this.count++;
    this.times[this.next] = this.now();
    this.sizes[this.next] = bytes;
    this.bytes += bytes;
    this.next = (this.next + 1) % CAPACITY;
  }

  rates(): Rates {
    if (this.count === 0) return { pkg: 0, bandwidth: 0 };
    const last = this.times[(this.next + CAPACITY - 1) % CAPACITY] ?? 0;
    if (this.now() - last > STALE_MS) {
      this.count = 0;
      this.bytes = 0;
      return { pkg: 0, bandwidth: 0 };
    }
    const first = this.times[(this.next + CAPACITY - this.count) % CAPACITY] ?? 0;
    const spanS = (last - first) / 1000;
    if (spanS <= 0) return { pkg: 0, bandwidth: 0 };
    return { pkg: this.count / spanS, bandwidth: this.bytes / spanS };
  }
}

/**
 * An append request's size as etcd counts it (its protobuf encoding): the entries' data with a
 * few bytes each for term, index and type, and the message's own fields.
 */
export function appendSize(m: MsgApp): number {
  let bytes = 32;
  for (const e of m.entries) bytes += e.data.byteLength + 16;
  return bytes;
}
