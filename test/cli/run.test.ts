/** runCli in-process: role dispatch with a fake member, output routing and exit codes. */
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, walExistsOnDisk } from "../../src/cli/run.ts";
import type { Config } from "../../src/config/config.ts";

function harness() {
  const out: string[] = [];
  const err: string[] = [];
  const started: Config[] = [];
  return {
    out,
    err,
    started,
    io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) },
    deps: {
      runMember: async (c: Config) => {
        started.push(c);
      },
      walExists: () => false,
    },
  };
}

describe("runCli", () => {
  test("member role gets the parsed config", async () => {
    const h = harness();
    const code = await runCli(["-name", "n1", "--snapshot"], { ETCD_X: "1" }, h.io, h.deps);
    expect(code).toBe(0);
    expect(h.started.map((c) => c.name)).toEqual(["n1"]);
    expect(h.err).toEqual([
      'etcd-bun: warning: flag "-snapshot" is no longer supported - ignoring.',
      "etcd-bun: warning: unrecognized environment variable ETCD_X=1",
    ]);
  });

  test("a config error never starts the member", async () => {
    const h = harness();
    expect(await runCli(["--proxy", "maybe"], {}, h.io, h.deps)).toBe(1);
    expect(h.started).toEqual([]);
    expect(h.err).toHaveLength(1);
  });

  test("discovery --help shows the subcommand usage", async () => {
    const h = harness();
    expect(await runCli(["discovery", "--help"], {}, h.io, h.deps)).toBe(0);
    expect(h.out.join("\n")).toContain("discovery");
  });
});

describe("walExistsOnDisk", () => {
  test("true only with a .wal file", () => {
    const dir = mkdtempSync(join(tmpdir(), "etcd-bun-wal-"));
    try {
      const wal = join(dir, "member", "wal");
      expect(walExistsOnDisk(wal)).toBe(false);
      mkdirSync(wal, { recursive: true });
      expect(walExistsOnDisk(wal)).toBe(false);
      writeFileSync(join(wal, "0000000000000000-0000000000000000.wal"), "");
      expect(walExistsOnDisk(wal)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
