/**
 * A follower whose WAL lost its last, already acknowledged record (a disk that lied about a
 * sync) must not serve or hang: the leader's heartbeat commits an index its log lacks, and the
 * member ends at once with one fatal line saying what broke and what to do, as etcd panics
 * with "tocommit(N) is out of range [lastIndex(M)]".
 */
import { afterEach, expect, test } from "bun:test";
import { closeSync, fstatSync, openSync, readdirSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { RecordCode, readFrame } from "../../src/wal/record.ts";
import { type ClusterProcess, startCluster } from "../support/cluster-process.ts";

/** The member must have exited by then (it used to retry on every heartbeat, for ever). */
const EXIT_WITHIN_MS = 15_000;

let cluster: ClusterProcess | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/** Zeroes the last entry record of the newest WAL segment and everything after it. */
function dropLastEntry(dataDir: string): void {
  const dir = join(dataDir, "member", "wal");
  const newest = readdirSync(dir)
    .filter((n) => n.endsWith(".wal"))
    .sort()
    .at(-1);
  if (newest === undefined) throw new Error(`no WAL segment in ${dir}`);
  const file = join(dir, newest);
  const fd = openSync(file, "r+");
  try {
    const buf = Buffer.alloc(fstatSync(fd).size);
    readSync(fd, buf, 0, buf.length, 0);
    let offset = 0;
    let lastEntryAt = -1;
    let end = 0;
    for (;;) {
      const frame = readFrame(buf, offset);
      if (frame.kind !== "frame") break;
      if (frame.code === RecordCode.entry) lastEntryAt = offset;
      offset += frame.sizeBytes;
      end = offset;
    }
    if (lastEntryAt < 0) throw new Error("no entry record to drop");
    writeSync(fd, new Uint8Array(end - lastEntryAt), 0, end - lastEntryAt, lastEntryAt);
  } finally {
    closeSync(fd);
  }
}

test("a follower that lost an acknowledged WAL record exits with one fatal line", async () => {
  cluster = await startCluster({ size: 3 });
  const leader = await cluster.leader();
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${leader.clientUrl}/v2/keys/k${i}`, {
      method: "PUT",
      body: new URLSearchParams({ value: `v${i}` }),
    });
    expect(res.status).toBe(201);
  }
  const follower = cluster.members.find((m) => m !== leader);
  if (follower === undefined) throw new Error("no follower");
  await Bun.sleep(500); // heartbeats carry the commit index to every follower
  await follower.kill("SIGKILL");
  dropLastEntry(follower.dataDir);
  const started = Date.now();
  await follower.restart().catch(() => undefined); // it may serve briefly or not at all
  while (follower.proc.exitCode === null && Date.now() - started < EXIT_WITHIN_MS) {
    await Bun.sleep(50);
  }
  expect(follower.proc.exitCode).toBe(1);
  const fatalLines = follower
    .output()
    .split("\n")
    .filter((l) => l.includes("fatal:"));
  expect(fatalLines).toHaveLength(1);
  expect(fatalLines[0]).toContain("invariant broken: tocommit(");
  expect(fatalLines[0]).toContain("Was the raft log corrupted, truncated, or lost?");
  expect(fatalLines[0]).toContain(`data dir ${follower.dataDir}`);
  expect(fatalLines[0]).toContain("etcdctl member remove");
  // The other two still form a quorum and serve writes.
  const res = await fetch(`${leader.clientUrl}/v2/keys/after`, {
    method: "PUT",
    body: new URLSearchParams({ value: "ok" }),
  });
  expect(res.status).toBe(201);
});
