/**
 * The receiving side of the transport, mounted on the member's peer listener: the WebSocket
 * upgrade of `/raft/stream` and the `POST /raft/snapshot` handler. Both check the handshake
 * headers first (`handshake.ts`), so members of different clusters never exchange messages.
 * Each stream frame is decoded and handed to `onMessages` in arrival order, then acknowledged
 * with the cumulative frame count: at once if the last ack is older than the ack interval,
 * else when the interval has passed (so a burst of frames costs one or two acks).
 *
 * Must not: send Raft messages (the reverse direction is the peer's own outgoing stream).
 */

import type { Message } from "../raft/types.ts";
import { requestUrl } from "../util/request-url.ts";
import { CodecError, decodeMessages } from "./codec.ts";
import {
  CLOSE_BAD_FRAME,
  CLOSE_REMOVED,
  checkHandshake,
  type HandshakeContext,
  HEADER_CLUSTER_ID,
  RAFT_SNAPSHOT_PATH,
  RAFT_STREAM_PATH,
  type Rejection,
  rejectionResponse,
} from "./handshake.ts";
import type { TransportLimits } from "./limits.ts";
import type { TransportObserver } from "./observer.ts";

/** Per-connection state of an inbound stream (`ServerWebSocket.data`). */
export interface StreamSocketData {
  from: string;
  framesReceived: number;
  ackScheduled: boolean;
  lastAckAt: number;
  lastFrameAt: number;
}

export type StreamSocket = Bun.ServerWebSocket<StreamSocketData>;

/** What the member mounts on its peer listener (`Bun.serve({ fetch, websocket })`). */
export interface UpgradeHandler {
  /** Path prefix served here: `/raft` (stream upgrade and snapshot POST). */
  path: string;
  /**
   * Serves `/raft/stream` (upgrade; `undefined` once upgraded, as Bun.serve expects) and
   * `/raft/snapshot` (a Promise). Any other path answers 404.
   */
  fetch(
    req: Request,
    server: Bun.Server<StreamSocketData>,
  ): Response | Promise<Response> | undefined;
  websocket: Bun.WebSocketHandler<StreamSocketData>;
}

export interface ReceiverOptions extends HandshakeContext {
  limits: TransportLimits;
  log: (line: string) => void;
  onMessages: (msgs: Message[]) => void;
  /** A peer's request was refused (every time, not throttled like the log line). */
  onRejected?: (status: number, reason: string) => void;
  /** A peer opened a stream to this member (it passed the handshake checks). */
  onStreamOpen?: (from: string) => void;
  /** Bytes of every frame received, by sender (metrics). */
  observer?: Pick<TransportObserver, "received">;
}

/** A rejected sender retries every couple of seconds; log each distinct rejection this rarely. */
const REJECTION_LOG_INTERVAL_MS = 30_000;
/** Distinct rejections remembered for log throttling; past it the memory is simply reset. */
const REJECTION_LOG_KEYS_MAX = 1024;

export class Receiver {
  /** The current inbound stream of each sender; a newer one replaces (closes) the older. */
  private readonly inbound = new Map<string, StreamSocket>();
  /** When the current inbound stream of each sender opened (ms since the epoch). */
  private readonly openedAt = new Map<string, number>();
  private readonly rejectionLoggedAt = new Map<string, number>();
  private stopped = false;

  constructor(private readonly opts: ReceiverOptions) {}

  handler(): UpgradeHandler {
    return {
      path: "/raft",
      fetch: (req, server) => this.fetch(req, server),
      websocket: {
        data: {} as StreamSocketData,
        maxPayloadLength: this.opts.limits.frameBytesMax,
        perMessageDeflate: false,
        open: (ws) => this.onOpen(ws),
        message: (ws, data) => this.onFrame(ws, data),
        close: (ws) => {
          if (this.inbound.get(ws.data.from) !== ws) return;
          this.inbound.delete(ws.data.from);
          this.openedAt.delete(ws.data.from);
        },
      },
    };
  }

  /** Closes the current inbound stream from `id`, if any, with `code` and `reason`. */
  closeFrom(id: string, code: number, reason: string): void {
    const ws = this.inbound.get(id);
    if (ws === undefined) return;
    this.inbound.delete(id);
    this.openedAt.delete(id);
    ws.close(code, reason);
  }

  /** When the open inbound stream from `id` opened (ms since the epoch), or undefined. */
  inboundSince(id: string): number | undefined {
    return this.openedAt.get(id);
  }

  markRemoved(id: string): void {
    this.closeFrom(id, CLOSE_REMOVED, "removed member");
  }

  /** Closes every inbound stream and refuses new ones (503); frames in flight are dropped. */
  closeAll(): void {
    this.stopped = true;
    for (const id of [...this.inbound.keys()]) this.closeFrom(id, 1001, "transport stopped");
  }

  private fetch(
    req: Request,
    server: Bun.Server<StreamSocketData>,
  ): Response | Promise<Response> | undefined {
    const path = requestUrl(req).pathname;
    if (this.stopped) return new Response("transport stopped", { status: 503 });
    if (path === RAFT_SNAPSHOT_PATH) return this.handleSnapshot(req);
    if (path !== RAFT_STREAM_PATH) return new Response("404 page not found", { status: 404 });
    if (req.method !== "GET") return methodNotAllowed("GET");
    const checked = checkHandshake(req.headers, this.opts);
    if ("rejection" in checked) return this.reject(checked.rejection, "stream");
    const data: StreamSocketData = {
      from: checked.from,
      framesReceived: 0,
      ackScheduled: false,
      lastAckAt: Number.NEGATIVE_INFINITY,
      lastFrameAt: 0,
    };
    const headers = { [HEADER_CLUSTER_ID]: this.opts.clusterId };
    if (server.upgrade(req, { data, headers })) return undefined;
    return new Response("upgrade required", { status: 426, headers });
  }

  private reject(r: Rejection, kind: string): Response {
    this.opts.onRejected?.(r.status, r.reason);
    const key = `${kind}|${r.status}|${r.detail}`;
    const now = Date.now();
    const last = this.rejectionLoggedAt.get(key);
    if (last === undefined || now - last >= REJECTION_LOG_INTERVAL_MS) {
      if (this.rejectionLoggedAt.size >= REJECTION_LOG_KEYS_MAX) this.rejectionLoggedAt.clear();
      this.rejectionLoggedAt.set(key, now);
      this.opts.log(`transport: rejected ${kind} request (${r.status} ${r.reason}): ${r.detail}`);
    }
    return rejectionResponse(r, this.opts.clusterId);
  }

  private onOpen(ws: StreamSocket): void {
    const previous = this.inbound.get(ws.data.from);
    this.inbound.set(ws.data.from, ws);
    // A newer stream means the peer re-dialled (e.g. it restarted): count from now.
    this.openedAt.set(ws.data.from, Date.now());
    if (previous !== undefined) previous.close(1000, "replaced by a newer stream");
    this.opts.onStreamOpen?.(ws.data.from);
  }

  private onFrame(ws: StreamSocket, data: string | Uint8Array): void {
    if (this.stopped) return;
    if (typeof data === "string") {
      ws.close(CLOSE_BAD_FRAME, "text frame");
      return;
    }
    this.opts.observer?.received(ws.data.from, data.byteLength);
    const msgs = this.decode(data, `stream from ${ws.data.from}`);
    if (msgs === undefined) {
      ws.close(CLOSE_BAD_FRAME, "bad frame");
      return;
    }
    if (msgs.length > 0) this.opts.onMessages(msgs);
    ws.data.framesReceived++;
    ws.data.lastFrameAt = performance.now();
    if (!ws.data.ackScheduled) {
      ws.data.ackScheduled = true;
      const wait = ws.data.lastAckAt + this.opts.limits.ackIntervalMs - ws.data.lastFrameAt;
      if (wait <= 0) setImmediate(() => sendAck(ws, false));
      else setTimeout(() => sendAck(ws, true), wait);
    }
  }

  /**
   * Decodes a frame and keeps only messages addressed to this member; undefined if malformed.
   * `from` is not checked against the sender: a forwarded MsgTransferLeader names the transferee.
   */
  private decode(frame: Uint8Array, source: string): Message[] | undefined {
    let msgs: Message[];
    try {
      msgs = decodeMessages(frame);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.opts.log(`transport: bad frame in ${source}: ${e.message}`);
      return undefined;
    }
    const me = this.opts.memberId;
    if (msgs.every((m) => m.to === me)) return msgs;
    this.opts.log(`transport: ${source} carried messages for another member; dropped them`);
    return msgs.filter((m) => m.to === me);
  }

  private async handleSnapshot(req: Request): Promise<Response> {
    if (req.method !== "POST") return methodNotAllowed("POST");
    const checked = checkHandshake(req.headers, this.opts);
    if ("rejection" in checked) return this.reject(checked.rejection, "snapshot");
    const max = this.opts.limits.snapshotBytesMax;
    if (Number(req.headers.get("content-length") ?? 0) > max) {
      return new Response("snapshot too large", { status: 413 });
    }
    const body = new Uint8Array(await req.arrayBuffer());
    if (body.byteLength > max) return new Response("snapshot too large", { status: 413 });
    const msgs = this.decode(body, `snapshot from ${checked.from}`);
    const m = msgs?.[0];
    if (msgs === undefined || msgs.length !== 1 || m === undefined || m.type !== "MsgSnap") {
      return new Response("error unmarshaling raft message", { status: 400 });
    }
    this.opts.log(
      `transport: received snapshot [index ${m.snapshot.meta.index}, ${body.byteLength} bytes] from ${checked.from}`,
    );
    this.opts.onMessages(msgs);
    return new Response(null, {
      status: 204,
      headers: { [HEADER_CLUSTER_ID]: this.opts.clusterId },
    });
  }
}

/**
 * An ack is the cumulative frame count (float64, little-endian). One held back by the ack
 * interval adds how long it was held (a second float64), so the sender's round-trip sample
 * leaves out the wait; senders that only know 8-byte acks ignore it and take the next one.
 */
function sendAck(ws: StreamSocket, held: boolean): void {
  ws.data.ackScheduled = false;
  if (ws.readyState !== WebSocket.OPEN) return;
  const now = performance.now();
  ws.data.lastAckAt = now;
  const ack = new DataView(new ArrayBuffer(held ? 16 : 8));
  ack.setFloat64(0, ws.data.framesReceived, true);
  if (held) ack.setFloat64(8, now - ws.data.lastFrameAt, true);
  ws.send(ack.buffer);
}

function methodNotAllowed(allow: string): Response {
  return new Response("Method Not Allowed", { status: 405, headers: { Allow: allow } });
}
