/**
 * Every configuration error, warning and role rule, with etcd 3.4's wording where it has one
 * (checked against /usr/bin/etcd 3.4.23).
 */
import { describe, expect, test } from "bun:test";
import { ConfigError, parseConfig } from "../../src/config/config.ts";
import { formatUrl } from "../../src/config/values.ts";

type Env = Record<string, string>;
interface ErrorCase {
  readonly why: string;
  readonly argv: readonly string[];
  readonly env?: Env;
  readonly message: string;
}

const CLIENT = ["--advertise-client-urls", "http://10.0.0.1:2379"];

const ERRORS: readonly ErrorCase[] = [
  {
    why: "URL without scheme",
    argv: ["--listen-client-urls", "foo", ...CLIENT],
    message:
      'invalid value "foo" for flag -listen-client-urls: URL scheme must be http, https, unix, or unixs: foo',
  },
  {
    why: "URL without port",
    argv: ["--advertise-client-urls", "http://a"],
    message:
      'invalid value "http://a" for flag -advertise-client-urls: URL address does not have the form "host:port": http://a',
  },
  {
    why: "URL with a path",
    argv: ["--advertise-client-urls=http://a:1/x"],
    message:
      'invalid value "http://a:1/x" for flag -advertise-client-urls: URL must not contain a path: http://a:1/x',
  },
  {
    why: "URL from env",
    argv: [],
    env: { ETCD_LISTEN_PEER_URLS: "ftp://a:1" },
    message:
      'invalid value "ftp://a:1" for ETCD_LISTEN_PEER_URLS: URL scheme must be http, https, unix, or unixs: ftp://a:1',
  },
  {
    why: "election timeout < 5 heartbeats",
    argv: ["-election-timeout", "100"],
    message:
      "--election-timeout[100ms] should be at least as 5 times as --heartbeat-interval[100ms]",
  },
  {
    why: "heartbeat too large for the election timeout",
    argv: [],
    env: { ETCD_HEARTBEAT_INTERVAL: "300" },
    message:
      "--election-timeout[1000ms] should be at least as 5 times as --heartbeat-interval[300ms]",
  },
  {
    why: "election timeout > 50000",
    argv: ["--election-timeout", "60000"],
    message: "--election-timeout[60000ms] is too long, and should be set less than 50000ms",
  },
  {
    why: "name missing from initial cluster",
    argv: ["--name", "foo", "--initial-cluster", "bar=http://localhost:2380"],
    message: 'couldn\'t find local name "foo" in the initial cluster configuration',
  },
  {
    why: "advertised peer URLs differ from the initial cluster entry",
    argv: ["--initial-cluster", "default=http://127.0.0.1:41381"],
    message:
      "--initial-cluster has default=http://127.0.0.1:41381 but missing from --initial-advertise-peer-urls=http://localhost:2380",
  },
  {
    why: "duplicate URL in the initial cluster",
    argv: ["--initial-cluster", "default=http://localhost:2380,b=http://localhost:2380"],
    message:
      "initial cluster b=http://localhost:2380,default=http://localhost:2380 has duplicate url",
  },
  {
    why: "empty initial cluster",
    argv: ["--initial-cluster="],
    message: 'couldn\'t find local name "default" in the initial cluster configuration',
  },
  {
    why: "malformed initial cluster entry",
    argv: ["--initial-cluster", "noeq"],
    message: 'error setting up initial cluster: entry "noeq" is not of the form name=url',
  },
  {
    why: "flag rules are checked before the initial cluster is parsed",
    argv: ["--election-timeout", "100", "--initial-cluster", "noeq"],
    message:
      "--election-timeout[100ms] should be at least as 5 times as --heartbeat-interval[100ms]",
  },
  {
    why: "bad URL in the initial cluster",
    argv: ["--initial-cluster", "default=foo"],
    message:
      "error setting up initial cluster: URL scheme must be http, https, unix, or unixs: foo",
  },
  {
    why: "initial-cluster + discovery",
    argv: ["--initial-cluster", "default=http://localhost:2380", "--discovery", "http://d/x"],
    message:
      'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"',
  },
  {
    why: "discovery + discovery-srv (one from env)",
    argv: ["--discovery", "http://d/x"],
    env: { ETCD_DISCOVERY_SRV: "example.com" },
    message:
      'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"',
  },
  {
    why: "listen-client-urls without advertise-client-urls",
    argv: ["--listen-client-urls", "http://127.0.0.1:2379"],
    message: "--advertise-client-urls is required when --listen-client-urls is set explicitly",
  },
  {
    why: "listen-client-urls without advertise, discovery with fallback exit",
    argv: [
      "--listen-client-urls",
      "http://127.0.0.1:2379",
      "--discovery",
      "http://d/x",
      "--discovery-fallback",
      "exit",
    ],
    message: "--advertise-client-urls is required when --listen-client-urls is set explicitly",
  },
  {
    why: "bad initial-cluster-state",
    argv: ["--initial-cluster-state", "bogus"],
    message:
      "invalid value \"bogus\" for flag -initial-cluster-state: valid values are 'new', 'existing'",
  },
  {
    why: "bad proxy mode",
    argv: ["--proxy=bogus"],
    message: "invalid value \"bogus\" for flag -proxy: valid values are 'off', 'readonly', 'on'",
  },
  {
    why: "bad discovery-fallback from env",
    argv: [],
    env: { ETCD_DISCOVERY_FALLBACK: "maybe" },
    message:
      "invalid value \"maybe\" for ETCD_DISCOVERY_FALLBACK: valid values are 'exit', 'proxy'",
  },
  {
    why: "bad number",
    argv: ["--heartbeat-interval", "abc"],
    message: 'invalid value "abc" for flag -heartbeat-interval: parse error',
  },
  {
    why: "negative number",
    argv: ["-max-wals", "-1"],
    message: 'invalid value "-1" for flag -max-wals: parse error',
  },
  {
    why: "bad number from env",
    argv: [],
    env: { ETCD_HEARTBEAT_INTERVAL: "abc" },
    message: 'invalid value "abc" for ETCD_HEARTBEAT_INTERVAL: parse error',
  },
  {
    why: "bad bool",
    argv: ["--strict-reconfig-check=maybe"],
    message: 'invalid boolean value "maybe" for -strict-reconfig-check: parse error',
  },
  {
    why: "bad bool from env",
    argv: [],
    env: { ETCD_DEBUG: "yes" },
    message: 'invalid value "yes" for ETCD_DEBUG: parse error',
  },
  {
    why: "unknown flag",
    argv: ["--bogus", "1"],
    message: "flag provided but not defined: -bogus",
  },
  {
    why: "unknown single-dash flag",
    argv: ["-nam", "x"],
    message: "flag provided but not defined: -nam",
  },
  {
    why: "flag and env both set",
    argv: ["--name", "x"],
    env: { ETCD_NAME: "y" },
    message:
      'conflicting environment variable "ETCD_NAME" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)',
  },
  { why: "-peers", argv: ["-peers", "x"], message: 'flag "-peers" is no longer supported.' },
  {
    why: "--peers-file",
    argv: ["--peers-file=x"],
    message: 'flag "-peers-file" is no longer supported.',
  },
  { why: "missing value", argv: ["--name"], message: "flag needs an argument: -name" },
  { why: "stray argument", argv: ["foo"], message: "'foo' is not a valid flag" },
  {
    why: "ignored flag leaves its value as a stray argument",
    argv: ["--snapshot", "yes"],
    message: "'yes' is not a valid flag",
  },
  { why: "three dashes", argv: ["---name", "x"], message: "bad flag syntax: ---name" },
  {
    why: "DNS name in a listen URL",
    argv: ["--listen-peer-urls", "http://example.com:2380"],
    message: "expected IP in URL for binding (http://example.com:2380)",
  },
  {
    why: "https client URL without cert",
    argv: ["--listen-client-urls", "https://127.0.0.1:2379", ...CLIENT],
    message:
      "TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with HTTPS scheme",
  },
  {
    why: "0.4 address and URL flag together",
    argv: ["--addr", "10.0.0.1:4001", ...CLIENT],
    message: "Set only one of flags -advertise-client-urls and -addr",
  },
  {
    why: "0.4 address that is not ip:port",
    argv: ["--peer-addr", "example.com:7001"],
    message:
      'invalid value "example.com:7001" for flag -peer-addr: "example.com:7001" is not a valid IP:port address',
  },
  {
    why: "discovery URL that is not http(s)",
    argv: ["--discovery", "foo"],
    message: '--discovery must be an http:// or https:// URL, got "foo"',
  },
  {
    why: "discovery proxy that is no address",
    argv: ["--discovery", "http://d/x", "--discovery-proxy", "http://"],
    message: 'invalid proxy address "http://"',
  },
  {
    why: "a cipher suite name Go does not know (exact spelling, no spaces)",
    argv: [
      "--cipher-suites",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA",
    ],
    message: 'unexpected TLS cipher suite " TLS_RSA_WITH_AES_128_CBC_SHA"',
  },
  {
    why: "a peer certificate rule by CN and by host name at once",
    argv: ["--peer-cert-allowed-cn", "m1", "--peer-cert-allowed-hostname", "127.0.0.1"],
    message: 'AllowedCN and AllowedHostname are mutually exclusive (cn="m1", hostname="127.0.0.1")',
  },
  {
    why: "an unknown logger",
    argv: ["--logger", "foo"],
    message: 'unknown logger option "foo"',
  },
  {
    why: "capnslog writes to one place",
    argv: ["--log-outputs", "stderr,stdout"],
    message: `--logger=capnslog supports only 1 value in '--log-outputs', got ["stderr" "stdout"]`,
  },
  {
    why: "capnslog does not write files",
    argv: ["--log-outputs", "/var/log/etcd.log"],
    message: 'unknown log-output "/var/log/etcd.log" (only supports "default", "stderr", "stdout")',
  },
  {
    why: "existing cluster with discovery",
    argv: ["--initial-cluster-state", "existing", "--discovery", "http://d/x"],
    message: "discovery URL should not be set when joining existing initial cluster",
  },
];

describe("configuration errors", () => {
  test.each(ERRORS)("$why", ({ argv, env, message }) => {
    let thrown: unknown;
    try {
      parseConfig(argv, env ?? {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toBe(message);
    expect((thrown as Error).message).not.toContain("\n");
  });
});

describe("accepted combinations", () => {
  test("listen-client-urls without advertise is fine when it may become a proxy", () => {
    const listen = ["--listen-client-urls", "http://127.0.0.1:2379"];
    expect(parseConfig([...listen, "--proxy", "on"], {}).role).toBe("proxy");
    expect(parseConfig([...listen, "--discovery", "http://d/x"], {}).role).toBe("member");
  });

  test("a 0.4 --bind-addr does not count as --listen-client-urls for rule 3", () => {
    const { config } = parseConfig(["--bind-addr", "127.0.0.1:4001"], {});
    expect(config.listenClientUrls.map(formatUrl)).toEqual(["http://127.0.0.1:4001"]);
  });

  test("0.4 addresses use https when the side has a cert", () => {
    const argv = ["--addr", "10.0.0.1:4001", "--cert-file", "c", "--key-file", "k"];
    expect(parseConfig(argv, {}).config.advertiseClientUrls.map(formatUrl)).toEqual([
      "https://10.0.0.1:4001",
    ]);
  });

  test("rule 4: a non-default name rewrites the default initial cluster", () => {
    const argv = ["-name", "infra0", "-initial-advertise-peer-urls", "http://10.0.0.1:2380"];
    expect([...parseConfig(argv, {}).config.initialCluster]).toEqual([
      ["infra0", ["http://10.0.0.1:2380"]],
    ]);
    // etcd 3.4 compares the text, so an explicit copy of the default is rewritten too.
    const explicit = [...argv, "--initial-cluster", "default=http://localhost:2380"];
    expect([...parseConfig(explicit, {}).config.initialCluster.keys()]).toEqual(["infra0"]);
  });

  test("a name may repeat in the initial cluster for several URLs", () => {
    const argv = [
      "--initial-cluster",
      "default=http://127.0.0.1:2381,default=http://127.0.0.1:2380",
      "--initial-advertise-peer-urls",
      "http://127.0.0.1:2380,http://127.0.0.1:2381",
      "--listen-peer-urls",
      "http://127.0.0.1:2380,http://127.0.0.1:2381",
    ];
    const { config } = parseConfig(argv, {});
    expect(config.initialCluster.get("default")).toEqual([
      "http://127.0.0.1:2380",
      "http://127.0.0.1:2381",
    ]);
    expect(config.listenPeerUrls).toHaveLength(2);
  });

  test("existing state only needs the name to be present", () => {
    const argv = ["--initial-cluster-state", "existing", "--initial-cluster", "default=http://a:1"];
    expect(parseConfig(argv, {}).config.initialClusterState).toBe("existing");
  });

  test("a WAL on disk skips the bootstrap checks (restart)", () => {
    const argv = ["--name", "foo", "--initial-cluster", "bar=http://localhost:2380"];
    const seen: string[] = [];
    const walExists = (dir: string) => {
      seen.push(dir);
      return true;
    };
    expect(parseConfig(argv, {}, { walExists }).config.name).toBe("foo");
    expect(seen).toEqual(["foo.etcd/member/wal"]);
  });

  test("a WAL on disk: --discovery is ignored with etcd's warning; a proxy scheme defaults to http", () => {
    const argv = ["--discovery", "http://d/x", "--discovery-proxy", "squid:3128"];
    const r = parseConfig(argv, {}, { walExists: () => true });
    expect(r.warnings).toEqual([
      "discovery token ignored since a cluster has already been initialized. Valid log found at default.etcd/member/wal",
    ]);
    expect(r.config.discoveryProxy).toBe("http://squid:3128");
    expect(parseConfig(argv, {}).warnings).toEqual([]);
  });

  test("a WAL on disk: even a malformed --discovery is ignored, as etcd does; without one it stops the start", () => {
    const argv = ["--discovery", "notaurl"];
    expect(parseConfig(argv, {}, { walExists: () => true }).warnings).toEqual([
      "discovery token ignored since a cluster has already been initialized. Valid log found at default.etcd/member/wal",
    ]);
    expect(() => parseConfig(argv, {})).toThrow(
      '--discovery must be an http:// or https:// URL, got "notaurl"',
    );
  });

  test("the proxy role skips the member bootstrap checks", () => {
    const argv = ["--proxy", "readonly", "--name", "p", "--initial-cluster", "a=http://a:1"];
    expect(parseConfig(argv, {}).role).toBe("proxy");
  });

  test("IPv6 and unix listen URLs are accepted", () => {
    const argv = ["--listen-client-urls", "http://[::1]:2379,unix://localhost:1", ...CLIENT];
    const { config } = parseConfig(argv, {});
    expect(config.listenClientUrls.map(formatUrl)).toEqual([
      "http://[::1]:2379",
      "unix://localhost:1",
    ]);
  });

  test("a unix URL needs host:port, as in etcd 3.4 (its host:port names the socket file)", () => {
    for (const url of ["unix://sock1", "unix:///tmp/s.sock"]) {
      expect(() => parseConfig(["--listen-peer-urls", url], {})).toThrow(
        `invalid value "${url}" for flag -listen-peer-urls: URL address does not have the form "host:port": ${url}`,
      );
    }
    const { config } = parseConfig(["--listen-peer-urls", "unix://peer.sock:0"], {});
    expect(config.listenPeerUrls.map((u) => u.host)).toEqual(["peer.sock:0"]);
  });

  test("-- ends the flags; anything after it is a stray argument", () => {
    expect(parseConfig(["--debug", "--"], {}).config.debug).toBe(true);
    expect(() => parseConfig(["--", "--debug"], {})).toThrow("'--debug' is not a valid flag");
  });

  test("a value may start with a dash", () => {
    expect(parseConfig(["--name", "-x-"], {}).config.name).toBe("-x-");
  });

  test("the last of a repeated flag wins", () => {
    expect(parseConfig(["--max-wals", "1", "-max-wals=2"], {}).config.maxWals).toBe(2);
  });
});

describe("warnings", () => {
  test.each([
    [[], { ETCD_BOGUS: "1" }, ["unrecognized environment variable ETCD_BOGUS=1"]],
    [["--snapshot"], {}, ['flag "-snapshot" is no longer supported - ignoring.']],
    [["-vv"], {}, ['flag "-vv" is no longer supported - ignoring.']],
    [[], { ETCD_RETRY_INTERVAL: "1" }, ["unrecognized environment variable ETCD_RETRY_INTERVAL=1"]],
    [
      ["--experimental-v3demo"],
      {},
      ['flag "-experimental-v3demo" is not supported by etcd-bun - ignoring.'],
    ],
    [
      ["--ca-file", "/ca"],
      {},
      ["--ca-file is deprecated, please use --trusted-ca-file and --client-cert-auth instead"],
    ],
    [
      [],
      { ETCD_PEER_CA_FILE: "/ca" },
      [
        "--peer-ca-file is deprecated, please use --peer-trusted-ca-file and --peer-client-cert-auth instead",
      ],
    ],
    [
      ["--cert-file", "c", "--key-file", "k"],
      {},
      [
        "the scheme of client url http://localhost:2379 is HTTP while key/cert files are presented; ignored key/cert files",
      ],
    ],
    // etcd's verifyEnv: an empty variable sets nothing, and so is "unrecognized".
    [
      [],
      { ETCD_UNSUPPORTED_ARCH: "arm", ETCD_BOGUS: "", ETCD_NAME: "" },
      [
        "unrecognized environment variable ETCD_BOGUS=",
        "unrecognized environment variable ETCD_NAME=",
      ],
    ],
  ] as const)("%j %j", (argv, env, expected) => {
    expect(parseConfig([...argv], env).warnings).toEqual([...expected]);
  });

  test("an empty env value is unset, not an empty flag", () => {
    expect(parseConfig([], { ETCD_CORS: "" }).config.cors).toEqual(["*"]);
  });

  test("an empty env value beside its flag is the same conflict as a set one", () => {
    expect(() => parseConfig(["--name", "x"], { ETCD_NAME: "" })).toThrow(
      'conflicting environment variable "ETCD_NAME" is shadowed by corresponding command-line flag',
    );
  });
});

describe("roles", () => {
  test.each([
    [[], "member"],
    [["--proxy", "on"], "proxy"],
    [["-proxy=readonly"], "proxy"],
    [["--proxy", "off"], "member"],
    [["discovery"], "discovery"],
    [["--version"], "version"],
    [["-version"], "version"],
    [["--help"], "help"],
    [["-h"], "help"],
    [["--name", "x", "-help", "--bogus"], "help"],
  ] as const)("%j → %s", (argv, role) => {
    expect(parseConfig([...argv], {}).role).toBe(role);
  });

  test("ETCD_PROXY selects the proxy role", () => {
    expect(parseConfig([], { ETCD_PROXY: "on" }).role).toBe("proxy");
  });

  test("--version=false runs the member", () => {
    expect(parseConfig(["--version=false"], {}).role).toBe("member");
  });

  test("--version does not look at the environment", () => {
    expect(parseConfig(["--version"], { ETCD_NAME: "x", ETCD_BOGUS: "1" }).warnings).toEqual([]);
  });
});
