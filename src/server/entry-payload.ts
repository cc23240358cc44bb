/**
 * What a normal Raft entry carries: a client's v2 request, or an internal write of cluster
 * metadata under `/0` (member attributes, cluster version). Encoded as JSON: the log is the
 * only place it lives, and JSON keeps the WAL readable with ordinary tools.
 */
import type { V2Request } from "../store/v2-apply.ts";

export type EntryPayload =
  | { readonly kind: "v2"; readonly id: string; readonly req: V2Request }
  | {
      readonly kind: "internal";
      readonly id: string;
      readonly path: string;
      readonly value: string;
    }
  | { readonly kind: "noop"; readonly id: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodePayload(payload: EntryPayload): Uint8Array {
  return encoder.encode(JSON.stringify(payload));
}

export function decodePayload(data: Uint8Array): EntryPayload {
  const parsed: unknown = JSON.parse(decoder.decode(data));
  if (typeof parsed !== "object" || parsed === null || !("kind" in parsed) || !("id" in parsed)) {
    throw new Error("entry payload: not an etcd-bun request");
  }
  return parsed as EntryPayload;
}
