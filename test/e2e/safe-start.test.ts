/**
 * Starting a member safely, with real processes: one process per data dir (a kernel lock that
 * kill -9 releases), a failed bind that leaves the data dir untouched, and `backup` beside a
 * running member.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  freePort,
  type MemberProcess,
  soloMemberFlags,
  startMember,
} from "../support/cluster-process.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
/** A refused start must end this fast (it binds, fails the lock and exits). */
const REFUSAL_MS_MAX = 10_000;

let member: MemberProcess | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await member?.stop();
  member = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Every file under `dir` with its size and modification time, to prove nothing was written. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else out.push(`${path} ${st.size} ${st.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

async function put(url: string, key: string, value: string): Promise<number> {
  const res = await fetch(`${url}/v2/keys/${key}`, {
    method: "PUT",
    body: new URLSearchParams({ value }),
  });
  await res.arrayBuffer();
  return res.status;
}

async function get(url: string, key: string): Promise<string | undefined> {
  const res = await fetch(`${url}/v2/keys/${key}`);
  const body = (await res.json()) as { node?: { value?: string } };
  return res.status === 200 ? body.node?.value : undefined;
}

/** Runs etcd-bun with `args` to its exit (bounded); returns exit code and stderr. */
async function runToExit(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), REFUSAL_MS_MAX);
  const [stderr] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code: proc.exitCode, stderr };
}

function memberFlags(dataDir: string, extra: string[] = []): Promise<string[]> {
  return soloMemberFlags(dataDir).then((flags) => [...flags, ...extra]);
}

test("a second process on a data dir in use exits 1 naming the holder and writes nothing", async () => {
  member = await startMember();
  expect(await put(member.clientUrl, "a", "1")).toBe(201);
  // Paused, so its own background work (segment preallocation) cannot change the listing.
  member.proc.kill("SIGSTOP");
  const before = listing(member.dataDir);
  const second = await runToExit(await memberFlags(member.dataDir));
  // Listed before the member resumes: its preallocation goes on once it runs again.
  const after = listing(member.dataDir);
  member.proc.kill("SIGCONT");
  expect(second.code).toBe(1);
  expect(second.stderr.trim()).toBe(
    `etcd-bun: cannot start member: data dir ${member.dataDir} is locked by another process (pid ${member.proc.pid})`,
  );
  expect(after).toEqual(before);
  // The first member is undisturbed and its WAL intact after a restart.
  expect(await put(member.clientUrl, "b", "2")).toBe(201);
  await member.kill("SIGKILL");
  await member.restart(); // kill -9 released the lock
  expect(await get(member.clientUrl, "a")).toBe("1");
  expect(await get(member.clientUrl, "b")).toBe("2");
  expect(member.output()).not.toContain("repair");
});

test("a dedicated --wal-dir is locked too", async () => {
  const walDir = join(tempDir("etcd-bun-wal-"), "wal");
  member = await startMember({ extraArgs: ["--wal-dir", walDir] });
  const other = tempDir("etcd-bun-other-");
  const second = await runToExit(await memberFlags(other, ["--wal-dir", walDir]));
  expect(second.code).toBe(1);
  expect(second.stderr).toContain(
    `cannot start member: wal dir ${walDir} is locked by another process (pid ${member.proc.pid})`,
  );
});

test("backup works on a running member (it takes no lock and writes nothing there)", async () => {
  member = await startMember();
  expect(await put(member.clientUrl, "kept", "yes")).toBe(201);
  const backupDir = join(tempDir("etcd-bun-backup-"), "b");
  member.proc.kill("SIGSTOP");
  // SQLite readers take their read locks in the -shm index file: that is not data.
  const data = () => listing(member?.dataDir ?? "").filter((f) => !f.includes("-shm "));
  const before = data();
  const result = await runToExit([
    "backup",
    "--data-dir",
    member.dataDir,
    "--backup-dir",
    backupDir,
  ]);
  const after = data();
  member.proc.kill("SIGCONT");
  expect(result.code).toBe(0);
  expect(after).toEqual(before);
  expect(existsSync(join(backupDir, "member", "wal"))).toBe(true);
  expect(await put(member.clientUrl, "after", "ok")).toBe(201);
});

test("a taken peer port fails the start with Go's bind error and creates no data dir", async () => {
  const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  try {
    const dataDir = join(tempDir("etcd-bun-bind-"), "fresh.etcd");
    const flags = await memberFlags(dataDir);
    const taken = `http://127.0.0.1:${holder.port}`;
    const peerAt = flags.indexOf("--listen-peer-urls") + 1;
    const withTakenPort = flags.map((f, i) => (i === peerAt ? taken : f));
    const failed = await runToExit(withTakenPort);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim()).toBe(
      `etcd-bun: cannot start member: listen tcp 127.0.0.1:${holder.port}: bind: address already in use`,
    );
    expect(existsSync(dataDir)).toBe(false);
    // The taken client port fails the same way, after the peer port was bound and released.
    const clientAt = flags.indexOf("--listen-client-urls") + 1;
    const clientTaken = await runToExit(flags.map((f, i) => (i === clientAt ? taken : f)));
    expect(clientTaken.code).toBe(1);
    expect(clientTaken.stderr).toContain(`listen tcp 127.0.0.1:${holder.port}: bind:`);
    expect(existsSync(dataDir)).toBe(false);
  } finally {
    holder.stop(true);
  }
});

test("a unix:// client URL serves on a unix socket named by the URL's host, replaced after kill -9", async () => {
  const cwd = tempDir("etcd-bun-unix-");
  const peer = `http://127.0.0.1:${await freePort()}`;
  const unixUrl = "unix://localhost:12379";
  const args = [
    process.execPath,
    MAIN,
    ...(await soloMemberFlags(join(cwd, "d.etcd"), { client: unixUrl, peer })),
  ];
  const socket = join(cwd, "localhost:12379"); // etcd needs host:port and uses it as the name
  const serve = async () => {
    const proc = Bun.spawn(args, { cwd, stdout: "pipe", stderr: "pipe" });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const res = await fetch("http://localhost/v2/keys/u", {
        unix: socket,
        method: "PUT",
        body: new URLSearchParams({ value: "over-unix" }),
      }).catch(() => undefined);
      if (res !== undefined) {
        expect([200, 201]).toContain(res.status);
        return proc;
      }
      await Bun.sleep(100);
    }
    proc.kill("SIGKILL");
    throw new Error("no answer on the unix socket");
  };
  const first = await serve();
  first.kill("SIGKILL");
  await first.exited;
  expect(existsSync(socket)).toBe(true); // left behind by the kill
  const second = await serve(); // the stale socket file is replaced
  const res = await fetch("http://localhost/v2/keys/u", { unix: socket });
  expect(((await res.json()) as { node: { value: string } }).node.value).toBe("over-unix");
  second.kill("SIGTERM");
  expect(await second.exited).toBe(0);
});
