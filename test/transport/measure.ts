/**
 * Measures the peer transport on loopback: two Transports in one process, member "a" sending
 * MsgApp messages of 64 × 256-byte entries to "b". Not a test; run with
 *   bun test/transport/measure.ts [seconds-per-phase]
 * Prints pipelined messages/s (window of in-flight frames) and one-in-flight latency p50/p99
 * (send → b's onMessages), plus codec-only encode/decode rates.
 */

import type { Message } from "../../src/raft/types.ts";
import { decodeMessages, encodeMessages } from "../../src/transport/codec.ts";
import { startMember } from "./harness.ts";

const ENTRIES_PER_MESSAGE = 64;
const ENTRY_BYTES = 256;
/** Frames in flight in the pipelined phase, well under the queue bound (4096). */
const WINDOW = 256;
const phaseMs = 1000 * Number(process.argv[2] ?? 2);

function msgApp(index: number, data: Uint8Array): Message {
  const entries = Array.from({ length: ENTRIES_PER_MESSAGE }, (_, i) => ({
    term: 5,
    index: index * ENTRIES_PER_MESSAGE + i + 1,
    type: "normal" as const,
    data,
  }));
  return { type: "MsgApp", from: "a", to: "b", term: 5, index, logTerm: 5, commit: index, entries };
}

/** Calls per second of `fn` over half a second, timed in blocks of 100 calls. */
function rate(fn: () => unknown): number {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < 500) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  return Math.round(n / ((performance.now() - start) / 1000));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const data = new Uint8Array(ENTRY_BYTES).fill(7);
  const template = msgApp(1, data);

  const frame = encodeMessages([template]);
  const encodePerSec = rate(() => encodeMessages([template]));
  const decodePerSec = rate(() => decodeMessages(frame));

  let received = 0;
  let notify: (() => void) | undefined;
  const b = startMember({
    id: "b",
    onMessages: (msgs) => {
      received += msgs.length;
      notify?.();
    },
  });
  const a = startMember({ id: "a" });
  a.transport.addPeer("b", [b.url]);
  b.transport.addPeer("a", [a.url]);

  // Warm up and open the stream.
  a.transport.send([template]);
  while (received < 1) await Bun.sleep(1);

  // Pipelined: keep WINDOW frames in flight.
  let sent = 0;
  received = 0;
  let t = performance.now();
  while (performance.now() - t < phaseMs) {
    while (sent - received < WINDOW) {
      a.transport.send([msgApp(sent, data)]);
      sent++;
    }
    await new Promise<void>((r) => {
      notify = r;
    });
  }
  while (received < sent) await Bun.sleep(1);
  const pipelinedSec = (performance.now() - t) / 1000;
  const msgsPerSec = sent / pipelinedSec;

  // One in flight: latency from send to delivery.
  const lat: number[] = [];
  t = performance.now();
  while (performance.now() - t < phaseMs) {
    const before = received;
    const start = performance.now();
    const done = new Promise<void>((r) => {
      notify = () => {
        if (received > before) r();
      };
    });
    a.transport.send([msgApp(sent++, data)]);
    await done;
    lat.push(performance.now() - start);
  }
  lat.sort((x, y) => x - y);
  const stats = a.transport.stats().b;
  await a.stop();
  await b.stop();

  const out = {
    frameBytes: frame.byteLength,
    codecEncodePerSec: encodePerSec,
    codecDecodePerSec: decodePerSec,
    pipelinedMessagesPerSec: Math.round(msgsPerSec),
    pipelinedEntriesPerSec: Math.round(msgsPerSec * ENTRIES_PER_MESSAGE),
    pipelinedMBPerSec: Number(((msgsPerSec * frame.byteLength) / 1e6).toFixed(1)),
    oneInFlightMessagesPerSec: Math.round(lat.length / (phaseMs / 1000)),
    latencyP50Ms: Number(percentile(lat, 0.5).toFixed(3)),
    latencyP99Ms: Number(percentile(lat, 0.99).toFixed(3)),
    ackRoundTripAvgMs: Number((stats?.latencyMs.average ?? Number.NaN).toFixed(3)),
    failed: stats?.failed,
  };
  console.log(JSON.stringify(out, null, 2));
}

await main();
