/**
 * The peer handshake: the headers a dialling member sends and the checks a receiver applies,
 * shared by the message stream (a WebSocket upgrade) and the snapshot POST. Statuses and bodies
 * follow etcd's rafthttp (spec §6): a mismatched cluster id or recipient is 412, a removed sender
 * 410, an unknown sender 404.
 *
 * Pure: no sockets, no logging.
 */

/** The WebSocket upgrade path of the message stream. */
export const RAFT_STREAM_PATH = "/raft/stream";
/** The snapshot transfer path (etcd's `/raft/snapshot`). */
export const RAFT_SNAPSHOT_PATH = "/raft/snapshot";

/** Close code the receiver uses for a sender it was told is removed (4000 + HTTP 410). */
export const CLOSE_REMOVED = 4410;
/** Close code for a frame the receiver could not decode (4000 + HTTP 400). */
export const CLOSE_BAD_FRAME = 4400;

export const HEADER_CLUSTER_ID = "X-Etcd-Cluster-ID";
export const HEADER_FROM = "X-Server-From";
export const HEADER_TO = "X-Raft-To";

/** A handshake failure: the HTTP status and body the receiver answers with. */
export interface Rejection {
  status: number;
  reason: string;
  /** Detail for the receiver's log line (what was received and what was expected). */
  detail: string;
}

export interface HandshakeContext {
  memberId: string;
  clusterId: string;
  isRemoved(id: string): boolean;
  isKnown(id: string): boolean;
}

/** The request headers for a stream or snapshot request from `from` to `to`. */
export function handshakeHeaders(opts: {
  clusterId: string;
  from: string;
  to: string;
}): Record<string, string> {
  return {
    [HEADER_CLUSTER_ID]: opts.clusterId,
    [HEADER_FROM]: opts.from,
    [HEADER_TO]: opts.to,
  };
}

/**
 * Checks a request's handshake headers, in etcd's order: cluster id, sender present, sender
 * removed, recipient, sender known. Returns the sender id, or the rejection to answer with.
 */
export function checkHandshake(
  headers: Headers,
  ctx: HandshakeContext,
): { from: string } | { rejection: Rejection } {
  const clusterId = headers.get(HEADER_CLUSTER_ID) ?? "";
  if (clusterId !== ctx.clusterId) {
    const detail = `cluster ID mismatch: got "${clusterId}", want "${ctx.clusterId}"`;
    return { rejection: { status: 412, reason: "cluster ID mismatch", detail } };
  }
  const from = headers.get(HEADER_FROM) ?? "";
  if (from === "") {
    return { rejection: { status: 400, reason: "invalid from", detail: "no X-Server-From" } };
  }
  if (ctx.isRemoved(from)) {
    const detail = `message from removed member ${from}`;
    return { rejection: { status: 410, reason: "removed member", detail } };
  }
  const to = headers.get(HEADER_TO) ?? "";
  if (to !== ctx.memberId) {
    const detail = `to field mismatch: got "${to}", want "${ctx.memberId}" (from ${from})`;
    return { rejection: { status: 412, reason: "to field mismatch", detail } };
  }
  if (!ctx.isKnown(from)) {
    const detail = `sender ${from} is not a known peer`;
    return { rejection: { status: 404, reason: "error sender not found", detail } };
  }
  return { from };
}

/** The response for a rejection, with the receiver's cluster id as etcd sends it. */
export function rejectionResponse(r: Rejection, clusterId: string): Response {
  return new Response(r.reason, {
    status: r.status,
    headers: { "Content-Type": "text/plain; charset=utf-8", [HEADER_CLUSTER_ID]: clusterId },
  });
}
