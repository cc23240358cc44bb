/**
 * The dashboard's routes and cluster view without a browser: methods, headers, the member's
 * own status, `--dashboard=false`, and members that cannot be asked (said in words, in time).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { clusterView, MembersUnavailable } from "../../src/dashboard/cluster-view.ts";
import type { ClusterView, MemberStatus } from "../../src/dashboard/status.ts";
import { makeTestCerts, serverTlsFlags, type TestCerts } from "../support/certs.ts";
import {
  type ClusterProcess,
  freePort,
  type MemberProcess,
  startCluster,
  startMember,
} from "../support/cluster-process.ts";

let member: MemberProcess;
let turnedOff: MemberProcess;

beforeAll(async () => {
  [member, turnedOff] = await Promise.all([
    startMember(),
    startMember({ extraArgs: ["--dashboard=false"] }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([member?.stop(), turnedOff?.stop()]);
});

test("the page, its script and styles are served with a same-origin content policy", async () => {
  for (const [path, type] of [
    ["/dashboard", "text/html"],
    ["/dashboard/", "text/html"],
    ["/dashboard/app.js", "text/javascript"],
    ["/dashboard/app.css", "text/css"],
  ] as const) {
    const res = await fetch(`${member.clientUrl}${path}`);
    expect({ path, status: res.status }).toEqual({ path, status: 200 });
    expect(res.headers.get("content-type")).toStartWith(type);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect((await res.text()).length).toBeGreaterThan(100);
  }
});

test("only GET and HEAD; unknown paths under /dashboard are 404", async () => {
  const post = await fetch(`${member.clientUrl}/dashboard/`, { method: "POST" });
  expect(post.status).toBe(405);
  expect(post.headers.get("allow")).toBe("GET, HEAD");
  expect((await fetch(`${member.clientUrl}/dashboard/nothing`)).status).toBe(404);
});

test("a member reports its own Raft position and counters", async () => {
  await fetch(`${member.clientUrl}/v2/keys/counted`, {
    method: "PUT",
    body: "value=1",
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  const status = (await (
    await fetch(`${member.clientUrl}/dashboard/api/status`)
  ).json()) as MemberStatus;
  expect(status.state).toBe("leader");
  expect(status.leader).toBe(status.id);
  expect(status.name).toBe(member.name);
  expect(status.applied).toBeGreaterThan(0);
  expect(status.commit).toBeGreaterThanOrEqual(status.applied);
  expect(status.counters.writes).toBeGreaterThanOrEqual(1);
  expect(status.counters.fsyncs).toBeGreaterThan(0);
  expect(status.counters.leaderChanges).toBe(1);
});

test("--dashboard=false: nothing is served under /dashboard", async () => {
  for (const path of ["/dashboard", "/dashboard/app.js", "/dashboard/api/status"])
    expect({ path, status: (await fetch(`${turnedOff.clientUrl}${path}`)).status }).toEqual({
      path,
      status: 404,
    });
});

test("members that cannot be asked are listed with the reason, within the timeout", async () => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  const started = performance.now();
  const view = await clusterView({
    role: "proxy",
    members: async () => [
      { id: "a", name: "up", peerURLs: [], clientURLs: [member.clientUrl] },
      { id: "b", name: "down", peerURLs: [], clientURLs: [closed] },
      { id: "c", name: "off", peerURLs: [], clientURLs: [turnedOff.clientUrl] },
      { id: "d", name: "", peerURLs: ["http://127.0.0.1:1"], clientURLs: [] },
    ],
  });
  expect(performance.now() - started).toBeLessThan(3000);
  const byName = new Map(view.members.map((m) => [m.name, m]));
  expect(byName.get("up")?.status?.state).toBe("leader");
  expect(byName.get("down")?.error).toBe(`${closed} unreachable`);
  expect(byName.get("off")?.error).toContain("answered 404 without a member status");
  expect(byName.get("")?.error).toContain("not started yet");
});

test("a proxy that reaches no member says so instead of failing", async () => {
  const view = await clusterView({
    role: "proxy",
    members: async () => {
      throw new MembersUnavailable("no member of the cluster answered with its member list");
    },
  });
  expect(view).toEqual({
    servedBy: { role: "proxy" },
    members: [],
    error: "no member of the cluster answered with its member list",
  });
});

describe("members on https client URLs with --client-cert-auth", () => {
  let certs: TestCerts;
  let tlsCluster: ClusterProcess | undefined;
  beforeAll(async () => {
    certs = makeTestCerts();
    const client = { ca: certs.ca, cert: certs.client.cert, key: certs.client.key };
    tlsCluster = await startCluster({
      size: 2,
      httpsClients: client,
      extraArgs: serverTlsFlags(certs, true),
    });
  }, 60_000);
  afterAll(async () => {
    await tlsCluster?.stop();
    certs?.remove();
  });

  test("the overview asks the other member with this member's certificate", async () => {
    const [first] = tlsCluster?.members ?? [];
    const tls = { ca: certs.ca, cert: certs.client.cert, key: certs.client.key };
    const res = await fetch(`${first?.clientUrl}/dashboard/api/cluster`, { tls });
    const view = (await res.json()) as ClusterView;
    expect(view.members.map((m) => [m.name, m.error, m.status?.leader !== ""])).toEqual([
      ["infra0", undefined, true],
      ["infra1", undefined, true],
    ]);
  });
});
