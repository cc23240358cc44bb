/**
 * Every flag in every spelling: `--f v`, `--f=v`, `-f v`, `-f=v` and `ETCD_F=v`, plus defaults.
 * The table must list every documented flag (a test checks it against the flag table).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, parseConfig } from "../../src/config/config.ts";
import { FLAGS, flagByName } from "../../src/config/flags.ts";
import { formatUrl } from "../../src/config/values.ts";

interface FlagCase {
  readonly flag: string;
  readonly text: string;
  readonly read: (c: Config) => unknown;
  readonly expected: unknown;
  /** Flags (always given on the command line) that make the combination valid. */
  readonly extra?: readonly string[];
}

const urls = (list: readonly URL[]) => list.map(formatUrl);
const PEER_A = "http://10.0.0.1:2380";
const CONFIG_DIR = mkdtempSync(join(tmpdir(), "etcd-bun-flags-"));
const CONFIG_FILE = join(CONFIG_DIR, "etcd.yml");
writeFileSync(CONFIG_FILE, "name: fromfile\nconfig-file: ignored\n");
afterAll(() => rmSync(CONFIG_DIR, { recursive: true, force: true }));

/** Flags that only need to parse (v3-only or refused later by the CLI): given, recorded. */
function givenOnly(flags: readonly string[], text: string): FlagCase[] {
  return flags.map((flag) => ({
    flag,
    text,
    read: (c: Config) => c.explicitFlags.has(flag),
    expected: true,
  }));
}

const CASES: readonly FlagCase[] = [
  {
    flag: "name",
    text: "infra0",
    read: (c) => c.name,
    expected: "infra0",
  },
  { flag: "data-dir", text: "/var/x", read: (c) => c.dataDir, expected: "/var/x" },
  { flag: "wal-dir", text: "/var/w", read: (c) => c.walDir, expected: "/var/w" },
  { flag: "snapshot-count", text: "42", read: (c) => c.snapshotCount, expected: 42 },
  {
    flag: "heartbeat-interval",
    text: "50",
    read: (c) => c.heartbeatIntervalMs,
    expected: 50,
  },
  { flag: "election-timeout", text: "2500", read: (c) => c.electionTimeoutMs, expected: 2500 },
  {
    flag: "listen-peer-urls",
    text: "http://10.0.0.1:2380,http://127.0.0.1:7001",
    read: (c) => urls(c.listenPeerUrls),
    expected: ["http://10.0.0.1:2380", "http://127.0.0.1:7001"],
  },
  {
    flag: "listen-client-urls",
    text: "http://127.0.0.1:4001,http://0.0.0.0:2379",
    read: (c) => urls(c.listenClientUrls),
    expected: ["http://0.0.0.0:2379", "http://127.0.0.1:4001"],
    extra: ["--advertise-client-urls", "http://10.0.0.1:2379"],
  },
  { flag: "max-snapshots", text: "0", read: (c) => c.maxSnapshots, expected: 0 },
  { flag: "max-wals", text: "9", read: (c) => c.maxWals, expected: 9 },
  {
    flag: "cors",
    text: "http://a.example, http://b.example",
    read: (c) => c.cors,
    expected: ["http://a.example", "http://b.example"],
  },
  { flag: "force-new-cluster", text: "true", read: (c) => c.forceNewCluster, expected: true },
  { flag: "enable-pprof", text: "true", read: (c) => c.enablePprof, expected: true },
  { flag: "enable-v2", text: "true", read: (c) => c.name, expected: "default" },
  { flag: "config-file", text: CONFIG_FILE, read: (c) => c.name, expected: "fromfile" },
  {
    flag: "initial-advertise-peer-urls",
    text: PEER_A,
    read: (c) => urls(c.initialAdvertisePeerUrls),
    expected: [PEER_A],
    extra: ["--initial-cluster", `default=${PEER_A}`],
  },
  {
    flag: "initial-cluster",
    text: "default=http://localhost:2380,b=http://10.0.0.2:2380",
    read: (c) => [...c.initialCluster.entries()],
    expected: [
      ["default", ["http://localhost:2380"]],
      ["b", ["http://10.0.0.2:2380"]],
    ],
  },
  {
    flag: "initial-cluster-state",
    text: "existing",
    read: (c) => c.initialClusterState,
    expected: "existing",
  },
  {
    flag: "initial-cluster-token",
    text: "tok",
    read: (c) => [c.initialClusterToken, c.clusterToken],
    expected: ["tok", "tok"],
  },
  {
    flag: "advertise-client-urls",
    text: "http://10.0.0.1:2379",
    read: (c) => urls(c.advertiseClientUrls),
    expected: ["http://10.0.0.1:2379"],
  },
  {
    flag: "discovery",
    text: "https://discovery.etcd.io/abc",
    read: (c) => [c.discovery, c.clusterToken, [...c.initialCluster.keys()]],
    expected: ["https://discovery.etcd.io/abc", "https://discovery.etcd.io/abc", ["default"]],
  },
  {
    flag: "discovery-fallback",
    text: "exit",
    read: (c) => c.discoveryFallback,
    expected: "exit",
  },
  {
    flag: "discovery-proxy",
    text: "http://proxy:3128",
    read: (c) => c.discoveryProxy,
    expected: "http://proxy:3128",
  },
  {
    flag: "discovery-srv",
    text: "example.com",
    read: (c) => [c.discoverySrv, c.initialCluster.size],
    expected: ["example.com", 0],
  },
  {
    flag: "strict-reconfig-check",
    text: "false",
    read: (c) => c.strictReconfigCheck,
    expected: false,
  },
  { flag: "proxy", text: "readonly", read: (c) => c.proxy, expected: "readonly" },
  { flag: "proxy-failure-wait", text: "7", read: (c) => c.proxyFailureWaitMs, expected: 7 },
  {
    flag: "proxy-refresh-interval",
    text: "8",
    read: (c) => c.proxyRefreshIntervalMs,
    expected: 8,
  },
  { flag: "proxy-dial-timeout", text: "0", read: (c) => c.proxyDialTimeoutMs, expected: 0 },
  { flag: "proxy-write-timeout", text: "9", read: (c) => c.proxyWriteTimeoutMs, expected: 9 },
  { flag: "proxy-read-timeout", text: "10", read: (c) => c.proxyReadTimeoutMs, expected: 10 },
  {
    flag: "ca-file",
    text: "/ca.pem",
    read: (c) => [c.clientTls.trustedCaFile, c.clientTls.clientCertAuth],
    expected: ["/ca.pem", true],
  },
  { flag: "cert-file", text: "/c.pem", read: (c) => c.clientTls.certFile, expected: "/c.pem" },
  { flag: "key-file", text: "/k.pem", read: (c) => c.clientTls.keyFile, expected: "/k.pem" },
  {
    flag: "client-cert-auth",
    text: "true",
    read: (c) => c.clientTls.clientCertAuth,
    expected: true,
  },
  {
    flag: "trusted-ca-file",
    text: "/t.pem",
    read: (c) => c.clientTls.trustedCaFile,
    expected: "/t.pem",
  },
  {
    flag: "peer-ca-file",
    text: "/pca.pem",
    read: (c) => [c.peerTls.trustedCaFile, c.peerTls.clientCertAuth],
    expected: ["/pca.pem", true],
  },
  {
    flag: "peer-cert-file",
    text: "/pc.pem",
    read: (c) => c.peerTls.certFile,
    expected: "/pc.pem",
  },
  { flag: "peer-key-file", text: "/pk.pem", read: (c) => c.peerTls.keyFile, expected: "/pk.pem" },
  {
    flag: "peer-client-cert-auth",
    text: "true",
    read: (c) => c.peerTls.clientCertAuth,
    expected: true,
  },
  {
    flag: "peer-trusted-ca-file",
    text: "/pt.pem",
    read: (c) => c.peerTls.trustedCaFile,
    expected: "/pt.pem",
  },
  { flag: "debug", text: "true", read: (c) => c.debug, expected: true },
  { flag: "log-level", text: "warn", read: (c) => c.logLevel, expected: "warn" },
  { flag: "pre-vote", text: "false", read: (c) => c.preVote, expected: false },
  { flag: "dashboard", text: "false", read: (c) => c.dashboard, expected: false },
  {
    flag: "cipher-suites",
    text: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256",
    read: (c) => [c.clientTls.ciphers, c.peerTls.ciphers],
    expected: [["ECDHE-RSA-AES128-GCM-SHA256"], ["ECDHE-RSA-AES128-GCM-SHA256"]],
  },
  { flag: "client-crl-file", text: "/c.pem", read: (c) => c.clientTls.crlFile, expected: "/c.pem" },
  { flag: "peer-crl-file", text: "/p.pem", read: (c) => c.peerTls.crlFile, expected: "/p.pem" },
  {
    flag: "listen-metrics-urls",
    text: "http://127.0.0.1:9",
    read: (c) => c.listenMetricsUrls.map((u) => u.href),
    expected: ["http://127.0.0.1:9/"],
  },
  { flag: "peer-cert-allowed-cn", text: "m1", read: (c) => c.peerTls.allowedCn, expected: "m1" },
  {
    flag: "peer-cert-allowed-hostname",
    text: "m1.example",
    read: (c) => c.peerTls.allowedHostname,
    expected: "m1.example",
  },
  {
    flag: "client-cert-allowed-hostname",
    text: "c.example",
    read: (c) => c.clientTls.allowedHostname,
    expected: "c.example",
  },
  { flag: "max-request-bytes", text: "2097152", read: (c) => c.maxRequestBytes, expected: 2097152 },
  { flag: "logger", text: "zap", read: (c) => c.logger, expected: "zap" },
  { flag: "log-outputs", text: "stdout", read: (c) => c.logOutputs, expected: ["stdout"] },
  ...givenOnly(["initial-election-tick-advance", "auto-tls", "peer-auto-tls"], "true"),
  ...givenOnly(["experimental-peer-skip-client-san-verification", "enable-pprof"], "true"),
  ...givenOnly(["experimental-initial-corrupt-check"], "true"),
  ...givenOnly(["experimental-enable-lease-checkpoint"], "true"),
  ...givenOnly(
    [
      "metrics",
      "host-whitelist",
      "discovery-srv-name",
      "quota-backend-bytes",
      "auto-compaction-retention",
      "auto-compaction-mode",
      "backend-batch-interval",
      "backend-batch-limit",
      "max-txn-ops",
      "grpc-keepalive-min-time",
      "grpc-keepalive-interval",
      "grpc-keepalive-timeout",
      "max-concurrent-streams",
      "auth-token",
      "auth-token-ttl",
      "bcrypt-cost",
      "experimental-corrupt-check-time",
      "experimental-enable-v2v3",
      "experimental-compaction-batch-limit",
      "experimental-backend-bbolt-freelist-type",
      "experimental-watch-progress-notify-interval",
      "experimental-warning-apply-duration",
    ],
    "x1",
  ),
  {
    flag: "log-package-levels",
    text: "etcdserver=DEBUG",
    read: (c) => c.logPackageLevels,
    expected: "etcdserver=DEBUG",
  },
  {
    flag: "addr",
    text: "10.0.0.1:4001",
    read: (c) => [urls(c.advertiseClientUrls), urls(c.listenClientUrls)],
    expected: [["http://10.0.0.1:4001"], ["http://[::]:4001"]],
  },
  {
    flag: "bind-addr",
    text: "127.0.0.1:4001",
    read: (c) => urls(c.listenClientUrls),
    expected: ["http://127.0.0.1:4001"],
  },
  {
    flag: "peer-addr",
    text: "10.0.0.1:7001",
    read: (c) => [urls(c.initialAdvertisePeerUrls), urls(c.listenPeerUrls)],
    expected: [["http://10.0.0.1:7001"], ["http://[::]:7001"]],
    extra: ["--initial-cluster", "default=http://10.0.0.1:7001"],
  },
  {
    flag: "peer-bind-addr",
    text: "127.0.0.1:7001",
    read: (c) => urls(c.listenPeerUrls),
    expected: ["http://127.0.0.1:7001"],
  },
  {
    flag: "experimental-v3demo",
    text: "true",
    read: (c) => c.name,
    expected: "default",
  },
  { flag: "experimental-gRPC-addr", text: "true", read: (c) => c.name, expected: "default" },
  {
    flag: "experimental-auto-compaction-retention",
    text: "true",
    read: (c) => c.name,
    expected: "default",
  },
];

/**
 * The five spellings. Go booleans never take a separate value (`--debug false` is a flag and a
 * stray argument), so for them the space forms are the bare flag, meaning true.
 */
function spellings(flag: string, text: string): { argv: string[]; env: Record<string, string> }[] {
  const env = `ETCD_${flag.toUpperCase().replaceAll("-", "_")}`;
  const kind = flagByName(flag)?.kind.type;
  const boolLike = kind === "bool" || kind === "ignored";
  const spaced = boolLike
    ? text === "true"
      ? [[`--${flag}`], [`-${flag}`]]
      : []
    : [
        [`--${flag}`, text],
        [`-${flag}`, text],
      ];
  return [
    ...spaced.map((argv) => ({ argv, env: {} })),
    { argv: [`--${flag}=${text}`], env: {} },
    { argv: [`-${flag}=${text}`], env: {} },
    { argv: [], env: { [env]: text } },
  ];
}

describe("every flag in every spelling", () => {
  for (const c of CASES) {
    test.each(spellings(c.flag, c.text))(`${c.flag} %j`, ({ argv, env }) => {
      const { config } = parseConfig([...argv, ...(c.extra ?? [])], env);
      expect(c.read(config)).toEqual(c.expected);
      const kind = flagByName(c.flag)?.kind.type;
      const kept = kind !== "ignored" && kind !== "address";
      expect(config.explicitFlags.has(c.flag)).toBe(kept);
    });
  }

  test("the table covers every flag that is not a 0.4-era leftover", () => {
    const covered = new Set(CASES.map((c) => c.flag));
    const documented = FLAGS.filter((f) => f.kind.type !== "ignored" || f.kind.reason !== "removed")
      .filter((f) => f.kind.type !== "removed")
      .map((f) => f.name);
    expect(documented.filter((n) => !covered.has(n))).toEqual([]);
  });

  test("env names are ETCD_ + upper snake case", () => {
    for (const f of FLAGS) {
      if (f.env !== null) expect(f.env).toBe(`ETCD_${f.name.toUpperCase().replaceAll("-", "_")}`);
    }
  });
});

describe("booleans", () => {
  test.each([
    [["--debug"], true],
    [["-debug"], true],
    [["--debug=true"], true],
    [["--debug=false"], false],
    [["--debug=1"], true],
    [["--debug=F"], false],
    [["--debug", "--debug=false"], false],
  ] as const)("%j → %p", (argv, expected) => {
    expect(parseConfig([...argv], {}).config.debug).toBe(expected);
  });

  test("a bare boolean does not consume the next argument", () => {
    expect(() => parseConfig(["--debug", "false"], {})).toThrow("'false' is not a valid flag");
  });

  test("env booleans accept Go's words", () => {
    expect(parseConfig([], { ETCD_DEBUG: "TRUE" }).config.debug).toBe(true);
    expect(parseConfig([], { ETCD_STRICT_RECONFIG_CHECK: "0" }).config.strictReconfigCheck).toBe(
      false,
    );
  });
});

describe("defaults (etcd 3.4)", () => {
  const { config, role, warnings } = parseConfig([], {});
  const cases: [field: string, actual: unknown, expected: unknown][] = [
    ["name", config.name, "default"],
    ["dataDir", config.dataDir, "default.etcd"],
    ["walDir", config.walDir, "default.etcd/member/wal"],
    ["dedicatedWalDir", config.dedicatedWalDir, false],
    ["snapshotCount", config.snapshotCount, 100000],
    ["heartbeatIntervalMs", config.heartbeatIntervalMs, 100],
    ["electionTimeoutMs", config.electionTimeoutMs, 1000],
    ["listenPeerUrls", urls(config.listenPeerUrls), ["http://localhost:2380"]],
    ["listenClientUrls", urls(config.listenClientUrls), ["http://localhost:2379"]],
    ["initialAdvertisePeerUrls", urls(config.initialAdvertisePeerUrls), ["http://localhost:2380"]],
    ["advertiseClientUrls", urls(config.advertiseClientUrls), ["http://localhost:2379"]],
    ["maxSnapshots", config.maxSnapshots, 5],
    ["maxWals", config.maxWals, 5],
    ["cors", config.cors, ["*"]],
    ["initialCluster", [...config.initialCluster], [["default", ["http://localhost:2380"]]]],
    ["initialClusterState", config.initialClusterState, "new"],
    ["initialClusterToken", config.initialClusterToken, "etcd-cluster"],
    ["clusterToken", config.clusterToken, "etcd-cluster"],
    ["discovery", config.discovery, ""],
    ["discoveryFallback", config.discoveryFallback, "proxy"],
    ["discoverySrv", config.discoverySrv, ""],
    ["strictReconfigCheck", config.strictReconfigCheck, true],
    ["proxy", config.proxy, "off"],
    ["proxyFailureWaitMs", config.proxyFailureWaitMs, 5000],
    ["proxyRefreshIntervalMs", config.proxyRefreshIntervalMs, 30000],
    ["proxyDialTimeoutMs", config.proxyDialTimeoutMs, 1000],
    ["proxyWriteTimeoutMs", config.proxyWriteTimeoutMs, 5000],
    ["proxyReadTimeoutMs", config.proxyReadTimeoutMs, 0],
    [
      "clientTls",
      config.clientTls,
      {
        certFile: "",
        keyFile: "",
        trustedCaFile: "",
        clientCertAuth: false,
        crlFile: "",
        ciphers: undefined,
        auto: false,
        allowedCn: "",
        allowedHostname: "",
      },
    ],
    ["debug", config.debug, false],
    ["logLevel", config.logLevel, "info"],
    // etcd 3.4 defaults to false; etcd-bun keeps pre-vote on (etcd 3.5's default).
    ["preVote", config.preVote, true],
    ["maxRequestBytes", config.maxRequestBytes, 1572864],
    ["forceNewCluster", config.forceNewCluster, false],
    ["enablePprof", config.enablePprof, false],
    ["role", role, "member"],
    ["warnings", warnings, []],
  ];
  test.each(cases)("%s", (_, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  test("snapshot-count 0 means the default", () => {
    expect(parseConfig(["--snapshot-count", "0"], {}).config.snapshotCount).toBe(100000);
  });

  test("data-dir defaults to <name>.etcd", () => {
    expect(parseConfig(["-name", "infra0"], {}).config.dataDir).toBe("infra0.etcd");
    expect(parseConfig([], { ETCD_NAME: "n2" }).config.dataDir).toBe("n2.etcd");
  });

  test("cors can be emptied", () => {
    expect(parseConfig(["--cors="], {}).config.cors).toEqual([]);
  });
});

describe("log level", () => {
  test.each([
    [[], { ETCD_LOG_LEVEL: "error" }, "error", false],
    [["--log-level", "debug"], {}, "debug", true],
    [["--debug"], {}, "debug", true],
    [["--debug", "--log-level", "error"], {}, "debug", true],
    [["--log-level", "fatal"], {}, "fatal", false],
  ] as const)("%j %j → %s (debug %p)", (argv, env, level, debug) => {
    const { config } = parseConfig([...argv], env);
    expect(config.logLevel).toBe(level);
    expect(config.debug).toBe(debug);
  });

  test("an unknown level names etcd 3.4's values", () => {
    expect(() => parseConfig(["--log-level", "trace"], {})).toThrow(
      `invalid value "trace" for flag -log-level: valid values are 'debug', 'info', 'warn', 'error', 'panic', 'fatal'`,
    );
  });
});

describe("max request bytes", () => {
  test("is an unsigned integer, as in etcd 3.4", () => {
    expect(() => parseConfig(["--max-request-bytes", "-1"], {})).toThrow(
      `invalid value "-1" for flag -max-request-bytes: parse error`,
    );
    expect(() => parseConfig([], { ETCD_MAX_REQUEST_BYTES: "1.5MB" })).toThrow(
      `invalid value "1.5MB" for ETCD_MAX_REQUEST_BYTES: parse error`,
    );
  });

  test("is given to the config with its one v3-only warning (etcd bounds only gRPC with it)", () => {
    const { config, warnings } = parseConfig(["--max-request-bytes=0x100000"], {});
    expect(config.maxRequestBytes).toBe(1048576);
    expect(warnings).toEqual([
      "--max-request-bytes only concerns etcd's v3 API; it has no effect on the v2 API",
    ]);
  });
});
