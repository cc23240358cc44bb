/**
 * The sequential PUT driver: one keep-alive TCP connection, one request in flight, every
 * request's latency recorded (monotonic clock, from the write to the last byte of the answer).
 *
 * Not wrk, because wrk 4.1 "corrects" its latency histogram for coordinated omission before it
 * reports (stats_correct in wrk.c): every sample of at least twice the mean cycle time gets
 * synthetic copies at (n − cycle), (n − 2·cycle), … added. With one connection and a 0.4 ms
 * cycle, one 5 ms stall becomes a dozen samples, so its p99 reflects how long the rare stalls
 * were, not how many requests were slow (its mean × count then exceeds the run's duration).
 * This driver reports the latencies the client actually saw.
 */
import { percentile } from "./stats.ts";

export interface SeqJob {
  readonly mode: "seq";
  readonly url: string;
  /** Keys are `<prefix>k<n mod keys>`. */
  readonly prefix: string;
  readonly keys: number;
  readonly valueBytes: number;
  readonly durationMs: number;
}

export interface SeqResult {
  readonly requests: number;
  readonly durationUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  readonly meanUs: number;
  /** Answers other than 200/201, and a dropped connection. */
  readonly errors: number;
}

const HEADER_END = Buffer.from("\r\n\r\n");
const LAST_CHUNK = Buffer.from("0\r\n\r\n");

/** Bytes of the first complete HTTP response in `buf`, or 0 if it is not complete yet. */
export function completeResponseLength(buf: Buffer): number {
  const headEnd = buf.indexOf(HEADER_END);
  if (headEnd < 0) return 0;
  const head = buf.subarray(0, headEnd).toString("latin1").toLowerCase();
  const bodyStart = headEnd + HEADER_END.length;
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (length !== null) {
    const end = bodyStart + Number(length[1]);
    return buf.length >= end ? end : 0;
  }
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) {
    const end = buf.indexOf(LAST_CHUNK, bodyStart);
    return end < 0 ? 0 : end + LAST_CHUNK.length;
  }
  return bodyStart;
}

export function statusOf(response: Buffer): number {
  return Number(response.subarray(9, 12).toString("latin1"));
}

/** The run's figures from every request's latency (ms), in the units wrk's script reports. */
export function seqResult(latenciesMs: number[], errors: number, durationMs: number): SeqResult {
  const sum = latenciesMs.reduce((a, b) => a + b, 0);
  return {
    requests: latenciesMs.length,
    durationUs: durationMs * 1000,
    p50Us: percentile(latenciesMs, 0.5) * 1000,
    p99Us: percentile(latenciesMs, 0.99) * 1000,
    p999Us: percentile(latenciesMs, 0.999) * 1000,
    maxUs: latenciesMs.reduce((a, b) => Math.max(a, b), 0) * 1000,
    meanUs: latenciesMs.length === 0 ? 0 : (sum / latenciesMs.length) * 1000,
    errors,
  };
}

export async function runSequential(job: SeqJob): Promise<SeqResult> {
  const { hostname, port, host } = new URL(job.url);
  const body = `value=${"v".repeat(job.valueBytes)}`;
  const request = (n: number) =>
    `PUT ${job.prefix}k${n % job.keys} HTTP/1.1\r\nHost: ${host}\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const latencies: number[] = [];
  let errors = 0;
  let pending = Buffer.alloc(0);
  let sentAt = 0;
  let n = 0;
  const started = performance.now();
  const deadline = started + job.durationMs;

  return await new Promise<SeqResult>((resolve, reject) => {
    const finish = () => resolve(seqResult(latencies, errors, performance.now() - started));
    Bun.connect({
      hostname,
      port: Number(port),
      socket: {
        open(socket) {
          sentAt = performance.now();
          socket.write(request(n++));
        },
        data(socket, chunk) {
          pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
          const end = completeResponseLength(pending);
          if (end === 0) return;
          const now = performance.now();
          latencies.push(now - sentAt);
          const status = statusOf(pending);
          if (status !== 200 && status !== 201) errors++;
          pending = pending.subarray(end);
          if (now >= deadline) {
            socket.end();
            finish();
            return;
          }
          sentAt = performance.now();
          socket.write(request(n++));
        },
        close() {
          if (performance.now() < deadline) {
            errors++;
            finish();
          }
        },
        connectError(_socket, error) {
          reject(error);
        },
      },
    }).catch(reject);
  });
}
