/**
 * The entry point as a process: exit codes, one-line errors, nothing created on disk, and the
 * --version / --help / unimplemented-role paths. Never reaches the member role.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const work = mkdtempSync(join(tmpdir(), "etcd-bun-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(argv: readonly string[], env: Record<string, string> = {}): Run {
  const cleanEnv: Record<string, string> = { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...env };
  const r = Bun.spawnSync([process.execPath, MAIN, ...argv], { cwd: work, env: cleanEnv });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("bad configuration", () => {
  test.each([
    [["-name", "x", "-bogus"], {}, "etcd-bun: flag provided but not defined: -bogus"],
    [["--election-timeout", "100"], {}, "etcd-bun: --election-timeout[100ms] should be at least"],
    [["--name", "x"], { ETCD_NAME: "y" }, 'etcd-bun: conflicting environment variable "ETCD_NAME"'],
    [
      ["--name", "foo", "--initial-cluster", "bar=http://localhost:2380"],
      {},
      'etcd-bun: couldn\'t find local name "foo"',
    ],
    [["-peers", "a"], {}, 'etcd-bun: flag "-peers" is no longer supported.'],
  ] as const)("%j → exit 1", (argv, env, prefix) => {
    const dataDir = join(work, "data");
    const r = run([...argv, "--data-dir", dataDir], env);
    expect(r.code).toBe(1);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(1);
    expect(lines[0]?.startsWith(prefix)).toBe(true);
    expect(r.stdout).toBe("");
    expect(existsSync(dataDir)).toBe(false);
    expect(readdirSync(work)).toEqual([]);
  });
});

describe("informational roles", () => {
  test("--version", () => {
    const r = run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("etcd-bun Version: 0.1.0\n");
    expect(r.stdout).toContain("Compatible etcd Version: 2.3.8\n");
    expect(r.stderr).toBe("");
  });

  test("--help lists flags with their env names", () => {
    const r = run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "--initial-cluster 'default=http://localhost:2380' [ETCD_INITIAL_CLUSTER]",
    );
    expect(r.stdout).toContain("--snapshot-count 100000 [ETCD_SNAPSHOT_COUNT]");
    expect(r.stdout).toContain("etcd-bun discovery");
    expect(run(["-h"]).stdout).toBe(r.stdout);
  });

  test("warnings go to stderr before the role runs", () => {
    const r = run(["--proxy", "on"], { ETCD_BOGUS: "1" });
    expect(r.stderr).toBe(
      "etcd-bun: warning: unrecognized environment variable ETCD_BOGUS=1\netcd-bun: proxy role is not yet implemented\n",
    );
  });
});

describe("unimplemented roles exit 2", () => {
  test.each([[["--proxy", "on"]], [["-proxy=readonly"]], [["discovery"]]] as const)(
    "%j",
    (argv) => {
      const r = run([...argv]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^etcd-bun: (proxy|discovery) role is not yet implemented\n$/);
      expect(readdirSync(work)).toEqual([]);
    },
  );
});
