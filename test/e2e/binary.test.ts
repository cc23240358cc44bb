/**
 * The single executable: `bun build --compile` produces one file that starts a member with the
 * same (Go-style) flags and serves the keys API.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../support/cluster-process.ts";

const ROOT = resolve(import.meta.dir, "../..");
const workDir = mkdtempSync(join(tmpdir(), "etcd-bun-binary-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

test("the compiled binary starts a member from Go-style flags", async () => {
  const binary = join(workDir, "etcd-bun");
  const build = Bun.spawnSync(
    [
      process.execPath,
      "build",
      "--compile",
      "--minify",
      join(ROOT, "src/main.ts"),
      "--outfile",
      binary,
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  expect(build.exitCode).toBe(0);
  expect(statSync(binary).size).toBeGreaterThan(1_000_000);
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const proc = Bun.spawn(
    [
      binary,
      "-name",
      "infra0",
      "-data-dir",
      join(workDir, "data"),
      "-listen-client-urls",
      client,
      "-advertise-client-urls",
      client,
      "-listen-peer-urls",
      peer,
      "-initial-advertise-peer-urls",
      peer,
      "-initial-cluster",
      `infra0=${peer}`,
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  try {
    let status = 0;
    const deadline = Date.now() + 15_000;
    while (status !== 201 && Date.now() < deadline) {
      status = await fetch(`${client}/v2/keys/foo`, {
        method: "PUT",
        body: new URLSearchParams({ value: "bar" }),
      })
        .then((r) => r.status)
        .catch(() => 0);
      if (status !== 201) await Bun.sleep(100);
    }
    expect(status).toBe(201);
    const members = (await (await fetch(`${client}/v2/members`)).json()) as {
      members: { name: string }[];
    };
    expect(members.members.map((m) => m.name)).toEqual(["infra0"]);
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
});
