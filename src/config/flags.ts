/**
 * The one flag table: every command-line flag etcd-bun accepts, its `ETCD_*` environment name,
 * value kind, default (as the raw text a user would type) and help line. Parsing, env
 * resolution and the help renderer all read this table; nothing else lists flags.
 * This module holds data only: it must not parse, validate or touch the process.
 */

/** How a flag's text becomes a value. Defaults are written as raw text and parsed the same way. */
export type FlagKind =
  /** Free text. */
  | { readonly type: "string" }
  /** Unsigned decimal integer (Go `uint`); milliseconds for the time flags. */
  | { readonly type: "uint" }
  /** Go `strconv.ParseBool`; `--x` alone means true. */
  | { readonly type: "bool" }
  /** Comma-separated URLs, each `scheme://host:port` without a path (etcd `types.NewURLs`). */
  | { readonly type: "urls" }
  /** One of a fixed set of words. */
  | { readonly type: "enum"; readonly values: readonly string[] }
  /** etcd 0.4 `host:port` address flags, mapped onto the URL flags. */
  | { readonly type: "address" }
  /** Accepted as a boolean-style flag and ignored, with a warning (etcd `IgnoredFlag`). */
  | { readonly type: "ignored"; readonly reason: "removed" | "unsupported" }
  /** Fatal when given (etcd `DeprecatedFlag`): `flag "-peers" is no longer supported.` */
  | { readonly type: "removed" };

export type FlagGroup =
  | "member"
  | "clustering"
  | "proxy"
  | "security"
  | "logging"
  | "v3"
  | "legacy";

export interface FlagSpec {
  /** Kebab-case name without dashes, exactly as etcd spells it. */
  readonly name: string;
  /** `ETCD_` + upper snake case, or null when the flag has no environment form. */
  readonly env: string | null;
  readonly kind: FlagKind;
  /** Raw default text; "" means empty. */
  readonly defaultText: string;
  readonly help: string;
  readonly group: FlagGroup;
}

/** `ETCD_` + the flag name upper-cased with `-` → `_` (etcd `pkg/flags` `FlagToEnv`). */
export function envNameFor(flagName: string): string {
  return `ETCD_${flagName.toUpperCase().replaceAll("-", "_")}`;
}

const STRING = { type: "string" } as const;
const UINT = { type: "uint" } as const;
const BOOL = { type: "bool" } as const;
const URLS = { type: "urls" } as const;
const ADDRESS = { type: "address" } as const;

type Row = readonly [name: string, kind: FlagKind, defaultText: string, help: string];

function rows(group: FlagGroup, list: readonly Row[]): FlagSpec[] {
  return list.map(([name, kind, defaultText, help]) => ({
    name,
    env: envNameFor(name),
    kind,
    defaultText,
    help,
    group,
  }));
}

const MEMBER: readonly Row[] = [
  [
    "config-file",
    STRING,
    "",
    "Path to the server configuration file (YAML); when given, the other flags and environment variables are ignored.",
  ],
  ["name", STRING, "default", "Human-readable name for this member."],
  ["data-dir", STRING, "", "Path to the data directory (default: <name>.etcd)."],
  ["wal-dir", STRING, "", "Path to a dedicated WAL directory (default: <data-dir>/member/wal)."],
  ["snapshot-count", UINT, "100000", "Number of committed transactions to trigger a snapshot."],
  ["heartbeat-interval", UINT, "100", "Time (in milliseconds) of a heartbeat interval."],
  ["election-timeout", UINT, "1000", "Time (in milliseconds) for an election to timeout."],
  ["listen-peer-urls", URLS, "http://localhost:2380", "List of URLs to listen on for peers."],
  ["listen-client-urls", URLS, "http://localhost:2379", "List of URLs to listen on for clients."],
  ["max-snapshots", UINT, "5", "Maximum number of snapshot files to retain (0 is unlimited)."],
  ["max-wals", UINT, "5", "Maximum number of WAL files to retain (0 is unlimited)."],
  [
    "cors",
    STRING,
    "*",
    "Comma-separated whitelist of origins for CORS (cross-origin resource sharing).",
  ],
  ["force-new-cluster", BOOL, "false", "Force to create a new one-member cluster (unsafe)."],
  ["pre-vote", BOOL, "true", "Enable the Raft pre-vote phase (etcd-bun's default is true)."],
  [
    "initial-election-tick-advance",
    BOOL,
    "true",
    "Fast-forward election ticks on boot (a lone voter campaigns at once).",
  ],
  [
    "enable-v2",
    BOOL,
    "true",
    "Serve the v2 API (etcd-bun serves nothing else: only true is accepted).",
  ],
];

const CLUSTERING: readonly Row[] = [
  [
    "initial-advertise-peer-urls",
    URLS,
    "http://localhost:2380",
    "List of this member's peer URLs to advertise to the rest of the cluster.",
  ],
  [
    "initial-cluster",
    STRING,
    "default=http://localhost:2380",
    "Initial cluster configuration for bootstrapping (name=url,...).",
  ],
  [
    "initial-cluster-state",
    { type: "enum", values: ["new", "existing"] },
    "new",
    "Initial cluster state ('new' or 'existing').",
  ],
  ["initial-cluster-token", STRING, "etcd-cluster", "Initial cluster token for bootstrapping."],
  [
    "advertise-client-urls",
    URLS,
    "http://localhost:2379",
    "List of this member's client URLs to advertise to the public.",
  ],
  ["discovery", STRING, "", "Discovery URL used to bootstrap the cluster."],
  [
    "discovery-fallback",
    { type: "enum", values: ["exit", "proxy"] },
    "proxy",
    "Expected behavior ('exit' or 'proxy') when discovery services fails.",
  ],
  ["discovery-proxy", STRING, "", "HTTP proxy to use for traffic to discovery service."],
  ["discovery-srv", STRING, "", "DNS domain used to bootstrap initial cluster."],
  ["discovery-srv-name", STRING, "", "Suffix to the DNS SRV name queried when bootstrapping."],
  [
    "strict-reconfig-check",
    BOOL,
    "true",
    "Reject reconfiguration requests that would cause quorum loss.",
  ],
];

const PROXY: readonly Row[] = [
  [
    "proxy",
    { type: "enum", values: ["off", "readonly", "on"] },
    "off",
    "Proxy mode setting ('off', 'readonly' or 'on').",
  ],
  [
    "proxy-failure-wait",
    UINT,
    "5000",
    "Time (in milliseconds) an endpoint will be held in a failed state.",
  ],
  [
    "proxy-refresh-interval",
    UINT,
    "30000",
    "Time (in milliseconds) of the endpoints refresh interval.",
  ],
  ["proxy-dial-timeout", UINT, "1000", "Time (in milliseconds) for a dial to timeout (0 = none)."],
  ["proxy-write-timeout", UINT, "5000", "Time (in milliseconds) for a write to timeout."],
  ["proxy-read-timeout", UINT, "0", "Time (in milliseconds) for a read to timeout (0 = none)."],
];

const SECURITY: readonly Row[] = [
  ["ca-file", STRING, "", "DEPRECATED: same as --trusted-ca-file plus --client-cert-auth."],
  ["cert-file", STRING, "", "Path to the client server TLS cert file."],
  ["key-file", STRING, "", "Path to the client server TLS key file."],
  ["client-cert-auth", BOOL, "false", "Enable client cert authentication."],
  ["trusted-ca-file", STRING, "", "Path to the client server TLS trusted CA cert file."],
  [
    "peer-ca-file",
    STRING,
    "",
    "DEPRECATED: same as --peer-trusted-ca-file plus --peer-client-cert-auth.",
  ],
  ["peer-cert-file", STRING, "", "Path to the peer server TLS cert file."],
  ["peer-key-file", STRING, "", "Path to the peer server TLS key file."],
  ["peer-client-cert-auth", BOOL, "false", "Enable peer client cert authentication."],
  ["peer-trusted-ca-file", STRING, "", "Path to the peer server TLS trusted CA file."],
  ["auto-tls", BOOL, "false", "Client TLS using generated certificates."],
  ["peer-auto-tls", BOOL, "false", "Peer TLS using generated certificates."],
  ["cipher-suites", STRING, "", "Comma-separated list of supported TLS cipher suites."],
  ["client-cert-allowed-hostname", STRING, "", "Allowed TLS hostname for client cert auth."],
  ["client-crl-file", STRING, "", "Path to the client certificate revocation list file."],
  ["peer-crl-file", STRING, "", "Path to the peer certificate revocation list file."],
  ["peer-cert-allowed-cn", STRING, "", "Allowed CN for inter peer authentication."],
  ["peer-cert-allowed-hostname", STRING, "", "Allowed TLS hostname for inter peer authentication."],
  [
    "experimental-peer-skip-client-san-verification",
    BOOL,
    "false",
    "Skip verification of SAN field in client certificate for peer connections.",
  ],
  ["host-whitelist", STRING, "*", "Acceptable hostnames from HTTP client requests."],
];

const LOGGING: readonly Row[] = [
  ["debug", BOOL, "false", "Enable debug-level logging (same as --log-level debug)."],
  [
    "log-level",
    { type: "enum", values: ["debug", "info", "warn", "error", "panic", "fatal"] },
    "info",
    "Lowest level of the lines logged: debug, info, warn, error, panic or fatal.",
  ],
  ["logger", STRING, "capnslog", "Logger: 'capnslog' (lines) or 'zap' (JSON lines)."],
  [
    "log-outputs",
    STRING,
    "default",
    "Where logs go: 'default', 'stderr', 'stdout', or (zap) file paths, comma-separated.",
  ],
  ["enable-pprof", BOOL, "false", "Enable runtime profiling data via HTTP server."],
  ["listen-metrics-urls", URLS, "", "List of URLs to listen on for metrics."],
  [
    "dashboard",
    BOOL,
    "true",
    "Serve the built-in web dashboard at /dashboard on client URLs (etcd-bun only).",
  ],
  ["metrics", STRING, "basic", "Set level of detail for exported metrics: 'basic' or 'extensive'."],
  [
    "log-package-levels",
    STRING,
    "",
    "Per-package log levels (eg: 'etcdmain=CRITICAL,etcdserver=DEBUG').",
  ],
];

/** etcd 3.4 flags of its v3 API only: accepted with a warning (see support.ts). */
const V3: readonly Row[] = [
  ["quota-backend-bytes", STRING, "0", "v3 only: raise alarms when backend size exceeds it."],
  ["auto-compaction-retention", STRING, "0", "v3 only: auto compaction retention."],
  ["auto-compaction-mode", STRING, "periodic", "v3 only: interpret auto-compaction-retention."],
  ["backend-batch-interval", STRING, "0", "v3 only: maximum time before commit the backend."],
  ["backend-batch-limit", STRING, "0", "v3 only: maximum operations before commit the backend."],
  ["max-txn-ops", STRING, "128", "v3 only: maximum number of operations in a transaction."],
  ["max-request-bytes", UINT, "1572864", "v3 only: maximum client gRPC request size."],
  ["grpc-keepalive-min-time", STRING, "5s", "v3 only: gRPC keepalive minimum interval."],
  ["grpc-keepalive-interval", STRING, "2h0m0s", "v3 only: gRPC keepalive ping interval."],
  ["grpc-keepalive-timeout", STRING, "20s", "v3 only: gRPC keepalive ping timeout."],
  ["max-concurrent-streams", STRING, "4294967295", "v3 only: gRPC streams per connection."],
  ["auth-token", STRING, "simple", "v3 only: auth token type."],
  ["auth-token-ttl", STRING, "300", "v3 only: auth token lifetime in seconds."],
  ["bcrypt-cost", STRING, "10", "v3 only: bcrypt cost for hashing auth passwords."],
  ["experimental-initial-corrupt-check", BOOL, "false", "v3 only: check backend on start."],
  ["experimental-corrupt-check-time", STRING, "0s", "v3 only: corruption check interval."],
  ["experimental-enable-v2v3", STRING, "", "v3 only: serve v2 requests through v3 backend."],
  ["experimental-enable-lease-checkpoint", BOOL, "false", "v3 only: lease checkpoints."],
  ["experimental-compaction-batch-limit", STRING, "1000", "v3 only: compaction batch size."],
  ["experimental-backend-bbolt-freelist-type", STRING, "map", "v3 only: bbolt freelist type."],
  [
    "experimental-watch-progress-notify-interval",
    STRING,
    "10m0s",
    "v3 only: watch progress notification interval.",
  ],
  ["experimental-warning-apply-duration", STRING, "100ms", "v3 only: slow apply warning."],
];

const UNSUPPORTED = { type: "ignored", reason: "unsupported" } as const;
const REMOVED_IGNORED = { type: "ignored", reason: "removed" } as const;

const LEGACY: readonly Row[] = [
  ["addr", ADDRESS, "", "DEPRECATED: use --advertise-client-urls."],
  ["bind-addr", ADDRESS, "", "DEPRECATED: use --listen-client-urls."],
  ["peer-addr", ADDRESS, "", "DEPRECATED: use --initial-advertise-peer-urls."],
  ["peer-bind-addr", ADDRESS, "", "DEPRECATED: use --listen-peer-urls."],
  ["experimental-v3demo", UNSUPPORTED, "", "Not supported by etcd-bun (v2 only)."],
  ["experimental-gRPC-addr", UNSUPPORTED, "", "Not supported by etcd-bun (v2 only)."],
  ["experimental-auto-compaction-retention", UNSUPPORTED, "", "Not supported by etcd-bun."],
];

/** etcd 0.4 flags that etcd 2.x accepts and ignores with a warning. */
const IGNORED_NAMES = [
  "cluster-active-size",
  "cluster-remove-delay",
  "cluster-sync-interval",
  "config",
  "force",
  "max-result-buffer",
  "max-retry-attempts",
  "peer-heartbeat-interval",
  "peer-election-timeout",
  "retry-interval",
  "snapshot",
  "v",
  "vv",
] as const;

/** Flags whose use is an error (etcd 2.x `DeprecatedFlag`). */
const REMOVED_NAMES = ["peers", "peers-file"] as const;

function legacyOnly(names: readonly string[], kind: FlagKind): FlagSpec[] {
  return names.map((name) => ({
    name,
    env: null,
    kind,
    defaultText: "",
    help: "No longer supported.",
    group: "legacy" as const,
  }));
}

/** Every flag, in help order. `--help` and `--version` are handled before this table. */
export const FLAGS: readonly FlagSpec[] = [
  ...rows("member", MEMBER),
  ...rows("clustering", CLUSTERING),
  ...rows("proxy", PROXY),
  ...rows("security", SECURITY),
  ...rows("logging", LOGGING),
  ...rows("v3", V3),
  ...rows("legacy", LEGACY),
  ...legacyOnly(IGNORED_NAMES, REMOVED_IGNORED),
  ...legacyOnly(REMOVED_NAMES, { type: "removed" }),
];

const BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.map((f) => [f.name, f]));
const BY_ENV: ReadonlyMap<string, FlagSpec> = new Map(
  FLAGS.flatMap((f) => (f.env === null ? [] : [[f.env, f] as const])),
);

export function flagByName(name: string): FlagSpec | undefined {
  return BY_NAME.get(name);
}

export function flagByEnv(envName: string): FlagSpec | undefined {
  return BY_ENV.get(envName);
}
