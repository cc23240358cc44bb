/**
 * The entry point as a process: exit codes, one-line errors, nothing created on disk, and the
 * --version / --help / unimplemented-role paths. Never reaches the member role.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/config.ts";

/** What the CLI asks of the parser. */
const OPTIONS = { refuseUnsupported: true } as const;

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
    [["--election-timeout", "100"], {}, "etcd-bun: --election-timeout[100ms] should be at least"],
    [["--name", "x"], { ETCD_NAME: "y" }, 'etcd-bun: conflicting environment variable "ETCD_NAME"'],
    [
      ["--name", "foo", "--initial-cluster", "bar=http://localhost:2380"],
      {},
      'etcd-bun: couldn\'t find local name "foo"',
    ],
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

describe("a command line that does not parse", () => {
  test.each([
    [["-name", "x", "-bogus"], "etcd-bun: flag provided but not defined: -bogus"],
    [["-peers", "a"], 'etcd-bun: flag "-peers" is no longer supported.'],
    [["--snapshot-count", "abc"], 'etcd-bun: invalid value "abc" for flag -snapshot-count'],
    [["--name"], "etcd-bun: flag needs an argument: -name"],
  ] as const)("%j → exit 2, as etcd's flag package", (argv, prefix) => {
    const r = run(argv);
    expect(r.code).toBe(2);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    expect(lines[0]?.startsWith(prefix)).toBe(true);
    expect(lines.slice(1)).toEqual(["Usage: etcd-bun [flags] (etcd-bun --help lists them)"]);
    expect(readdirSync(work)).toEqual([]);
  });

  test("an argument after the flags is exit 1 (etcd checks it after parsing)", () => {
    const r = run(["--name", "x", "y"]);
    expect([r.code, r.stderr]).toEqual([1, "etcd-bun: 'y' is not a valid flag\n"]);
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

  test("warnings go to stderr before the refusal", () => {
    const r = run(["--enable-pprof"], { ETCD_BOGUS: "1" });
    expect(r.stderr).toBe(
      "etcd-bun: warning: unrecognized environment variable ETCD_BOGUS=1\netcd-bun: --enable-pprof is not supported (Go's pprof profiles have no Bun equivalent; /metrics and /debug/vars show the runtime)\n",
    );
  });
});

describe("flags and roles not supported are refused with exit 1, saying why", () => {
  test.each([
    [
      ["--proxy", "on", "--proxy-write-timeout", "100"],
      "--proxy-write-timeout is not supported (no per-write deadline toward the members; --proxy-read-timeout bounds answers)",
    ],
    [
      ["--enable-pprof"],
      "--enable-pprof is not supported (Go's pprof profiles have no Bun equivalent; /metrics and /debug/vars show the runtime)",
    ],
    [
      ["--enable-v2=false"],
      "--enable-v2 is not supported (etcd-bun serves the v2 API only; without it there would be nothing to serve)",
    ],
    [
      ["--enable-pprof=true", "--proxy", "on"],
      "--enable-pprof is not supported (Go's pprof profiles have no Bun equivalent; /metrics and /debug/vars show the runtime)",
    ],
    [
      [
        "--listen-client-urls",
        "unixs://127.0.0.1:23790",
        "--advertise-client-urls",
        "http://127.0.0.1:23790",
      ],
      "TLS key/cert (--cert-file, --key-file) must be provided for client url unixs://127.0.0.1:23790 with HTTPS scheme",
    ],
  ] as const)("%j", (argv, line) => {
    const r = run([...argv]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`etcd-bun: ${line}\n`);
    expect(readdirSync(work)).toEqual([]);
  });

  test("an ETCD_* variable of a refused flag is refused the same way", () => {
    const r = run([], { ETCD_ENABLE_PPROF: "true" });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "etcd-bun: ETCD_ENABLE_PPROF is not supported (Go's pprof profiles have no Bun equivalent; /metrics and /debug/vars show the runtime)\n",
    );
  });

  test("a refused flag at its default, or a value naming what is done already, is accepted", () => {
    for (const argv of [["--proxy-write-timeout", "5000"], ["--enable-pprof=false"]]) {
      expect(parseConfig(argv, {}, OPTIONS).refused).toBeUndefined();
    }
    expect(parseConfig(["--enable-pprof"], {}, OPTIONS).refused).toBeDefined();
  });
});

describe("v3-only flags are accepted with one warning", () => {
  test("--quota-backend-bytes and ETCD_MAX_REQUEST_BYTES", () => {
    const parsed = parseConfig(
      ["--quota-backend-bytes", "8589934592"],
      {
        ETCD_MAX_REQUEST_BYTES: "100",
      },
      OPTIONS,
    );
    expect(parsed.refused).toBeUndefined();
    expect(parsed.warnings).toEqual([
      "--quota-backend-bytes only concerns etcd's v3 API; it has no effect on the v2 API",
      "ETCD_MAX_REQUEST_BYTES only concerns etcd's v3 API; it has no effect on the v2 API",
    ]);
  });
});
