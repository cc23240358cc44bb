/**
 * Member and cluster IDs exactly as etcd computes them (`membership.NewMember`,
 * `RaftCluster.genID`), so IDs match a real etcd given the same configuration. IDs are uint64
 * rendered as lowercase hex without zero padding. This is the only module that uses BigInt.
 */
import { createHash } from "node:crypto";
import { assert } from "../util/assert.ts";
import type { Config } from "./config.ts";

export interface InitialMember {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
}

const ID_BYTES = 8;
const HEX_ID = /^[0-9a-f]{1,16}$/;

function first8BytesHex(data: Uint8Array): string {
  const digest = createHash("sha1").update(data).digest();
  return digest.readBigUInt64BE(0).toString(16);
}

/**
 * Member ID: the first 8 bytes (big-endian) of SHA-1 over the sorted peer URLs concatenated,
 * then the cluster token, then — for members added at runtime — the Unix time in seconds as
 * decimal text.
 */
export function memberIdFor(
  peerUrls: readonly string[],
  token: string,
  nowSeconds?: number,
): string {
  assert(peerUrls.length > 0, "a member needs at least one peer URL");
  let text = [...peerUrls].sort().join("") + token;
  if (nowSeconds !== undefined) {
    assert(Number.isSafeInteger(nowSeconds), `bad time ${nowSeconds}`);
    text += String(nowSeconds);
  }
  return first8BytesHex(new TextEncoder().encode(text));
}

/** Cluster ID: the first 8 bytes of SHA-1 over the member IDs, sorted numerically, each as 8 bytes big-endian. */
export function clusterIdFor(memberIds: readonly string[]): string {
  const ids = memberIds.map((id) => {
    assert(HEX_ID.test(id), `bad member id ${id}`);
    return BigInt(`0x${id}`);
  });
  ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const bytes = Buffer.alloc(ID_BYTES * ids.length);
  ids.forEach((id, i) => {
    bytes.writeBigUInt64BE(id, i * ID_BYTES);
  });
  return first8BytesHex(bytes);
}

/**
 * The members of a new cluster from `--initial-cluster` (or the discovery result folded into
 * it), with IDs from `config.clusterToken`; sorted by name for a stable order.
 */
export function initialMembers(
  config: Pick<Config, "initialCluster" | "clusterToken">,
): InitialMember[] {
  return [...config.initialCluster.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, peerUrls]) => ({
      id: memberIdFor(peerUrls, config.clusterToken),
      name,
      peerUrls: [...peerUrls].sort(),
    }));
}
