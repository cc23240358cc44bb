/**
 * `--config-file`: etcd 3.4's YAML file replaces the flags and environment. Parsed here against
 * the flag table; and started for real, etcd-bun and etcd 3.4 from the same file.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseConfig } from "../../src/config/config.ts";
import { freePort, REAL_ETCD, realEtcdInstalled } from "../support/cluster-process.ts";

const files = new Map<string, string>();
const readFile = (path: string) => {
  const text = files.get(path);
  if (text === undefined) throw new Error(`open ${path}: no such file or directory`);
  return text;
};

describe("parsing", () => {
  test("its keys set the flags they name; flags and variables given are ignored", () => {
    files.set(
      "/etc/etcd.yml",
      [
        "name: infra0",
        "data-dir: /var/lib/etcd",
        "snapshot-count: 500",
        "heartbeat-interval: 50",
        "election-timeout: 500",
        "strict-reconfig-check: false",
        "listen-peer-urls: http://10.0.0.1:2380",
        "initial-advertise-peer-urls: http://10.0.0.1:2380",
        "listen-client-urls: http://10.0.0.1:2379,http://127.0.0.1:2379",
        "advertise-client-urls: http://10.0.0.1:2379",
        "initial-cluster: infra0=http://10.0.0.1:2380,infra1=http://10.0.0.2:2380",
        "initial-cluster-state: new",
        "log-outputs: [stderr]",
        "client-transport-security:",
        "  client-cert-auth: false",
        "peer-transport-security:",
        "  auto-tls: false",
      ].join("\n"),
    );
    const parsed = parseConfig(
      ["--config-file", "/etc/etcd.yml", "--snapshot-count", "7", "--name", "flagname"],
      // Not read at all (no conflict with --name, no warning), as in etcd.
      { ETCD_HEARTBEAT_INTERVAL: "30", ETCD_NAME: "envname", ETCD_BOGUS: "1" },
      { readFile },
    );
    const c = parsed.config;
    expect([
      c.name,
      c.dataDir,
      c.snapshotCount,
      c.heartbeatIntervalMs,
      c.electionTimeoutMs,
    ]).toEqual(["infra0", "/var/lib/etcd", 500, 50, 500]);
    expect(c.strictReconfigCheck).toBe(false);
    expect(c.listenClientUrls.map((u) => u.href)).toEqual([
      "http://10.0.0.1:2379/",
      "http://127.0.0.1:2379/",
    ]);
    expect([...c.initialCluster.keys()]).toEqual(["infra0", "infra1"]);
    expect(parsed.warnings).toEqual([
      'loading server configuration from "/etc/etcd.yml"; other configuration command line flags and environment variables are ignored',
    ]);
  });

  test("ETCD_CONFIG_FILE names it too", () => {
    files.set("/etc/env.yml", "name: fromenv\n");
    const parsed = parseConfig([], { ETCD_CONFIG_FILE: "/etc/env.yml" }, { readFile });
    expect(parsed.config.name).toBe("fromenv");
  });

  test("an unknown key is warned about; a bad value or file stops the start with one line", () => {
    files.set("/etc/typo.yml", "nmae: x\n");
    expect(parseConfig(["--config-file", "/etc/typo.yml"], {}, { readFile }).warnings).toContain(
      "config file /etc/typo.yml: unknown key nmae",
    );
    files.set("/etc/bad.yml", "snapshot-count: many\n");
    expect(() => parseConfig(["--config-file", "/etc/bad.yml"], {}, { readFile })).toThrow(
      'invalid value "many" for snapshot-count in /etc/bad.yml',
    );
    files.set("/etc/list.yml", "- a\n- b\n");
    expect(() => parseConfig(["--config-file", "/etc/list.yml"], {}, { readFile })).toThrow(
      "config file /etc/list.yml: not a mapping of settings",
    );
    expect(() => parseConfig(["--config-file", "/etc/none.yml"], {}, { readFile })).toThrow(
      "cannot read config file: open /etc/none.yml: no such file or directory",
    );
  });

  test("a refused flag set in the file is refused as on the command line", () => {
    files.set("/etc/pprof.yml", "enable-pprof: true\n");
    const parsed = parseConfig(
      ["--config-file", "/etc/pprof.yml"],
      {},
      {
        readFile,
        refuseUnsupported: true,
      },
    );
    expect(parsed.refused).toStartWith("enable-pprof is not supported (");
  });
});

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const KINDS = realEtcdInstalled ? (["etcd-bun", "etcd"] as const) : (["etcd-bun"] as const);

test.each(KINDS)(
  "%s starts from the file alone and serves as it says",
  async (kind) => {
    const dir = mkdtempSync(join(tmpdir(), "etcd-bun-config-file-"));
    dirs.push(dir);
    const client = `http://127.0.0.1:${await freePort()}`;
    const peer = `http://127.0.0.1:${await freePort()}`;
    const file = join(dir, "etcd.yml");
    writeFileSync(
      file,
      [
        "name: yamlnode",
        `data-dir: ${join(dir, "data")}`,
        `listen-client-urls: ${client}`,
        `advertise-client-urls: ${client}`,
        `listen-peer-urls: ${peer}`,
        `initial-advertise-peer-urls: ${peer}`,
        `initial-cluster: yamlnode=${peer}`,
        ...(kind === "etcd" ? ["enable-v2: true"] : []),
      ].join("\n"),
    );
    const command = kind === "etcd" ? [REAL_ETCD] : [process.execPath, MAIN];
    const proc = Bun.spawn([...command, "--config-file", file], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ETCD_NAME: "" },
    });
    try {
      let members: { name: string; clientURLs: string[] }[] = [];
      for (let i = 0; i < 100 && members.length === 0; i++) {
        await Bun.sleep(100);
        const res = await fetch(`${client}/v2/members`).catch(() => undefined);
        if (res?.status === 200) members = ((await res.json()) as { members: [] }).members;
      }
      expect(members.map((m) => [m.name, m.clientURLs])).toEqual([["yamlnode", [client]]]);
    } finally {
      proc.kill("SIGKILL");
      await proc.exited;
    }
  },
  30_000,
);
