/**
 * Encodes a ConfChange into entry data and back. Layout, all lengths in bytes:
 * [version=1][type: 0 add, 1 remove, 2 update][idLength][id: ASCII][context...].
 *
 * Pure; decode validates every field because entry data comes from disk and the network.
 */

import { assert } from "../util/assert.ts";
import type { ConfChange } from "./types.ts";

const CODEC_VERSION = 1;
const TYPES: readonly ConfChange["type"][] = ["addNode", "removeNode", "updateNode"];
/** A node id is at most 16 hex digits; longer ids leave room for other schemes. */
const NODE_ID_LENGTH_MAX = 255;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = cc.nodeId;
  assert(id.length > 0 && id.length <= NODE_ID_LENGTH_MAX, `bad conf change node id "${id}"`);
  const out = new Uint8Array(3 + id.length + cc.context.byteLength);
  out[0] = CODEC_VERSION;
  out[1] = TYPES.indexOf(cc.type);
  out[2] = id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    assert(c > 0x20 && c < 0x7f, `conf change node id must be printable ASCII: "${id}"`);
    out[3 + i] = c;
  }
  out.set(cc.context, 3 + id.length);
  return out;
}

/** Decodes entry data; throws on malformed input (a corrupt or foreign entry is a bug). */
export function decodeConfChange(data: Uint8Array): ConfChange {
  assert(data.byteLength >= 3, "conf change data too short");
  assert(data[0] === CODEC_VERSION, `unknown conf change version ${data[0]}`);
  const type = TYPES[data[1] as number];
  assert(type !== undefined, `unknown conf change type ${data[1]}`);
  const idLength = data[2] as number;
  assert(idLength > 0 && 3 + idLength <= data.byteLength, "conf change node id truncated");
  let nodeId = "";
  for (let i = 0; i < idLength; i++) nodeId += String.fromCharCode(data[3 + i] as number);
  return { type, nodeId, context: data.slice(3 + idLength) };
}
