/**
 * Auth data lives in the replicated store: it reaches every member through Raft, a member that
 * joins after the log was compacted gets it in a snapshot, a restart keeps it, and a backup
 * restored with --force-new-cluster still enforces it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backupDataDir } from "../../src/tools/backup.ts";
import {
  type ClusterProcess,
  type MemberProcess,
  startCluster,
  startMember,
} from "../support/cluster-process.ts";
import { addAndStartMember } from "../support/membership.ts";
import { basic, sendAs } from "./auth-cases.ts";

const ROOT = basic("root", "rootpw");
const ALICE = basic("alice", "alice-pw");

function send(m: MemberProcess, method: string, path: string, auth?: string, body?: string) {
  return sendAs(m.clientUrl, method, path, auth, body);
}

async function expectStatus(
  m: MemberProcess,
  method: string,
  path: string,
  auth: string | undefined,
  status: number,
  body?: string,
) {
  const r = await send(m, method, path, auth, body);
  expect({ path, status: r.status }).toEqual({ path, status });
  return r;
}

/** Waits until `m` has applied auth being on (a follower applies a moment after the leader). */
async function authOn(m: MemberProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const r = await send(m, "GET", "/v2/auth/enable");
    if (r.text.includes('"enabled":true')) return;
    await Bun.sleep(50);
  }
  throw new Error(`auth not on at ${m.name}`);
}

/** What a member enforces: no guest, alice reads /app, root reads anything, alice not /other. */
async function enforces(m: MemberProcess): Promise<void> {
  await authOn(m);
  await expectStatus(m, "GET", "/v2/keys/app/a", undefined, 401);
  await expectStatus(m, "PUT", "/v2/keys/app/a", undefined, 401, "value=x");
  const read = await expectStatus(m, "GET", "/v2/keys/app/a", ALICE, 200);
  expect(read.text).toContain('"value":"1"');
  await expectStatus(m, "GET", "/v2/keys/other", ALICE, 401);
  await expectStatus(m, "GET", "/v2/keys/other", ROOT, 200);
  await expectStatus(m, "GET", "/v2/auth/users", ALICE, 401);
  const users = await expectStatus(m, "GET", "/v2/auth/users", ROOT, 200);
  expect(users.text).toContain('"user":"alice"');
  expect(users.text).not.toContain("password");
}

describe("auth data across members, snapshots, restarts and backups", () => {
  let cluster: ClusterProcess;
  const extra: MemberProcess[] = [];
  const dirs: string[] = [];
  beforeAll(async () => {
    cluster = await startCluster({
      size: 3,
      extraArgs: ["--snapshot-count", "20"],
      env: { ETCDBUN_SNAPSHOT_CATCHUP_ENTRIES: "10" },
    });
  });
  afterAll(async () => {
    await Promise.all(extra.map((m) => m.stop()));
    await cluster?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("set up on one member, enforced on the others", async () => {
    const [a, b, c] = cluster.members as [MemberProcess, MemberProcess, MemberProcess];
    await expectStatus(
      a,
      "PUT",
      "/v2/auth/users/root",
      undefined,
      201,
      '{"user":"root","password":"rootpw"}',
    );
    const role = { role: "app", permissions: { kv: { read: ["/app/*"], write: ["/app/*"] } } };
    await expectStatus(b, "PUT", "/v2/auth/roles/app", undefined, 201, JSON.stringify(role));
    const alice = { user: "alice", password: "alice-pw", roles: ["app"] };
    await expectStatus(c, "PUT", "/v2/auth/users/alice", undefined, 200, JSON.stringify(alice));
    await expectStatus(a, "PUT", "/v2/keys/app/a", undefined, 201, "value=1");
    await expectStatus(a, "PUT", "/v2/keys/other", undefined, 201, "value=1");
    await expectStatus(b, "PUT", "/v2/auth/enable", undefined, 200);
    await expectStatus(c, "DELETE", "/v2/auth/roles/guest", ROOT, 200);
    for (const m of cluster.members) await enforces(m);
  });

  test("a member joining after compaction gets it in a snapshot", async () => {
    const [a] = cluster.members as [MemberProcess];
    for (let i = 0; i < 60; i++)
      await expectStatus(a, "PUT", `/v2/keys/app/k${i}`, ROOT, 201, "value=v");
    await expectStatus(
      a,
      "POST",
      "/v2/members",
      undefined,
      401,
      '{"peerURLs":["http://127.0.0.1:9"]}',
    );
    const joined = await addAndStartMember(a, "infra3", [], "etcd-bun", "http", ROOT);
    extra.push(joined);
    await enforces(joined);
    expect(joined.output()).toMatch(/snapshot/i);
    // The sender says so once it is through (etcd's rafthttp line).
    const sent =
      /I \| rafthttp: database snapshot \[index: \d+, to: [0-9a-f]+\] sent out successfully/;
    expect(cluster.members.map((m) => m.output()).join("\n")).toMatch(sent);
  });

  test("a restart keeps it", async () => {
    const b = cluster.members[1] as MemberProcess;
    await b.restart();
    await enforces(b);
  });

  test("a backup restored with --force-new-cluster still enforces it", async () => {
    const a = cluster.members[0] as MemberProcess;
    const backupDir = mkdtempSync(join(tmpdir(), "etcd-bun-auth-backup-"));
    dirs.push(backupDir);
    await backupDataDir({ dataDir: a.dataDir, backupDir });
    const restored = await startMember({ dataDir: backupDir, extraArgs: ["--force-new-cluster"] });
    extra.push(restored);
    await enforces(restored);
  });
});
