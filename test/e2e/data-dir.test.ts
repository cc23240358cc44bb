/**
 * A member's data dir after damage or misuse, with real processes: a torn WAL tail is repaired,
 * a flipped bit in the middle of the WAL is refused with a clear error (exit 1, nothing served),
 * a lost snapshot database is rebuilt from the WAL, and a data dir started under another
 * member's name, or written by etcd, is refused.
 */
import { afterEach, expect, test } from "bun:test";
import { closeSync, fstatSync, openSync, readdirSync, readSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Snapshotter } from "../../src/snap/snapshotter.ts";
import { type MemberProcess, realEtcdInstalled, startMember } from "../support/cluster-process.ts";

let member: MemberProcess | undefined;
afterEach(async () => {
  await member?.stop();
  member = undefined;
});

async function putKeys(m: MemberProcess, count: number, prefix = "k"): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${m.clientUrl}/v2/keys/${prefix}${i}`, {
      method: "PUT",
      body: new URLSearchParams({ value: `value-${i}` }),
    });
    expect(res.status).toBe(201);
  }
}

async function getValue(m: MemberProcess, key: string): Promise<string | undefined> {
  const res = await fetch(`${m.clientUrl}/v2/keys/${key}`);
  const body = (await res.json()) as { node?: { value?: string } };
  return res.status === 200 ? body.node?.value : undefined;
}

function walSegment(dataDir: string): string {
  const dir = join(dataDir, "member", "wal");
  const name = readdirSync(dir).find((n) => n.endsWith(".wal"));
  if (name === undefined) throw new Error(`no WAL segment in ${dir}`);
  return join(dir, name);
}

/** Offset of the first occurrence of `needle` in the file, or -1. */
function findBytes(file: string, needle: Uint8Array): number {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(fstatSync(fd).size);
    readSync(fd, buf, 0, buf.length, 0);
    return buf.indexOf(needle);
  } finally {
    closeSync(fd);
  }
}

/** Offset just past the last non-zero byte of a preallocated segment. */
function writtenEnd(file: string): number {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(size);
    readSync(fd, buf, 0, size, 0);
    let end = size;
    while (end > 0 && buf[end - 1] === 0) end--;
    return end;
  } finally {
    closeSync(fd);
  }
}

function patch(file: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

function flipBit(file: string, offset: number): void {
  const fd = openSync(file, "r+");
  try {
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, offset);
    one[0] = (one[0] ?? 0) ^ 0x10;
    writeSync(fd, one, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

/** Restarts expecting a refusal: resolves with the output of a process that exited 1. */
async function restartExpectingRefusal(m: MemberProcess): Promise<string> {
  await m.kill("SIGKILL");
  const error = await m.restart().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  expect(m.proc.exitCode).toBe(1);
  return m.output();
}

test("a torn WAL tail is repaired and the earlier writes are kept", async () => {
  member = await startMember();
  await putKeys(member, 20);
  await member.kill("SIGKILL");
  const segment = walSegment(member.dataDir);
  const end = writtenEnd(segment);
  patch(segment, end - 12, new Uint8Array(12)); // the last record loses its tail
  await member.restart();
  expect(await getValue(member, "k0")).toBe("value-0");
  expect(await getValue(member, "k18")).toBe("value-18");
  await putKeys(member, 5, "after");
  expect(await getValue(member, "after4")).toBe("value-4");
});

test("a flipped bit in the middle of the WAL is refused with a clear error", async () => {
  member = await startMember();
  await putKeys(member, 50);
  await member.kill("SIGKILL");
  const segment = walSegment(member.dataDir);
  // Flip a bit inside the payload of a write from the middle of the log (CRC-covered bytes).
  const offset = findBytes(segment, new TextEncoder().encode("value-25"));
  expect(offset).toBeGreaterThan(0);
  flipBit(segment, offset + 3);
  const output = await restartExpectingRefusal(member);
  expect(output).toMatch(/cannot start member: wal: .*(crc|corrupt|mismatch)/i);
  expect(output).not.toContain("    at ");
  expect(output).toContain(segment.split("/").pop() ?? "");
});

test("a lost snapshot database is rebuilt from the WAL", async () => {
  member = await startMember({ extraArgs: ["--snapshot-count", "50"] });
  await putKeys(member, 120);
  await member.kill("SIGKILL");
  const snapDir = join(member.dataDir, "member", "snap");
  expect(readdirSync(snapDir).length).toBeGreaterThan(0);
  rmSync(snapDir, { recursive: true, force: true });
  await member.restart();
  expect(await getValue(member, "k0")).toBe("value-0");
  expect(await getValue(member, "k119")).toBe("value-119");
});

test("a corrupt snapshot database is refused with a clear error", async () => {
  member = await startMember({ extraArgs: ["--snapshot-count", "50"] });
  await putKeys(member, 120);
  await member.kill("SIGKILL");
  const snapDir = join(member.dataDir, "member", "snap");
  for (const name of readdirSync(snapDir)) {
    patch(join(snapDir, name), 0, new TextEncoder().encode("this is not a database at all!!"));
  }
  const output = await restartExpectingRefusal(member);
  expect(output).toMatch(/cannot start member: snapshot database .* is unreadable/);
  expect(output).not.toContain("    at ");
});

test("a data dir started under another member's name is refused", async () => {
  member = await startMember({ name: "infra0" });
  await putKeys(member, 3);
  await member.kill("SIGKILL");
  const other = member;
  const renamed = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "../../src/main.ts"),
      "--name",
      "infra1",
      "--data-dir",
      other.dataDir,
      "--listen-client-urls",
      other.clientUrl,
      "--advertise-client-urls",
      other.clientUrl,
      "--listen-peer-urls",
      other.peerUrl,
      "--initial-advertise-peer-urls",
      other.peerUrl,
      "--initial-cluster",
      `infra1=${other.peerUrl}`,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const stderr = await new Response(renamed.stderr).text();
  expect(await renamed.exited).toBe(1);
  expect(stderr).toContain('belongs to member "infra0"');
});

test.skipIf(!realEtcdInstalled)(
  "a data dir written by etcd is refused with one line, and nothing is written into it",
  async () => {
    member = await startMember({ kind: "etcd", extraArgs: ["--snapshot-count", "5"] });
    await putKeys(member, 12);
    await member.kill("SIGKILL");
    const files = () => readdirSync(join(member?.dataDir ?? "", "member", "snap")).sort();
    const before = files();
    expect(before).toContain("db");
    const m = member;
    const etcdBun = Bun.spawn(
      [
        process.execPath,
        join(import.meta.dir, "../../src/main.ts"),
        ...["--name", m.name, "--data-dir", m.dataDir],
        ...["--listen-client-urls", m.clientUrl, "--advertise-client-urls", m.clientUrl],
        ...["--listen-peer-urls", m.peerUrl, "--initial-advertise-peer-urls", m.peerUrl],
        ...["--initial-cluster", `${m.name}=${m.peerUrl}`],
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const stderr = await new Response(etcdBun.stderr).text();
    expect(await etcdBun.exited).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("etcd-bun cannot open a data dir written by etcd");
    expect(files()).toEqual(before);
  },
);

test("a snapshot saved without its WAL marker (crash in between) is skipped on restart", async () => {
  member = await startMember({ extraArgs: ["--snapshot-count", "50"] });
  await putKeys(member, 120);
  await member.kill("SIGKILL");
  // The state a crash right after the snapshot row was written, before its marker, leaves.
  const snapshotter = new Snapshotter(join(member.dataDir, "member", "snap"));
  const newest = snapshotter.loadNewest();
  if (newest === undefined) throw new Error("no snapshot was taken");
  snapshotter.save({ ...newest, meta: { ...newest.meta, index: newest.meta.index + 1000 } });
  snapshotter.close();
  await member.restart();
  expect(await getValue(member, "k0")).toBe("value-0");
  expect(await getValue(member, "k119")).toBe("value-119");
});
