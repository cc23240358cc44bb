/**
 * The outgoing side of the transport for one peer: a long-lived WebSocket stream that carries
 * encoded frames from this member to the peer, in order. Opened when the peer is added and kept
 * up whether or not there is anything to send (as etcd's streams are), re-dialled across the
 * peer's URLs with bounded, jittered exponential backoff, and fed from a
 * bounded queue while dialling or under socket backpressure (the oldest frames are dropped
 * first). The receiver acknowledges frames (a cumulative count); acks give the latency samples
 * and expose half-open connections. Snapshots are POSTed separately (`snapshot-sender.ts`).
 *
 * Must not: interpret Raft messages beyond counting them, or block: every method returns at once.
 */

import { assert } from "../util/assert.ts";
import { CLOSE_BAD_FRAME, CLOSE_REMOVED, handshakeHeaders, RAFT_STREAM_PATH } from "./handshake.ts";
import { LatencyStats } from "./latency.ts";
import type { TransportLimits } from "./limits.ts";
import type { TransportObserver } from "./observer.ts";

/** PEM texts (not paths) for dialling peers over TLS; the member reads the files. */
export interface TlsPem {
  cert?: string;
  key?: string;
  ca?: string;
  /** false toward members with self-signed certificates (auto TLS). */
  rejectUnauthorized?: boolean;
}

export interface PeerLinkOptions {
  localId: string;
  peerId: string;
  clusterId: string;
  urls: readonly string[];
  limits: TransportLimits;
  tls: TlsPem | undefined;
  log: (line: string) => void;
  /** The peer refused the handshake (HTTP status and its body, e.g. 410 "removed member"). */
  onRejected: (status: number, reason: string) => void;
  /** Every URL of the peer failed, or an open stream broke; queued frames were dropped. */
  onUnreachable: () => void;
  observer?: TransportObserver;
}

interface QueuedFrame {
  frame: Uint8Array;
  /** Messages in the frame, for the sent/failed counters. */
  count: number;
}

type LinkState = "idle" | "dialing" | "open" | "waiting" | "stopped";

/** Send timestamps kept for latency samples; acks of older frames give no sample. */
const SENT_AT_RING = 1024;
/** How often a frame queue blocked by socket backpressure is retried (no drain event client-side). */
const DRAIN_POLL_MS = 2;
/** The client WebSocket reports a refused upgrade only in its error message. */
const UPGRADE_STATUS_RE = /Expected 101 status code: (\d{3})/;

/** `http://h:p` → `ws://h:p/raft/stream` (https → wss). */
export function streamUrl(peerUrl: string): string {
  const u = new URL(peerUrl);
  assert(u.protocol === "http:" || u.protocol === "https:", `bad peer URL ${peerUrl}`);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = RAFT_STREAM_PATH;
  return u.toString();
}

export class PeerLink {
  sent = 0;
  failed = 0;
  readonly latency = new LatencyStats();
  activeSince: number | undefined;

  private state: LinkState = "idle";
  private ws: WebSocket | undefined;
  private urls: readonly string[];
  private urlIndex = 0;
  /** The URL of the current (or last) dial. */
  private dialUrl = "";
  private failuresThisRound = 0;
  private backoffMs: number;
  /** The peer refused this member (4xx): its own dialling says nothing about that. */
  private refused = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private drainArmed = false;
  private queue: QueuedFrame[] = [];
  private queuedBytes = 0;
  private framesSent = 0;
  private framesAcked = 0;
  private readonly sentAt = new Float64Array(SENT_AT_RING);
  private lastProblem = "";
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly opts: PeerLinkOptions) {
    assert(opts.urls.length > 0, `peer ${opts.peerId} has no URLs`);
    this.urls = opts.urls;
    this.backoffMs = opts.limits.backoffMsMin;
  }

  get isActive(): boolean {
    return this.state === "open";
  }

  get queuedFrames(): number {
    return this.queue.length;
  }

  /** Queues `frame` (holding `count` messages) for the peer; never blocks. */
  enqueue(frame: Uint8Array, count: number): void {
    if (this.state === "stopped") {
      this.failed += count;
      return;
    }
    // Fast path: nothing queued and the socket has room. A dead stream (ack overdue) is torn
    // down here and the frame waits in the queue for the re-dial.
    if (this.state === "open" && this.queue.length === 0 && !this.ackOverdue()) {
      const ws = this.ws;
      if (ws !== undefined && ws.bufferedAmount < this.opts.limits.socketBufferedBytesHigh) {
        this.write(ws, frame, count);
        return;
      }
    }
    this.queue.push({ frame, count });
    this.queuedBytes += frame.byteLength;
    this.enforceQueueBound();
    if (this.state === "idle") this.dial();
    else if (this.state === "open") this.armDrain();
  }

  /** Dials now if idle, so the stream is up before the first message needs it. */
  connect(): void {
    if (this.state === "idle") this.dial();
  }

  /** The peer just reached this member: end a backoff wait (not a refusal's) and dial now. */
  peerIsUp(): void {
    if (this.refused || (this.state !== "waiting" && this.state !== "idle")) return;
    this.clearTimer();
    this.backoffMs = this.opts.limits.backoffMsMin;
    this.state = "idle";
    this.dial();
  }

  /** Replaces the peer's URLs; an open stream to a URL no longer listed is closed. */
  setUrls(urls: readonly string[]): void {
    assert(urls.length > 0, `peer ${this.opts.peerId} has no URLs`);
    this.urls = urls;
    this.urlIndex = 0;
    if (this.ws !== undefined && !urls.includes(this.dialUrl)) {
      this.dropSocket(1000, "peer URLs changed");
      this.wait(this.opts.limits.backoffMsMin);
    }
  }

  /** Closes the stream and drops queued frames (counted as failed); waits for helpers. */
  async stop(): Promise<void> {
    if (this.state !== "stopped") {
      this.state = "stopped";
      this.clearTimer();
      this.dropSocket(1001, "transport stopped");
      this.dropQueue();
    }
    await Promise.allSettled([...this.pending]);
  }

  private write(ws: WebSocket, frame: Uint8Array, count: number): void {
    ws.send(frame);
    this.opts.observer?.sent(this.opts.peerId, frame.byteLength);
    this.sentAt[this.framesSent % SENT_AT_RING] = performance.now();
    this.framesSent++;
    this.sent += count;
  }

  private enforceQueueBound(): void {
    const { queueFramesMax, queueBytesMax } = this.opts.limits;
    let dropped = 0;
    while (
      this.queue.length > 1 &&
      (this.queue.length > queueFramesMax || this.queuedBytes > queueBytesMax)
    ) {
      const oldest = this.queue.shift() as QueuedFrame;
      this.queuedBytes -= oldest.frame.byteLength;
      this.failed += oldest.count;
      dropped++;
    }
    if (dropped > 0 && this.lastProblem !== "queue full") {
      this.lastProblem = "queue full";
      this.opts.log(`transport: queue to ${this.opts.peerId} full; dropping oldest frames`);
    }
    assert(this.queue.length <= Math.max(1, queueFramesMax), "queue bound broken");
  }

  private flush(): void {
    const ws = this.ws;
    if (this.state !== "open" || ws === undefined) return;
    if (this.ackOverdue()) return;
    const high = this.opts.limits.socketBufferedBytesHigh;
    while (this.queue.length > 0 && ws.bufferedAmount < high) {
      const next = this.queue.shift() as QueuedFrame;
      this.queuedBytes -= next.frame.byteLength;
      this.write(ws, next.frame, next.count);
    }
    if (this.queue.length > 0) this.armDrain();
  }

  private armDrain(): void {
    if (this.drainArmed) return;
    this.drainArmed = true;
    setTimeout(() => {
      this.drainArmed = false;
      this.flush();
    }, DRAIN_POLL_MS);
  }

  /** True (and the stream is torn down) when the oldest unacked frame is too old. */
  private ackOverdue(): boolean {
    if (this.framesAcked === this.framesSent) return false;
    const oldest = Math.max(this.framesAcked, this.framesSent - SENT_AT_RING);
    const age = performance.now() - (this.sentAt[oldest % SENT_AT_RING] as number);
    if (age <= this.opts.limits.ackTimeoutMs) return false;
    this.opts.log(`transport: stream to ${this.opts.peerId} unacknowledged for ${age | 0} ms`);
    this.dropSocket(4000, "ack timeout");
    this.afterLoss();
    return true;
  }

  private onAck(data: unknown): void {
    if (!(data instanceof ArrayBuffer) || (data.byteLength !== 8 && data.byteLength !== 16)) return;
    const view = new DataView(data);
    const n = view.getFloat64(0, true);
    if (!Number.isSafeInteger(n) || n <= this.framesAcked || n > this.framesSent) return;
    // A held-back ack says how long the receiver kept it (receiver.ts, sendAck).
    const heldMs = data.byteLength === 16 ? view.getFloat64(8, true) : 0;
    if (this.framesSent - (n - 1) <= SENT_AT_RING && heldMs >= 0) {
      const sentAt = this.sentAt[(n - 1) % SENT_AT_RING] as number;
      const ms = Math.max(0, performance.now() - sentAt - heldMs);
      this.latency.record(ms);
      this.opts.observer?.roundTrip(this.opts.peerId, ms / 1000);
    }
    this.framesAcked = n;
  }

  private dial(): void {
    assert(this.ws === undefined, "dial with a socket open");
    const url = this.urls[this.urlIndex % this.urls.length] as string;
    this.dialUrl = url;
    const headers = handshakeHeaders({
      clusterId: this.opts.clusterId,
      from: this.opts.localId,
      to: this.opts.peerId,
    });
    const tls = this.opts.tls;
    const ws = new WebSocket(streamUrl(url), {
      headers,
      perMessageDeflate: false,
      ...(tls !== undefined ? { tls } : {}),
    });
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.state = "dialing";
    this.timer = setTimeout(() => {
      if (this.ws === ws && this.state === "dialing") ws.terminate();
    }, this.opts.limits.dialTimeoutMs);
    let error = "";
    ws.onopen = () => this.onOpen(ws, url);
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.onAck(ev.data);
    };
    ws.onerror = (ev) => {
      error = (ev as ErrorEvent).message ?? "";
    };
    ws.onclose = (ev) => this.onClose(ws, url, ev.code, ev.reason || error);
  }

  private onOpen(ws: WebSocket, url: string): void {
    if (this.ws !== ws || this.state !== "dialing") return;
    this.clearTimer();
    this.state = "open";
    this.refused = false;
    this.activeSince = Date.now();
    this.backoffMs = this.opts.limits.backoffMsMin;
    this.failuresThisRound = 0;
    this.framesSent = 0;
    this.framesAcked = 0;
    this.lastProblem = "";
    this.opts.log(`transport: stream to ${this.opts.peerId} established (${url})`);
    this.flush();
  }

  private onClose(ws: WebSocket, url: string, code: number, reason: string): void {
    if (this.ws !== ws) return;
    const wasOpen = this.state === "open";
    this.ws = undefined;
    this.activeSince = undefined;
    this.clearTimer();
    if (this.state === "stopped") return;
    if (!wasOpen) {
      this.dialFailed(url, reason);
      return;
    }
    if (code === CLOSE_REMOVED) {
      this.reject(410, reason || "removed member");
      return;
    }
    this.note(`stream to ${this.opts.peerId} lost (${closeWords(code, reason)})`);
    this.afterLoss();
  }

  /** After an open stream broke: report, then re-dial after the shortest backoff. */
  private afterLoss(): void {
    // Deferred: this also runs inside `enqueue` (ack timeout), i.e. inside the member's send().
    queueMicrotask(() => this.opts.onUnreachable());
    this.wait(this.opts.limits.backoffMsMin);
  }

  private dialFailed(url: string, message: string): void {
    // A 4xx answer is a refusal (wrong cluster, removed, ...); a 5xx is a peer in trouble.
    const status = Number(UPGRADE_STATUS_RE.exec(message)?.[1] ?? 0);
    if (status >= 400 && status < 500) {
      this.diagnose(url, status);
      return;
    }
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    this.failuresThisRound++;
    if (this.failuresThisRound < this.urls.length) {
      this.dial();
      return;
    }
    this.failuresThisRound = 0;
    this.note(`peer ${this.opts.peerId} unreachable (${message || "dial failed"})`);
    this.dropQueue();
    this.opts.onUnreachable();
    this.wait(this.nextBackoff());
  }

  /**
   * The peer answered the upgrade with `status`. The client WebSocket hides the body, so ask
   * again with a plain GET, which runs the same checks, to learn the reason.
   */
  private diagnose(url: string, status: number): void {
    this.state = "waiting";
    const headers = handshakeHeaders({
      clusterId: this.opts.clusterId,
      from: this.opts.localId,
      to: this.opts.peerId,
    });
    const target = streamUrl(url).replace(/^ws/, "http");
    const tls = this.opts.tls;
    const p = fetch(target, {
      headers,
      signal: AbortSignal.timeout(this.opts.limits.dialTimeoutMs),
      ...(tls !== undefined ? { tls } : {}),
    })
      .then(async (res) => ({ status: res.status, body: (await res.text()).trim() }))
      .catch((e: unknown) => ({ status, body: `HTTP ${status} (${String(e)})` }))
      .then((r) => {
        if (this.state === "stopped") return;
        const reason = r.status === status ? r.body : `HTTP ${status}`;
        this.reject(status, reason || `HTTP ${status}`);
      });
    this.track(p);
  }

  private reject(status: number, reason: string): void {
    this.dropQueue();
    this.note(`peer ${this.opts.peerId} rejected this member: ${status} ${reason}`);
    this.opts.onRejected(status, reason);
    if (this.state !== "stopped") this.wait(this.opts.limits.backoffMsMax, true);
  }

  private nextBackoff(): number {
    const { backoffMsMax } = this.opts.limits;
    const base = this.backoffMs;
    this.backoffMs = Math.min(backoffMsMax, base * 2);
    // Up to 50% jitter keeps members from re-dialling a restarted peer in lockstep.
    return Math.min(backoffMsMax, base * (1 + Math.random() / 2));
  }

  private wait(ms: number, refused = false): void {
    this.clearTimer();
    this.state = "waiting";
    this.refused = refused;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state !== "waiting") return;
      this.state = "idle";
      // The stream is kept up even with nothing to send, as etcd's are: two followers exchange
      // no messages, yet each counts the other as connected only while a stream is open (the
      // strict reconfiguration check). A refusing peer is asked again only when there is
      // something to send.
      if (this.queue.length > 0 || !this.refused) this.dial();
    }, ms);
  }

  private dropSocket(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = undefined;
    this.activeSince = undefined;
    if (this.state === "open" || this.state === "dialing") this.state = "idle";
    if (ws !== undefined && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
  }

  private dropQueue(): void {
    for (const q of this.queue) this.failed += q.count;
    this.queue = [];
    this.queuedBytes = 0;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Logs a problem once until it changes, so a long outage is one line, not thousands. */
  private note(problem: string): void {
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    this.opts.log(`transport: ${problem}`);
  }

  /** Keeps `p` until it settles, so `stop()` can wait for it. */
  track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** The handshake headers this link presents; the snapshot sender uses the same. */
  get headers(): Record<string, string> {
    return handshakeHeaders({
      clusterId: this.opts.clusterId,
      from: this.opts.localId,
      to: this.opts.peerId,
    });
  }

  get peerUrls(): readonly string[] {
    return this.urls;
  }
}

/** A WebSocket close code in words, for the log (the reason when the peer gave one). */
function closeWords(code: number, reason: string): string {
  const words: Record<number, string> = {
    1000: "closed by the peer",
    1001: "the peer is going away",
    1006: "connection dropped without a close",
    1009: "a frame too large for the peer",
    1011: "the peer hit an internal error",
    [CLOSE_BAD_FRAME]: "the peer could not decode a frame",
  };
  const said = words[code] ?? `close code ${code}`;
  return reason === "" ? said : `${said}: ${reason}`;
}
