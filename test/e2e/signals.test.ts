/**
 * Stopping a member by signal, with real processes: SIGTERM and SIGINT under a write load stop
 * it cleanly (exit 0, every acknowledged write kept, a WAL that needs no repair), and killing
 * the `npm start` process stops the member it started instead of orphaning it; a member still
 * waiting for its cluster or its discovery URL stops at once.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  freePort,
  type MemberProcess,
  soloMemberFlags,
  startMember,
} from "../support/cluster-process.ts";

const ROOT = resolve(import.meta.dir, "../..");
/** A clean stop takes well under this; the member gives itself 10 s before it gives up. */
const STOP_MS_MAX = 8_000;
const WRITERS = 8;

let member: MemberProcess | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await member?.stop();
  member = undefined;
  for (const c of cleanups.splice(0)) c();
});

/** Writers that record what was acknowledged until `stop.now` or a connection error. */
function writeLoad(url: string, acked: Map<string, string>, stop: { now: boolean }) {
  return Array.from({ length: WRITERS }, async (_, w) => {
    for (let i = 0; !stop.now; i++) {
      const key = `/sig/w${w}/k${i}`;
      try {
        const res = await fetch(`${url}/v2/keys${key}`, {
          method: "PUT",
          body: new URLSearchParams({ value: `v${i}` }),
        });
        await res.arrayBuffer();
        if (res.status === 201) acked.set(key, `v${i}`);
      } catch {
        return; // the member stopped: this write's outcome is unknown
      }
    }
  });
}

async function exitWithin(m: MemberProcess, ms: number): Promise<number | null> {
  const timer = setTimeout(() => m.proc.kill("SIGKILL"), ms);
  await m.proc.exited;
  clearTimeout(timer);
  return m.proc.signalCode === null ? m.proc.exitCode : null;
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal} under a write load stops the member cleanly and keeps every acknowledged write`, async () => {
    member = await startMember();
    const acked = new Map<string, string>();
    const stop = { now: false };
    const writers = writeLoad(member.clientUrl, acked, stop);
    await Bun.sleep(600);
    member.proc.kill(signal);
    expect(await exitWithin(member, STOP_MS_MAX)).toBe(0);
    stop.now = true;
    await Promise.all(writers);
    expect(member.output()).toContain(`received ${signal}, shutting down`);
    expect(acked.size).toBeGreaterThan(0);
    await member.restart();
    expect(member.output()).not.toContain("repair");
    for (const [key, value] of acked) {
      const res = await fetch(`${member.clientUrl}/v2/keys${key}`);
      const body = (await res.json()) as { node?: { value?: string } };
      expect(body.node?.value).toBe(value);
    }
  });
}

/** The pids of `pid`'s children (Linux /proc). */
function childrenOf(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .trim()
    .split(/\s+/)
    .filter((s) => s !== "")
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("killing `npm start` stops the member it started", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "etcd-bun-npm-"));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const client = `http://127.0.0.1:${await freePort()}`;
  const flags = await soloMemberFlags(dataDir, { client });
  const npm = Bun.spawn(["npm", "start", "--silent", "--", ...flags], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  let memberPid: number | undefined;
  cleanups.push(() => {
    npm.kill("SIGKILL");
    if (memberPid !== undefined && alive(memberPid)) process.kill(memberPid, "SIGKILL");
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`${client}/v2/keys/`, { signal: AbortSignal.timeout(500) })
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) break;
    await Bun.sleep(100);
  }
  // npm runs the script through a shell; the member is npm's child or grandchild.
  const descendants = childrenOf(npm.pid).flatMap((c) => [c, ...childrenOf(c)]);
  memberPid = descendants.find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dataDir));
  expect(memberPid).toBeDefined();
  npm.kill("SIGTERM");
  await npm.exited;
  const gone = Date.now() + STOP_MS_MAX;
  while (memberPid !== undefined && alive(memberPid) && Date.now() < gone) await Bun.sleep(50);
  expect(memberPid !== undefined && alive(memberPid)).toBe(false);
  const answered = await fetch(`${client}/version`, { signal: AbortSignal.timeout(500) })
    .then(() => true)
    .catch(() => false);
  expect(answered).toBe(false);
});

/** Starts a member that cannot finish its start (`extra` says why), and stops it with SIGTERM. */
async function stopWhileStarting(extra: (peer: string) => Promise<string[]>) {
  const dataDir = mkdtempSync(join(tmpdir(), "etcd-bun-starting-"));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const proc = Bun.spawn(
    [
      process.execPath,
      join(ROOT, "src/main.ts"),
      ...["--name", "a", "--data-dir", dataDir],
      ...["--listen-client-urls", client, "--advertise-client-urls", client],
      ...["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer],
      ...(await extra(peer)),
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  cleanups.push(() => proc.kill("SIGKILL"));
  const output = new Response(proc.stderr).text();
  await Bun.sleep(2500);
  const sent = performance.now();
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_MS_MAX);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, tookMs: performance.now() - sent, output: await output };
}

test("a member waiting for its peers to elect a leader stops at once on SIGTERM", async () => {
  const stopped = await stopWhileStarting(async (peer) => [
    "--initial-cluster",
    `a=${peer},b=http://127.0.0.1:${await freePort()},c=http://127.0.0.1:${await freePort()}`,
  ]);
  expect(stopped.code).toBe(0);
  expect(stopped.tookMs).toBeLessThan(2000);
  expect(stopped.output).not.toContain("could not stop");
}, 20_000);

test("a member waiting on its discovery URL stops at once on SIGTERM", async () => {
  const stopped = await stopWhileStarting(async () => [
    "--discovery",
    `http://127.0.0.1:${await freePort()}/v2/keys/discovery/token`,
  ]);
  expect(stopped.code).toBe(0);
  expect(stopped.tookMs).toBeLessThan(2000);
  expect(stopped.output).toContain("stopped before the member started");
}, 20_000);
