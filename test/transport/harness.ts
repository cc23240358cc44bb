/**
 * Test members for the transport: a Transport mounted on its own Bun.serve peer listener on
 * 127.0.0.1 (port 0 unless given), recording what it receives, logs and reports.
 */

import type { Message } from "../../src/raft/types.ts";
import type { StreamSocketData, TlsPem, TransportLimits } from "../../src/transport/transport.ts";
import { Transport } from "../../src/transport/transport.ts";

export interface TestMember {
  id: string;
  transport: Transport;
  server: Bun.Server<StreamSocketData>;
  url: string;
  port: number;
  received: Message[];
  logs: string[];
  rejections: { peerId: string; reason: string; status: number }[];
  unreachable: string[];
  snapshots: { peerId: string; ok: boolean }[];
  stop(): Promise<void>;
}

export function startMember(opts: {
  id: string;
  clusterId?: string;
  port?: number;
  limits?: Partial<TransportLimits>;
  /** The transport's dialling TLS (PEM texts). */
  tls?: TlsPem;
  /** TLS for the peer listener (makes `url` https). */
  serverTls?: Bun.TLSOptions;
  /** Replaces recording into `received` (for measurements). */
  onMessages?: (msgs: Message[]) => void;
}): TestMember {
  const received: Message[] = [];
  const logs: string[] = [];
  const rejections: TestMember["rejections"] = [];
  const unreachable: string[] = [];
  const snapshots: TestMember["snapshots"] = [];
  const transport = new Transport({
    memberId: opts.id,
    clusterId: opts.clusterId ?? "cafe",
    onMessages:
      opts.onMessages ??
      ((msgs) => {
        for (const m of msgs) received.push(m);
      }),
    onPeerRejected: (peerId, reason, status) => rejections.push({ peerId, reason, status }),
    onUnreachable: (peerId) => unreachable.push(peerId),
    onSnapshotStatus: (peerId, ok) => snapshots.push({ peerId, ok }),
    log: (line) => logs.push(line),
    ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
    ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
  });
  const handler = transport.upgradeHandler();
  const server = Bun.serve<StreamSocketData>({
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    fetch: (req, srv) => handler.fetch(req, srv),
    websocket: handler.websocket,
    ...(opts.serverTls !== undefined ? { tls: opts.serverTls } : {}),
  });
  const port = server.port as number;
  return {
    id: opts.id,
    transport,
    server,
    url: `${opts.serverTls !== undefined ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    received,
    logs,
    rejections,
    unreachable,
    snapshots,
    async stop() {
      await transport.stop();
      await server.stop(true);
    },
  };
}

/** Connects every member to every other one. */
export function mesh(members: TestMember[]): void {
  for (const a of members) {
    for (const b of members) if (a !== b) a.transport.addPeer(b.id, [b.url]);
  }
}

/** Polls `cond` every few ms until it holds; fails after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = s.port as number;
  await s.stop(true);
  return port;
}

export function app(from: string, to: string, index: number, entries: number): Message {
  const data = new Uint8Array(16).fill(index & 0xff);
  return {
    type: "MsgApp",
    from,
    to,
    term: 1,
    index,
    logTerm: 1,
    commit: index,
    entries: Array.from({ length: entries }, (_, i) => ({
      term: 1,
      index: index + i + 1,
      type: "normal" as const,
      data,
    })),
  };
}

export function heartbeat(from: string, to: string, commit: number): Message {
  return { type: "MsgHeartbeat", from, to, term: 1, commit, context: "" };
}
