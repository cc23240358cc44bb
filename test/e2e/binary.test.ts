/**
 * The single executable: package.json's "build" (`bun build --compile`) produces one file that
 * starts a member with the same (Go-style) flags, serves the keys API and the dashboard (bundled
 * inside it), and writes snapshots on its save worker (the build's second entrypoint).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../support/cluster-process.ts";

const ROOT = resolve(import.meta.dir, "../..");
const workDir = mkdtempSync(join(tmpdir(), "etcd-bun-binary-"));
const binary = join(workDir, "etcd-bun");
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** A one-member cluster's flags, Go-style (`-`) or GNU-style (`--`). */
function memberFlags(
  dash: "-" | "--",
  name: string,
  dataDir: string,
  client: string,
  peer: string,
) {
  const flags: [string, string][] = [
    ["name", name],
    ["data-dir", dataDir],
    ["listen-client-urls", client],
    ["advertise-client-urls", client],
    ["listen-peer-urls", peer],
    ["initial-advertise-peer-urls", peer],
    ["initial-cluster", `${name}=${peer}`],
  ];
  return flags.flatMap(([flag, value]) => [`${dash}${flag}`, value]);
}

/** package.json's build command, run by this Bun and writing to `binary`. */
beforeAll(() => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    scripts: { build: string };
  };
  const args = pkg.scripts.build.split(/\s+/);
  expect(args.slice(0, 2)).toEqual(["bun", "build"]);
  const outfile = args.indexOf("--outfile");
  args.splice(outfile, 2, "--outfile", binary);
  const build = Bun.spawnSync([process.execPath, ...args.slice(1)], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(build.exitCode).toBe(0);
  expect(statSync(binary).size).toBeGreaterThan(1_000_000);
});

test("the compiled binary starts a member from Go-style flags", async () => {
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const proc = Bun.spawn(
    [binary, ...memberFlags("-", "infra0", join(workDir, "data"), client, peer)],
    {
      stdout: "ignore",
      stderr: "pipe",
    },
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
    // The dashboard's script and styles were bundled into the binary at build time.
    const script = await (await fetch(`${client}/dashboard/app.js`)).text();
    expect(script).toContain("/dashboard/api/cluster");
    expect(await (await fetch(`${client}/dashboard/app.css`)).text()).toContain(".uplot");
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
});

test("the compiled binary writes snapshots on its save worker, and restarts from them", async () => {
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const dataDir = join(workDir, "snap-data");
  const flags = [...memberFlags("--", "default", dataDir, client, peer), "--snapshot-count", "50"];
  const start = () => Bun.spawn([binary, ...flags], { stdout: "ignore", stderr: "pipe" });
  const waitUp = async () => {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const ok = await fetch(`${client}/version`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await Bun.sleep(50);
    }
    throw new Error("binary did not start");
  };
  let proc = start();
  let log = "";
  try {
    await waitUp();
    for (let i = 0; i < 120; i++) {
      const res = await fetch(`${client}/v2/keys/k${i}`, {
        method: "PUT",
        body: new URLSearchParams({ value: `v${i}` }),
      });
      expect(res.status).toBe(201);
    }
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    log = await new Response(proc.stderr).text();
  }
  expect(log).toContain("saved snapshot at index");
  expect(log).not.toContain("main thread");
  proc = start();
  try {
    await waitUp();
    const res = await fetch(`${client}/v2/keys/k119`);
    expect(((await res.json()) as { node: { value: string } }).node.value).toBe("v119");
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
});
