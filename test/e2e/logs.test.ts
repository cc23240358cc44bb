/**
 * Log formats at run time: capnslog lines by default, zap JSON lines with `--logger zap`, and
 * `--log-outputs` writing to a file too (zap), each line once.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMember } from "../support/cluster-process.ts";

const dir = mkdtempSync(join(tmpdir(), "etcd-bun-logs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("capnslog: time to the microsecond, level letter, package", async () => {
  const member = await startMember();
  try {
    const line = member
      .output()
      .split("\n")
      .find((l) => l.includes("leader is now"));
    expect(line).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} I \| etcdserver: leader is now /);
  } finally {
    await member.stop();
  }
}, 30_000);

test("zap: JSON lines on stderr and in a file", async () => {
  const file = join(dir, "member.log");
  const member = await startMember({
    extraArgs: ["--logger", "zap", "--log-outputs", `stderr,${file}`],
  });
  try {
    const onStderr = member
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: string; ts: string; caller: string; msg: string });
    const leader = onStderr.find((l) => l.msg.startsWith("leader is now"));
    expect(leader).toMatchObject({ level: "info", caller: "etcdserver" });
    expect(leader?.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const inFile = readFileSync(file, "utf8").trim().split("\n");
    expect(
      inFile.some((l) => (JSON.parse(l) as { msg: string }).msg.startsWith("leader is now")),
    ).toBe(true);
  } finally {
    await member.stop();
  }
}, 30_000);

test("--debug: refused client requests are logged at debug level, and only then", async () => {
  const quiet = await startMember();
  const loud = await startMember({ extraArgs: ["--debug"] });
  try {
    for (const m of [quiet, loud])
      expect((await fetch(`${m.clientUrl}/v2/keys/missing`)).status).toBe(404);
    const refused = (m: typeof loud) =>
      m
        .output()
        .split("\n")
        .filter((l) => l.includes("client request GET") && l.includes("/v2/keys/missing"));
    await Bun.sleep(100);
    expect(refused(loud)).toHaveLength(1);
    expect(refused(loud)[0]).toMatch(
      / D \| etcdserver: client request GET \S+\/v2\/keys\/missing answered 404$/,
    );
    expect(refused(quiet)).toEqual([]);
  } finally {
    await Promise.all([quiet.stop(), loud.stop()]);
  }
}, 30_000);

test("PUT /config/local/log changes the level of a running member, as etcd's", async () => {
  const member = await startMember();
  const setLevel = (Level: string) =>
    fetch(`${member.clientUrl}/config/local/log`, {
      method: "PUT",
      body: JSON.stringify({ Level }),
    }).then((res) => res.status);
  const missing = async (key: string) => {
    expect((await fetch(`${member.clientUrl}/v2/keys/${key}`)).status).toBe(404);
    await Bun.sleep(100);
    return member.output().includes(`/v2/keys/${key} answered 404`);
  };
  try {
    expect(await missing("before")).toBe(false);
    expect(await setLevel("DEBUG")).toBe(204);
    expect(member.output()).toContain('globalLogLevel set to "DEBUG"');
    expect(await missing("while-debug")).toBe(true);
    expect(await setLevel("INFO")).toBe(204);
    expect(await missing("after")).toBe(false);
    expect(await setLevel("LOUD")).toBe(400);
  } finally {
    await member.stop();
  }
}, 30_000);
