/**
 * Attacks on v2 auth against a real etcd-bun process: path tricks that try to leave a role's
 * prefix, writes by a user who may only read, guessing passwords (an unknown user must look
 * exactly like a wrong password), and a flood of failed logins that must leave the member
 * answering everyone else.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";
import { rawRequest } from "../support/raw-http.ts";
import { basic } from "./auth-cases.ts";

const ROOT = basic("root", "rootpw");
const ALICE = basic("alice", "alice-pw");
const READER = basic("reader", "reader-pw");

let member: MemberProcess;

async function call(
  method: string,
  target: string,
  auth: string | undefined,
  body?: string,
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (auth !== undefined) headers.authorization = auth;
  if (body !== undefined) headers["content-type"] = "application/json";
  return rawRequest(member.clientUrl, {
    method,
    target,
    headers,
    ...(body !== undefined && { body }),
  });
}

/** A keys write with a form body. */
function formCall(method: string, target: string, auth: string, body = ""): Promise<Response> {
  return rawRequest(member.clientUrl, {
    method,
    target,
    headers: { authorization: auth, "content-type": "application/x-www-form-urlencoded" },
    body,
  });
}

async function ok(res: Promise<Response>, status: number[]): Promise<void> {
  const r = await res;
  const text = await r.text();
  if (!status.includes(r.status)) throw new Error(`unexpected ${r.status}: ${text}`);
}

/** Everything under `/` as root sees it (to show that nothing changed). */
async function snapshot(): Promise<string> {
  const res = await call("GET", "/v2/keys/?recursive=true&sorted=true", ROOT);
  const body = (await res.json()) as { node: unknown };
  return JSON.stringify(body.node);
}

beforeAll(async () => {
  member = await startMember();
  await ok(
    call("PUT", "/v2/auth/users/root", undefined, '{"user":"root","password":"rootpw"}'),
    [201],
  );
  const role = (name: string, read: string[], write: string[]) =>
    JSON.stringify({ role: name, permissions: { kv: { read, write } } });
  await ok(
    call("PUT", "/v2/auth/roles/app", undefined, role("app", ["/app/*"], ["/app/*"])),
    [201],
  );
  await ok(call("PUT", "/v2/auth/roles/ro", undefined, role("ro", ["/app/*"], [])), [201]);
  const user = (name: string, password: string, roles: string[]) =>
    JSON.stringify({ user: name, password, roles });
  await ok(
    call("PUT", "/v2/auth/users/alice", undefined, user("alice", "alice-pw", ["app"])),
    [200],
  );
  await ok(
    call("PUT", "/v2/auth/users/reader", undefined, user("reader", "reader-pw", ["ro"])),
    [200],
  );
  await ok(call("PUT", "/v2/auth/enable", ROOT), [200]);
  // Without the guest role a request without credentials may do nothing.
  await ok(call("DELETE", "/v2/auth/roles/guest", ROOT), [200]);
  await ok(formCall("PUT", "/v2/keys/secret/key", ROOT, "value=top-secret"), [201]);
  await ok(formCall("PUT", "/v2/keys/app/a", ROOT, "value=1"), [201]);
  await ok(formCall("PUT", "/v2/keys/app/dir/b", ROOT, "value=2"), [201]);
});

afterAll(async () => {
  await member?.stop();
});

/** Follows 301s as a client would (with the same credentials); returns the final answer. */
async function finalAnswer(method: string, target: string, auth: string, body?: string) {
  let res = await formCallOrGet(method, target, auth, body);
  for (let hops = 0; res.status === 301 && hops < 5; hops++) {
    const location = new URL(res.headers.get("location") ?? "", member.clientUrl);
    await res.arrayBuffer();
    res = await formCallOrGet(method, `${location.pathname}${location.search}`, auth, body);
  }
  return { status: res.status, text: await res.text() };
}

function formCallOrGet(method: string, target: string, auth: string, body?: string) {
  return method === "GET" ? call("GET", target, auth) : formCall(method, target, auth, body);
}

const TRICKS = [
  "/v2/keys/app/../secret/key",
  "/v2/keys/app/%2e%2e/secret/key",
  "/v2/keys/app/%2E%2E/secret/key",
  "/v2/keys/app/..%2Fsecret/key",
  "/v2/keys/app%2F..%2Fsecret%2Fkey",
  "/v2/keys/app/%252e%252e/secret/key",
  "/v2/keys//secret/key",
  "/v2/keys/app//../secret/key",
  "/v2/keys/app/./../secret/key",
  "/v2/keys/APP/../secret/key",
  "/v2/keys/app/dir/../../secret/key",
  "/v2/keys/secret/key?recursive=true",
  "/v2/keys/secret/key?wait=true&waitIndex=1",
  "/v2/keys/?recursive=true",
  "/v2/keys/app?recursive=true",
  "/v2/keys/application",
];

describe("path tricks cannot leave a role's prefix", () => {
  test("reads: no trick shows the secret or anything outside /app", async () => {
    for (const target of TRICKS) {
      const { status, text } = await finalAnswer("GET", target, ALICE);
      expect({ target, secret: text.includes("top-secret") }).toEqual({ target, secret: false });
      // Refused (110), or an answer about a key inside /app (a literal "%2e%2e" name is one).
      const answer = JSON.parse(text) as {
        errorCode?: number;
        cause?: string;
        node?: { key: string };
      };
      const about = status === 200 ? answer.node?.key : status === 404 ? answer.cause : undefined;
      const verdict = status === 401 ? answer.errorCode : about?.startsWith("/app/");
      expect({ target, verdict }).toEqual({ target, verdict: status === 401 ? 110 : true });
    }
  });

  test("writes and deletes through the same tricks change nothing outside /app", async () => {
    const before = await snapshot();
    for (const target of TRICKS) {
      const path = target.split("?")[0] ?? target;
      await finalAnswer("PUT", path, ALICE, "value=pwned");
      await finalAnswer("DELETE", path, ALICE);
      await finalAnswer("POST", path, ALICE, "value=pwned");
    }
    // The dir itself, through a trailing slash (etcd lets /app/* reach /app this way).
    expect(
      (await finalAnswer("DELETE", "/v2/keys/app/?dir=true&recursive=true", ALICE)).status,
    ).toBe(401);
    const after = await snapshot();
    const outsideApp = (s: string) =>
      (JSON.parse(s) as { nodes: { key: string }[] }).nodes.filter((n) => n.key !== "/app");
    expect(JSON.stringify(outsideApp(after))).toBe(JSON.stringify(outsideApp(before)));
    const secret = await call("GET", "/v2/keys/secret/key", ROOT);
    expect(((await secret.json()) as { node: { value: string } }).node.value).toBe("top-secret");
  });
});

describe("a user who may only read cannot write in any form", () => {
  test("set, create, in-order POST, CAS, TTL refresh, dir create, delete, CAD, dir delete", async () => {
    const before = await snapshot();
    const attempts: [string, string, string][] = [
      ["PUT", "/v2/keys/app/a", "value=x"],
      ["PUT", "/v2/keys/app/new?prevExist=false", "value=x"],
      ["POST", "/v2/keys/app/dir", "value=x"],
      ["POST", "/v2/keys/app", "value=x"],
      ["PUT", "/v2/keys/app/a?prevValue=1", "value=x"],
      ["PUT", "/v2/keys/app/a?prevIndex=1", "value=x"],
      ["PUT", "/v2/keys/app/a", "ttl=5&refresh=true&prevExist=true"],
      ["PUT", "/v2/keys/app/newdir?dir=true", ""],
      ["DELETE", "/v2/keys/app/a", ""],
      ["DELETE", "/v2/keys/app/a?prevValue=1", ""],
      ["DELETE", "/v2/keys/app/dir?dir=true&recursive=true", ""],
      ["DELETE", "/v2/keys/app?dir=true&recursive=true", ""],
    ];
    for (const [method, target, body] of attempts) {
      const res = await formCall(method, target, READER, body);
      const answer = (await res.json()) as { errorCode?: number };
      expect({ method, target, status: res.status, code: answer.errorCode }).toEqual({
        method,
        target,
        status: 401,
        code: 110,
      });
    }
    expect(await snapshot()).toBe(before);
    const read = await call("GET", "/v2/keys/app/a", READER);
    expect(read.status).toBe(200);
  });
});

describe("guessing passwords", () => {
  /** Status, headers and body, without the date. */
  async function observed(auth: string) {
    const started = performance.now();
    const res = await call("GET", "/v2/keys/app/a", auth);
    const body = await res.text();
    const ms = performance.now() - started;
    const headers = [...res.headers.entries()].filter(([k]) => k !== "date").sort();
    return { answer: { status: res.status, headers, body }, ms };
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

  test("an unknown user and a wrong password get the same answer in the same time", async () => {
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 8; i++) {
      // A fresh guess each time: a repeated one is answered from memory, for both alike.
      const w = await observed(basic("alice", `guess-${i}`));
      const u = await observed(basic(`nobody-${i}`, `guess-${i}`));
      expect(u.answer).toEqual(w.answer);
      expect(w.answer.status).toBe(401);
      wrong.push(w.ms);
      unknown.push(u.ms);
    }
    // Both pay one bcrypt (tens of ms); without the decoy an unknown user took well under 1 ms.
    const ratio = median(unknown) / median(wrong);
    expect({ ratio, unknownMs: median(unknown) > 10 }).toEqual({
      ratio: expect.any(Number),
      unknownMs: true,
    });
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  test("thousands of failed logins leave the member answering everyone else", async () => {
    const late = JSON.stringify({ user: "late", password: "late-pw", roles: ["ro"] });
    await ok(call("PUT", "/v2/auth/users/late", ROOT, late), [200]);
    const flood = 2000;
    const { hostname, port } = new URL(member.clientUrl);
    const sockets: Socket[] = [];
    for (let i = 0; i < flood; i++) {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.on("error", () => {});
      const auth = basic(i % 2 === 0 ? "alice" : `ghost-${i}`, `flood-${i}`);
      socket.write(
        `GET /v2/keys/app/a HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: ${auth}\r\n\r\n`,
      );
      sockets.push(socket);
    }
    try {
      await Bun.sleep(500);
      // Remembered credentials, the health check and a write by root go through at once.
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const read = await call("GET", "/v2/keys/app/a", ALICE);
        expect(read.status).toBe(200);
        const write = await formCall("PUT", "/v2/keys/app/during-flood", ROOT, `value=${i}`);
        expect(write.status).toBeLessThan(300);
        const health = await call("GET", "/health", undefined);
        expect(health.status).toBe(200);
        expect(performance.now() - started).toBeLessThan(2000);
      }
    } finally {
      for (const s of sockets) s.destroy();
    }
    // The flood's clients are gone: their queued checks are dropped, so a first login (a real
    // bcrypt) is answered in about one check's time, not after thousands.
    await Bun.sleep(300);
    const started = performance.now();
    const first = await call("GET", "/v2/keys/app/a", basic("late", "late-pw"));
    expect(first.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
