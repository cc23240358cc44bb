/**
 * Raft entry payloads: small requests stay plain JSON; large strings travel as raw UTF-8 after a
 * JSON header, so a value of control bytes costs its own size, not six times it.
 */
import { expect, test } from "bun:test";
import {
  decodePayload,
  type EntryPayload,
  encodePayload,
  INLINE_STRING_MAX,
} from "../../src/server/entry-payload.ts";
import { syncRequest, type V2Request } from "../../src/store/v2-apply.ts";

const request = (val: string, prevValue = ""): V2Request => ({
  ...syncRequest(1_800_000_000_000),
  method: "PUT",
  path: "/k",
  val,
  prevValue,
});

test("a small request is plain JSON, as the log always held", () => {
  const payload: EntryPayload = { kind: "v2", id: "a-1", req: request("v\u0001") };
  const bytes = encodePayload(payload);
  expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual(payload);
  expect(decodePayload(bytes)).toEqual(payload);
});

test("large values of control bytes cost their own size and decode exactly", () => {
  const val = "\u0001".repeat(10 * 1024 * 1024);
  const prevValue = `${"é".repeat(INLINE_STRING_MAX)}\u0000"\\`;
  const payload: EntryPayload = { kind: "v2", id: "a-2", req: request(val, prevValue) };
  const bytes = encodePayload(payload);
  expect(bytes[0]).toBe(0);
  expect(bytes.length).toBeLessThan(val.length + 2 * prevValue.length + 1024);
  expect(decodePayload(bytes)).toEqual(payload);
});

test("a value at the inline limit stays inline; one unit more is detached", () => {
  const at = encodePayload({ kind: "v2", id: "x", req: request("a".repeat(INLINE_STRING_MAX)) });
  const over = encodePayload({
    kind: "v2",
    id: "x",
    req: request("a".repeat(INLINE_STRING_MAX + 1)),
  });
  expect([at[0], over[0]]).toEqual(["{".charCodeAt(0), 0]);
});

test("a split payload with trailing bytes is refused", () => {
  const bytes = encodePayload({ kind: "v2", id: "x", req: request("b".repeat(5000)) });
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  expect(() => decodePayload(longer)).toThrow(/trailing bytes/);
});
