/**
 * Sends one encoded `MsgSnap` frame to a peer as `POST /raft/snapshot`, trying the peer's URLs in
 * order until one answers. Snapshots do not use the stream: they can be large, and a stream
 * blocked behind one would delay heartbeats past the election timeout.
 *
 * Must not: retry after the peer answered, or throw: the outcome is the returned value.
 */

import { RAFT_SNAPSHOT_PATH } from "./handshake.ts";
import type { TlsPem } from "./peer-link.ts";

export type SnapshotOutcome =
  | { ok: true }
  | { ok: false; status: number; reason: string }
  | { ok: false; status: undefined; reason: string };

export function snapshotUrl(peerUrl: string): string {
  const u = new URL(peerUrl);
  u.pathname = RAFT_SNAPSHOT_PATH;
  return u.toString();
}

export async function postSnapshot(opts: {
  urls: readonly string[];
  headers: Record<string, string>;
  frame: Uint8Array;
  tls: TlsPem | undefined;
  signal: AbortSignal;
}): Promise<SnapshotOutcome> {
  let lastError = "no URLs";
  for (const url of opts.urls) {
    if (opts.signal.aborted) break;
    try {
      const res = await fetch(snapshotUrl(url), {
        method: "POST",
        headers: { ...opts.headers, "Content-Type": "application/octet-stream" },
        body: opts.frame,
        signal: opts.signal,
        ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
      });
      const body = (await res.text()).trim();
      if (res.status === 204 || res.status === 200) return { ok: true };
      return { ok: false, status: res.status, reason: body || `HTTP ${res.status}` };
    } catch (e) {
      // Unreachable URL, reset or timeout: try the next URL.
      lastError = `${url}: ${String(e)}`;
    }
  }
  return { ok: false, status: undefined, reason: opts.signal.aborted ? "aborted" : lastError };
}
