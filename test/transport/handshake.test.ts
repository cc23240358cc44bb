import { describe, expect, test } from "bun:test";
import { checkHandshake, handshakeHeaders } from "../../src/transport/handshake.ts";

const ctx = {
  memberId: "b",
  clusterId: "c1",
  isRemoved: (id: string) => id === "gone",
  isKnown: (id: string) => id === "a" || id === "gone",
};
const check = (h: { clusterId: string; from: string; to: string }) =>
  checkHandshake(new Headers(handshakeHeaders(h)), ctx);

describe("handshake checks (etcd rafthttp order)", () => {
  test("accepts a known sender of the same cluster addressed to us", () => {
    expect(check({ clusterId: "c1", from: "a", to: "b" })).toEqual({ from: "a" });
  });

  test.each([
    ["cluster id first", { clusterId: "zz", from: "gone", to: "x" }, 412, "cluster ID mismatch"],
    ["missing sender", { clusterId: "c1", from: "", to: "b" }, 400, "invalid from"],
    ["removed before recipient", { clusterId: "c1", from: "gone", to: "x" }, 410, "removed member"],
    ["recipient", { clusterId: "c1", from: "a", to: "x" }, 412, "to field mismatch"],
    ["unknown sender last", { clusterId: "c1", from: "q", to: "b" }, 404, "error sender not found"],
  ] as const)("%s", (_name, headers, status, reason) => {
    const r = check(headers);
    expect("rejection" in r && { status: r.rejection.status, reason: r.rejection.reason }).toEqual({
      status,
      reason,
    });
  });

  test("a request without headers is a cluster id mismatch", () => {
    const r = checkHandshake(new Headers(), ctx);
    expect("rejection" in r && r.rejection.status).toBe(412);
  });
});
