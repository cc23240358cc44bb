/**
 * What a normal Raft entry carries: a client's v2 request, a write of the auth data under `/2`,
 * or an internal write of cluster metadata under `/0` (member attributes, cluster version). Encoded as JSON: the log is the
 * only place it lives, JSON keeps the WAL readable with ordinary tools, and JSC parses it
 * faster than a hand-written binary codec.
 *
 * Except for large strings: JSON escapes a control byte to six bytes, so a 10 MiB form value of
 * control bytes became a ~60 MB entry (and a ~1 GB process). A v2 request whose `val` or
 * `prevValue` is longer than INLINE_STRING_MAX is written as a JSON header without those
 * strings, followed by their UTF-8 bytes: `0x00 | u32 header length | header | (u32 length |
 * bytes)*`. JSON never starts with 0x00, so both forms decode from the same log.
 */
import type { V2Request } from "../store/v2-apply.ts";

export type EntryPayload =
  | { readonly kind: "v2"; readonly id: string; readonly req: V2Request }
  /** A write of the v2 auth data: `req.path` is relative to `/2`. */
  | { readonly kind: "auth"; readonly id: string; readonly req: V2Request }
  | {
      readonly kind: "internal";
      readonly id: string;
      readonly path: string;
      readonly value: string;
    }
  | { readonly kind: "noop"; readonly id: string };

/** Strings up to this many UTF-16 units stay inside the JSON. */
export const INLINE_STRING_MAX = 4096;
const DETACHABLE = ["val", "prevValue"] as const;
type Detached = (typeof DETACHABLE)[number];
const SPLIT_MARK = 0x00;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodePayload(payload: EntryPayload): Uint8Array {
  if (payload.kind !== "v2" && payload.kind !== "auth")
    return encoder.encode(JSON.stringify(payload));
  const detached = DETACHABLE.filter((f) => payload.req[f].length > INLINE_STRING_MAX);
  if (detached.length === 0) return encoder.encode(JSON.stringify(payload));
  const req: Record<string, unknown> = { ...payload.req };
  for (const f of detached) delete req[f];
  const header = encoder.encode(JSON.stringify({ ...payload, req, detached }));
  const strings = detached.map((f) => encoder.encode(payload.req[f]));
  const size = 5 + header.length + strings.reduce((n, s) => n + 4 + s.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = SPLIT_MARK;
  view.setUint32(1, header.length, true);
  out.set(header, 5);
  let at = 5 + header.length;
  for (const s of strings) {
    view.setUint32(at, s.length, true);
    out.set(s, at + 4);
    at += 4 + s.length;
  }
  return out;
}

export function decodePayload(data: Uint8Array): EntryPayload {
  if (data[0] === SPLIT_MARK) return decodeSplit(data);
  return checked(JSON.parse(decoder.decode(data)));
}

function decodeSplit(data: Uint8Array): EntryPayload {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headerLength = view.getUint32(1, true);
  let at = 5 + headerLength;
  const header = JSON.parse(decoder.decode(data.subarray(5, at))) as {
    req: Record<string, unknown>;
    detached: Detached[];
  };
  for (const field of header.detached) {
    const length = view.getUint32(at, true);
    header.req[field] = decoder.decode(data.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (at !== data.length) throw new Error("entry payload: trailing bytes after its strings");
  const { detached: _, ...payload } = header;
  return checked(payload);
}

function checked(parsed: unknown): EntryPayload {
  if (typeof parsed !== "object" || parsed === null || !("kind" in parsed) || !("id" in parsed)) {
    throw new Error("entry payload: not an etcd-bun request");
  }
  return parsed as EntryPayload;
}
