/**
 * Named limits of the peer transport, with the reason for each value. Tests may shrink them
 * through `TransportOptions.limits`; production uses the defaults.
 */
import { assert } from "../util/assert.ts";

export interface TransportLimits {
  /** Frames queued per peer while dialling or under socket backpressure. */
  queueFramesMax: number;
  /** Bytes queued per peer (sum of frame sizes). */
  queueBytesMax: number;
  /** Above this many bytes buffered in the socket, frames wait in our queue instead. */
  socketBufferedBytesHigh: number;
  /** A batch whose encoding would exceed this is split into several frames. */
  frameBytesTarget: number;
  /** The largest frame a receiver accepts (WebSocket `maxPayloadLength`). */
  frameBytesMax: number;
  /** The largest snapshot POST body a receiver reads. */
  snapshotBytesMax: number;
  /** First re-dial delay after a failure. */
  backoffMsMin: number;
  /** Longest re-dial delay. */
  backoffMsMax: number;
  /** A dial that has not opened by then is abandoned. */
  dialTimeoutMs: number;
  /** A frame unacknowledged for this long means the connection is dead (half-open TCP). */
  ackTimeoutMs: number;
  /** An inbound stream acknowledges at most this often; the last frame always gets an ack. */
  ackIntervalMs: number;
  /** A snapshot POST that has not completed by then is aborted and reported failed. */
  snapshotTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<TransportLimits> = {
  // etcd's streamBufSize is 4096 messages; we queue frames (batches), which is at least as much.
  queueFramesMax: 4096,
  // 64 × Raft's MaxSizePerMsg (1 MiB): a few seconds of full-speed replication, bounded memory.
  queueBytesMax: 64 * 1024 * 1024,
  // 4 MiB keeps the kernel and the socket busy without hiding a stalled peer behind a huge buffer.
  socketBufferedBytesHigh: 4 * 1024 * 1024,
  // 4 × MaxSizePerMsg: large enough to batch a whole Ready, small enough to interleave peers.
  frameBytesTarget: 4 * 1024 * 1024,
  // A single message may carry an entry up to the client body limit; 64 MiB covers it.
  frameBytesMax: 64 * 1024 * 1024,
  // v2 store snapshots are JSON of the whole tree; 1 GiB is far beyond etcd 2's practical size.
  snapshotBytesMax: 1024 * 1024 * 1024,
  // Brief: 50 ms → 2 s. 50 ms rides out a restart without hammering a dead port.
  backoffMsMin: 50,
  // Below the default election timeout (1 s) × 2, so a returning peer is reached within a term.
  backoffMsMax: 2000,
  // etcd: peer dial timeout = 1 s + election/5; 1 s + 200 ms for the default election timeout.
  dialTimeoutMs: 1200,
  // etcd's conn read/write timeout is 5 s.
  ackTimeoutMs: 5000,
  // An ack per frame doubled the wake-ups of a sequential write (8 frames per write on 3
  // members). 50 ms keeps half-open detection and latency samples, far inside the timeout.
  ackIntervalMs: 50,
  // A 1 GiB snapshot at a slow 20 MB/s takes about 50 s; allow a minute.
  snapshotTimeoutMs: 60_000,
};

/**
 * The largest v2 keys form body: Go's `maxFormSize` (10 MiB), the limit etcd 3.4 applies to v2
 * forms (one byte more gets 400, errorCode 210, "http: POST too large"; measured). etcd's
 * `--max-request-bytes` bounds only its v3 gRPC API, so it does not apply here.
 */
export const V2_FORM_BYTES_MAX = 10 * 1024 * 1024;

/**
 * The longest request URL a keys write may have. Bun answers 431 above about 16 KiB already;
 * this bound keeps the entry bound below true if that default ever grows.
 */
export const V2_URL_BYTES_MAX = 64 * 1024;

/**
 * An upper bound of the Raft entry built from an accepted request: no byte of the request
 * costs more than six in the entry (JSON's `\u0001` for short strings; large ones are carried
 * as UTF-8, at most three bytes per input byte), plus the payload's field names and numbers.
 */
export const ENTRY_DATA_BYTES_MAX = 6 * (V2_FORM_BYTES_MAX + V2_URL_BYTES_MAX) + 64 * 1024;

// Every accepted entry must fit one peer frame on its own (a MsgApp of one entry plus ids and
// header), or it could be committed locally and never reach a follower.
assert(
  ENTRY_DATA_BYTES_MAX + 64 * 1024 <= DEFAULT_LIMITS.frameBytesMax,
  "transport: frameBytesMax is below the largest acceptable Raft entry",
);
