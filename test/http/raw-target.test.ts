/**
 * Request targets as a raw client sends them, on a live member: Bun resolves `.`/`..` segments
 * before a handler sees the URL, so these prove that an unclean target is answered with 301 and
 * writes nothing, that `\` stays part of a key, and that what Bun's parser refuses (an unknown
 * method token) harms nothing. Runs without the real etcd (the differential suite compares the
 * same behaviour against it).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { RAW_DEPTH_MAX } from "../../src/http/raw-target.ts";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";
import { rawRequest } from "../support/raw-http.ts";

let member: MemberProcess;
beforeAll(async () => {
  member = await startMember({});
});
afterAll(async () => {
  await member.stop();
});

const FORM = { "content-type": "application/x-www-form-urlencoded" };

function put(target: string) {
  return rawRequest(member.clientUrl, { method: "PUT", target, headers: FORM, body: "value=v" });
}

async function keysUnder(dir: string): Promise<string[]> {
  const res = await fetch(`${member.clientUrl}/v2/keys${dir}?recursive=true`);
  if (res.status === 404) return [];
  const body = (await res.json()) as { node: { nodes?: { key: string }[] } };
  return (body.node.nodes ?? []).map((n) => n.key).sort();
}

test.each([
  ["/v2/keys/dots/x/../y", "/v2/keys/dots/y"],
  ["/v2/keys/dots/./y", "/v2/keys/dots/y"],
  ["/v2/keys/dots/x/%2e%2e/y", "/v2/keys/dots/y"],
  ["/v2/keys/dots/x/.%2E/y", "/v2/keys/dots/y"],
  ["/v2/keys/dots/y/..", "/v2/keys/dots"],
  ["/v2/keys/dots/x%2F..%2Fy", "/v2/keys/dots/y"],
  ["/v2/keys/dots//y", "/v2/keys/dots/y"],
  // The raw form of a target with an empty segment is lost: the Location may name `x/`.
  ["/v2/keys/dots/x//../y", "(a cleaned path)"],
])("PUT %s is answered 301 to %s and writes nothing", async (target, location) => {
  const res = await put(target);
  expect(res.status).toBe(301);
  if (location.startsWith("/")) expect(res.headers.get("location")).toBe(location);
  expect(await keysUnder("/dots")).toEqual([]);
});

test("a dot segment deep in a long path is still caught; a path too deep to check is refused", async () => {
  const deep = "/d".repeat(RAW_DEPTH_MAX - 6);
  const res = await put(`/v2/keys/deep${deep}/x/../y`);
  expect(res.status).toBe(301);
  expect(await keysUnder("/deep")).toEqual([]);
  expect((await put(`/v2/keys/deep${deep}/y`)).status).toBe(201);
  const tooDeep = await put(`/v2/keys/deep${"/d".repeat(RAW_DEPTH_MAX)}/y`);
  expect(tooDeep.status).toBe(414);
  expect(await tooDeep.text()).toBe(`path deeper than ${RAW_DEPTH_MAX} segments\n`);
});

test("a backslash is part of the key name, as in etcd", async () => {
  expect((await put("/v2/keys/bs/a\\b")).status).toBe(201);
  expect(await keysUnder("/bs")).toEqual(["/bs/a\\b"]);
  const res = await rawRequest(member.clientUrl, { method: "GET", target: "/v2/keys/bs/a\\b" });
  expect(((await res.json()) as { node: { value: string } }).node.value).toBe("v");
});

test("the root path is not redirected to itself", async () => {
  const res = await rawRequest(member.clientUrl, { method: "GET", target: "/" });
  expect(res.status).toBe(404);
});

test("a method token Bun does not know closes that connection and nothing else", async () => {
  const url = new URL(member.clientUrl);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let data = "";
    socket.on("connect", () => socket.write("FOO /v2/keys/x HTTP/1.1\r\nHost: h\r\n\r\n"));
    socket.on("data", (chunk) => {
      data += chunk.toString();
    });
    socket.on("close", () => resolve(data));
    socket.on("error", reject);
    setTimeout(() => reject(new Error("connection left open")), 5_000);
  });
  expect(answer).not.toContain("201");
  expect(await keysUnder("/x")).toEqual([]);
  expect((await fetch(`${member.clientUrl}/version`)).status).toBe(200);
});
