/** runCli in-process: role dispatch with a fake member, output routing and exit codes. */
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, walExistsOnDisk } from "../../src/cli/run.ts";
import type { Config } from "../../src/config/config.ts";
import { FLAGS, type FlagSpec } from "../../src/config/flags.ts";
import { flagSupport } from "../../src/config/support.ts";

function harness() {
  const out: string[] = [];
  const err: string[] = [];
  const started: Config[] = [];
  const roles: string[] = [];
  let kind: "member" | "proxy" | "empty" | "both" = "empty";
  let memberAnswer: "proxy" | undefined;
  return {
    out,
    err,
    started,
    roles,
    setDataDirKind: (k: typeof kind) => {
      kind = k;
    },
    /** The member finds its discovery token full and asks for the proxy role. */
    fallBackToProxy: () => {
      memberAnswer = "proxy";
    },
    io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) },
    deps: {
      runMember: async (c: Config) => {
        started.push(c);
        roles.push("member");
        return memberAnswer;
      },
      runProxy: async (c: Config) => {
        started.push(c);
        roles.push("proxy");
      },
      walExists: () => false,
      dataDirKind: () => kind,
    },
  };
}

describe("runCli", () => {
  test("a member whose discovery token is full starts the proxy role with the same config", async () => {
    const h = harness();
    h.fallBackToProxy();
    const code = await runCli(["--discovery", "http://127.0.0.1:1/v2/keys/t"], {}, h.io, h.deps);
    expect(code).toBe(0);
    expect(h.roles).toEqual(["member", "proxy"]);
  });

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
    expect(
      await runCli(["--name", "foo", "--initial-cluster", "bar=http://a:1"], {}, h.io, h.deps),
    ).toBe(1);
    expect(h.started).toEqual([]);
    expect(h.err).toHaveLength(1);
  });

  test("a command line that does not parse exits 2 with a usage line, as etcd's flag package", async () => {
    const h = harness();
    expect(await runCli(["--proxy", "maybe"], {}, h.io, h.deps)).toBe(2);
    expect(h.started).toEqual([]);
    expect(h.err).toEqual([
      `etcd-bun: invalid value "maybe" for flag -proxy: valid values are 'off', 'readonly', 'on'`,
      "Usage: etcd-bun [flags] (etcd-bun --help lists them)",
    ]);
  });

  test("--proxy on|readonly starts the proxy role, off the member", async () => {
    for (const [argv, role] of [
      [["--proxy", "on"], "proxy"],
      [["--proxy=readonly"], "proxy"],
      [["--proxy", "off"], "member"],
    ] as const) {
      const h = harness();
      expect(await runCli([...argv], {}, h.io, h.deps)).toBe(0);
      expect(h.roles).toEqual([role]);
      expect(h.err).toEqual([]);
    }
  });

  test("a data dir initialised as one role keeps it, whatever --proxy says (as etcd)", async () => {
    const asMember = harness();
    asMember.setDataDirKind("member");
    expect(await runCli(["--proxy", "on"], {}, asMember.io, asMember.deps)).toBe(0);
    expect(asMember.roles).toEqual(["member"]);
    expect(asMember.err).toEqual([
      "etcd-bun: warning: the server is already initialized as member before, starting as etcd member...",
    ]);
    const asProxy = harness();
    asProxy.setDataDirKind("proxy");
    expect(await runCli([], {}, asProxy.io, asProxy.deps)).toBe(0);
    expect(asProxy.roles).toEqual(["proxy"]);
    const both = harness();
    both.setDataDirKind("both");
    expect(await runCli([], {}, both.io, both.deps)).toBe(1);
    expect(both.roles).toEqual([]);
    expect(both.err).toEqual([
      "etcd-bun: invalid datadir. Both member and proxy directories exist.",
    ]);
  });

  test("discovery --help shows the subcommand usage", async () => {
    const h = harness();
    expect(await runCli(["discovery", "--help"], {}, h.io, h.deps)).toBe(0);
    expect(h.out.join("\n")).toContain("discovery");
  });
});

/** A value of the flag's kind that is not its default (what a user would give it for). */
function otherValue(spec: FlagSpec): string {
  switch (spec.kind.type) {
    case "bool":
      return spec.defaultText === "true" ? "false" : "true";
    case "uint":
      return "7";
    case "enum":
      return spec.kind.values.find((v) => v !== spec.defaultText) ?? "";
    default:
      return "x";
  }
}

const bySupport = (status: "refused" | "v3-only") =>
  FLAGS.filter((f) => flagSupport(f.name)?.status === status);

describe("flags not acted on yet never start the member", () => {
  const refused = bySupport("refused");

  test("the support table refuses pprof and proxy-write-timeout; no discovery or certificate flag", () => {
    const names = refused.map((f) => f.name);
    for (const n of ["enable-pprof", "proxy-write-timeout"]) {
      expect(names).toContain(n);
    }
    for (const n of [
      "discovery",
      "discovery-srv",
      "cert-file",
      "peer-cert-file",
      "client-cert-auth",
    ]) {
      expect(names).not.toContain(n);
    }
  });

  test.each(refused.map((f) => [f.name, f] as const))(
    "--%s: exit 1, one line saying why",
    async (name, spec) => {
      const h = harness();
      expect(await runCli([`--${name}=${otherValue(spec)}`], {}, h.io, h.deps)).toBe(1);
      expect(h.started).toEqual([]);
      expect(h.err).toHaveLength(1);
      expect(h.err[0]).toMatch(
        new RegExp(`^etcd-bun: --${name} is not supported \\([^)]{20,}\\)$`),
      );
    },
  );

  test.each(refused.map((f) => [f.env ?? "", f] as const))(
    "%s: refused like its flag",
    async (env, spec) => {
      const h = harness();
      expect(await runCli([], { [env]: otherValue(spec) }, h.io, h.deps)).toBe(1);
      expect(h.started).toEqual([]);
      expect(h.err).toHaveLength(1);
      expect(h.err[0]).toStartWith(`etcd-bun: ${env} is not supported (`);
    },
  );

  test("a unixs:// listener needs a certificate and key, as an https:// one", async () => {
    const h = harness();
    const argv = ["--listen-peer-urls", "unixs://peer.sock:1"];
    expect(await runCli(argv, {}, h.io, h.deps)).toBe(1);
    expect(h.started).toEqual([]);
    expect(h.err).toEqual([
      "etcd-bun: TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url unixs://peer.sock:1 with HTTPS scheme",
    ]);
  });
});

describe("v3-only flags start the member with one warning each", () => {
  test.each(bySupport("v3-only").map((f) => [f.name, f] as const))("--%s", async (name, spec) => {
    const h = harness();
    const value = spec.kind.type === "bool" ? "true" : "7";
    expect(await runCli([`--${name}=${value}`], {}, h.io, h.deps)).toBe(0);
    expect(h.started).toHaveLength(1);
    expect(h.err).toEqual([
      `etcd-bun: warning: --${name} only concerns etcd's v3 API; it has no effect on the v2 API`,
    ]);
  });
});

describe("the member gets the flags it acts on", () => {
  test("log level, pre-vote, max request bytes and a unix client URL", async () => {
    const h = harness();
    const argv = [
      "--debug",
      "--pre-vote=false",
      "--listen-client-urls=unix://client.sock:0",
      "--advertise-client-urls=http://127.0.0.1:2379",
      "--logger=capnslog",
      "--log-outputs=stderr",
    ];
    const code = await runCli(argv, { ETCD_MAX_REQUEST_BYTES: "1024" }, h.io, h.deps);
    expect(code).toBe(0);
    const c = h.started[0];
    expect([c?.logLevel, c?.debug, c?.preVote, c?.maxRequestBytes]).toEqual([
      "debug",
      true,
      false,
      1024,
    ]);
    expect(c?.listenClientUrls.map((u) => `${u.protocol}${u.host}`)).toEqual([
      "unix:client.sock:0",
    ]);
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
