/**
 * The typed, validated configuration: flags > `ETCD_*` env > defaults (etcd 3.4 defaults), then
 * etcd's cross-flag rules (bootstrap flags, timeouts, advertise URLs, initial cluster). The
 * result is immutable and is the only thing the roles read. Pure: argv and env are passed in,
 * and the one filesystem question (does a WAL exist?) is asked through an injected probe.
 */

import { readFileSync } from "node:fs";
import { assert } from "../util/assert.ts";
import { LOG_LEVELS, type LogFormat, type LogLevel } from "../util/log.ts";
import { opensslCiphers } from "./cipher-suites.ts";
import { configFileValues } from "./config-file.ts";
import { type DiscoveryServerConfig, parseDiscoveryServer } from "./discovery-server.ts";
import { envNameFor, flagByName } from "./flags.ts";
import {
  ConfigError,
  convert,
  type FlagValue,
  readArgv,
  readEnv,
  type SetValue,
} from "./sources.ts";
import { flagSupport } from "./support.ts";
import { formatInitialCluster, isIpLiteral, parseInitialCluster } from "./values.ts";

export type { DiscoveryServerConfig } from "./discovery-server.ts";
export { ConfigError, FlagSyntaxError } from "./sources.ts";

export type Role = "member" | "proxy" | "discovery" | "version" | "help";
export type ProxyMode = "off" | "readonly" | "on";
export type InitialClusterState = "new" | "existing";
export type DiscoveryFallback = "exit" | "proxy";
export type { LogLevel } from "../util/log.ts";

/** TLS file settings for one listener (client or peer). Empty strings mean "not set". */
export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  readonly trustedCaFile: string;
  readonly clientCertAuth: boolean;
  /** `--client-crl-file` / `--peer-crl-file`: certificates it revokes are refused. */
  readonly crlFile: string;
  /** TLS 1.2 suites (OpenSSL names) from `--cipher-suites`; undefined: the default list. */
  readonly ciphers: readonly string[] | undefined;
  /** `--auto-tls` / `--peer-auto-tls`: a self-signed certificate when no files are given. */
  readonly auto: boolean;
  /** `--peer-cert-allowed-cn`: a client certificate must carry this CN ("" = any). */
  readonly allowedCn: string;
  /** `--{peer,client}-cert-allowed-hostname`: its SANs must name this host ("" = any). */
  readonly allowedHostname: string;
}

/**
 * Everything a role needs to start. URL lists are sorted (as etcd's `types.NewURLs`); use
 * `formatUrl` for etcd's `scheme://host:port` text, since `URL` hides default ports.
 */
export interface Config {
  readonly name: string;
  /** `--data-dir`, default `<name>.etcd`. */
  readonly dataDir: string;
  /** `--wal-dir`, or `<dataDir>/member/wal` when not given. */
  readonly walDir: string;
  /** True when `--wal-dir` was given (the WAL lives outside the data dir). */
  readonly dedicatedWalDir: boolean;
  readonly snapshotCount: number;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly listenPeerUrls: readonly URL[];
  /** `--listen-metrics-urls`: more listeners serving only `/metrics` and `/health`. */
  readonly listenMetricsUrls: readonly URL[];
  /** `--dashboard`: the web dashboard at `/dashboard` on client URLs (members and proxies). */
  readonly dashboard: boolean;
  readonly listenClientUrls: readonly URL[];
  readonly initialAdvertisePeerUrls: readonly URL[];
  readonly advertiseClientUrls: readonly URL[];
  /** 0 = unlimited. */
  readonly maxSnapshots: number;
  /** 0 = unlimited. */
  readonly maxWals: number;
  /** Allowed CORS origins; `["*"]` allows all, `[]` sends no CORS headers. */
  readonly cors: readonly string[];
  /** `--host-whitelist`: Host headers plain-HTTP client listeners accept (`*`: any). */
  readonly hostWhitelist: readonly string[];
  /** Member name → its sorted peer URLs as given. Empty with `--discovery-srv` (resolved later). */
  readonly initialCluster: ReadonlyMap<string, readonly string[]>;
  readonly initialClusterState: InitialClusterState;
  readonly initialClusterToken: string;
  /** Token for member/cluster IDs: the discovery URL when `--discovery` is set, else the flag. */
  readonly clusterToken: string;
  readonly discovery: string;
  readonly discoveryFallback: DiscoveryFallback;
  readonly discoveryProxy: string;
  readonly discoverySrv: string;
  /** `--discovery-srv-name`: the SRV names get `-<name>` (`_etcd-server-<name>._tcp`). */
  readonly discoverySrvName: string;
  readonly strictReconfigCheck: boolean;
  readonly proxy: ProxyMode;
  readonly proxyFailureWaitMs: number;
  readonly proxyRefreshIntervalMs: number;
  readonly proxyDialTimeoutMs: number;
  readonly proxyWriteTimeoutMs: number;
  /** 0 = no timeout (non-zero breaks watches). */
  readonly proxyReadTimeoutMs: number;
  readonly clientTls: TlsConfig;
  readonly peerTls: TlsConfig;
  /** `--debug` or `--log-level debug`: stack traces and debug lines are logged. */
  readonly debug: boolean;
  /** Lowest level logged (`--debug` makes it `debug`). */
  readonly logLevel: LogLevel;
  /** `--logger`: capnslog lines or zap JSON. */
  readonly logger: LogFormat;
  /** `--log-outputs`: default, stderr, stdout, or (zap) files. */
  readonly logOutputs: readonly string[];
  readonly preVote: boolean;
  /** `--initial-election-tick-advance`: a lone voter campaigns at boot without waiting. */
  readonly initialElectionTickAdvance: boolean;
  /**
   * `--max-request-bytes` (etcd 3.4 default 1.5 MiB). etcd 3.4 bounds only gRPC requests with
   * it (measured: a 5000-byte v2 PUT succeeds with `--max-request-bytes 1000`).
   */
  readonly maxRequestBytes: number;
  readonly logPackageLevels: string;
  readonly forceNewCluster: boolean;
  readonly enablePprof: boolean;
  /** Flag names given on the command line or through `ETCD_*` (after 0.4 address mapping). */
  readonly explicitFlags: ReadonlySet<string>;
}

export interface ParseResult {
  readonly config: Config;
  readonly warnings: readonly string[];
  readonly role: Role;
  /** Role `discovery`: the service's own flags (the member config is then all defaults). */
  readonly discoveryServer?: DiscoveryServerConfig;
  /** Role `help`: which command's help was asked for. */
  readonly helpTopic?: "discovery";
  /**
   * A flag etcd-bun knows but does not act on yet was given: the one line to print instead of
   * starting (exit 1), naming the issue it waits for. Never accepted and ignored.
   */
  readonly refused?: string;
}

export interface ParseOptions {
  /**
   * Reports whether a WAL already exists in `walDir`. When it does, the member restarts from
   * it and etcd ignores the bootstrap flags, so their checks are skipped. Default: no WAL.
   */
  readonly walExists?: (walDir: string) => boolean;
  /**
   * Stop at the first flag etcd-bun does not act on yet and return its refusal line (the CLI
   * does). Off: such flags are parsed and validated as etcd would, for tests of those rules.
   */
  readonly refuseUnsupported?: boolean;
  /** Reads `--config-file`. Default: from the disk. */
  readonly readFile?: (path: string) => string;
}

/** etcd `embed.DefaultName`. */
const DEFAULT_NAME = "default";
/** etcd 3.4 `maxElectionMs`: larger timeouts make failure detection uselessly slow. */
const ELECTION_TIMEOUT_MS_MAX = 50_000;
/** Raft needs several heartbeats per election timeout to avoid spurious elections. */
const ELECTION_HEARTBEAT_RATIO_MIN = 5;
/** etcd 3.4 `DefaultSnapshotCount`: used when `--snapshot-count 0`. */
const SNAPSHOT_COUNT_DEFAULT = 100_000;

/** Typed reads of the resolved flag values (explicit value, else the table default). */
class Values {
  constructor(readonly set: ReadonlyMap<string, SetValue>) {}

  private get(name: string): FlagValue {
    const given = this.set.get(name);
    if (given !== undefined) return given.value;
    const spec = flagByName(name);
    assert(spec !== undefined, `unknown flag ${name}`);
    return convert(spec, spec.defaultText, `default of -${name}`);
  }

  str(name: string): string {
    const v = this.get(name);
    assert(typeof v === "string", `flag ${name} is not a string`);
    return v;
  }

  uint(name: string): number {
    const v = this.get(name);
    assert(typeof v === "number", `flag ${name} is not a number`);
    return v;
  }

  bool(name: string): boolean {
    const v = this.get(name);
    assert(typeof v === "boolean", `flag ${name} is not a boolean`);
    return v;
  }

  list(name: string): readonly string[] {
    const v = this.get(name);
    assert(Array.isArray(v), `flag ${name} is not a list`);
    return v;
  }

  urls(name: string): readonly URL[] {
    return this.list(name).map((u) => new URL(u));
  }

  isSet(name: string): boolean {
    return this.set.has(name);
  }
}

/** etcd 0.4 address flags and the URL flags they stand for, with the TLS side they use. */
const LEGACY_ADDRESSES = [
  { addr: "addr", urls: "advertise-client-urls", certFlag: "cert-file", bind: "bind-addr" },
  { addr: "bind-addr", urls: "listen-client-urls", certFlag: "cert-file", bind: null },
  {
    addr: "peer-addr",
    urls: "initial-advertise-peer-urls",
    certFlag: "peer-cert-file",
    bind: "peer-bind-addr",
  },
  { addr: "peer-bind-addr", urls: "listen-peer-urls", certFlag: "peer-cert-file", bind: null },
] as const;

/**
 * Maps etcd 0.4 `--addr`-style flags onto URL flags (etcd 2.x `URLsFromFlags`): both forms set
 * is an error; an `--addr` without `--bind-addr` listens on `[::]:<port>`.
 */
function applyLegacyAddresses(set: Map<string, SetValue>): void {
  for (const { addr, urls, certFlag, bind } of LEGACY_ADDRESSES) {
    const given = set.get(addr);
    if (given === undefined) continue;
    if (set.has(urls)) throw new ConfigError(`Set only one of flags -${urls} and -${addr}`);
    const scheme = set.has(certFlag) ? "https" : "http";
    set.set(urls, { value: [`${scheme}://${String(given.value)}`], source: given.source });
    const bindUrls = bind === "bind-addr" ? "listen-client-urls" : "listen-peer-urls";
    if (bind !== null && !set.has(bind) && !set.has(bindUrls)) {
      const text = String(given.value);
      set.set(bind, {
        value: `[::]:${text.slice(text.lastIndexOf(":") + 1)}`,
        source: given.source,
      });
    }
    set.delete(addr);
  }
}

interface ListenerTls {
  readonly client: TlsConfig;
  readonly peer: TlsConfig;
}

function tlsConfig(v: Values, prefix: "" | "peer-", warnings: string[]): TlsConfig {
  const caFile = v.str(`${prefix}ca-file`);
  if (caFile !== "") {
    warnings.push(
      `--${prefix}ca-file is deprecated, please use --${prefix}trusted-ca-file and --${prefix}client-cert-auth instead`,
    );
  }
  const trusted = v.str(`${prefix}trusted-ca-file`);
  return {
    certFile: v.str(`${prefix}cert-file`),
    keyFile: v.str(`${prefix}key-file`),
    trustedCaFile: trusted !== "" ? trusted : caFile,
    clientCertAuth: v.bool(`${prefix}client-cert-auth`) || caFile !== "",
    crlFile: v.str(prefix === "" ? "client-crl-file" : "peer-crl-file"),
    ciphers: opensslCiphers(v.str("cipher-suites")),
    auto: v.bool(prefix === "" ? "auto-tls" : "peer-auto-tls"),
    ...allowedCertificate(v, prefix),
  };
}

/** `--logger` and `--log-outputs` with etcd 3.4's checks and words. */
function logging(v: Values): { logger: LogFormat; logOutputs: readonly string[] } {
  const logger = v.str("logger");
  if (logger !== "capnslog" && logger !== "zap")
    throw new ConfigError(`unknown logger option "${logger}"`);
  const logOutputs = v.list("log-outputs");
  if (logger === "capnslog") {
    if (logOutputs.length > 1)
      throw new ConfigError(
        `--logger=capnslog supports only 1 value in '--log-outputs', got [${logOutputs.map((o) => `"${o}"`).join(" ")}]`,
      );
    const output = logOutputs[0] ?? "default";
    if (!["default", "stderr", "stdout"].includes(output))
      throw new ConfigError(
        `unknown log-output "${output}" (only supports "default", "stderr", "stdout")`,
      );
  }
  return { logger, logOutputs: logOutputs.length === 0 ? ["default"] : logOutputs };
}

/** etcd 3.4 refuses both rules on one side. */
function allowedCertificate(v: Values, prefix: "" | "peer-") {
  const allowedCn = prefix === "" ? "" : v.str("peer-cert-allowed-cn");
  const allowedHostname = v.str(`${prefix === "" ? "client" : "peer"}-cert-allowed-hostname`);
  if (allowedCn !== "" && allowedHostname !== "")
    throw new ConfigError(
      `AllowedCN and AllowedHostname are mutually exclusive (cn="${allowedCn}", hostname="${allowedHostname}")`,
    );
  return { allowedCn, allowedHostname };
}

/** etcd 3.4 `checkBindURLs`: a listen URL must name an IP (or `localhost`), not a DNS name. */
function checkBindUrls(urls: readonly URL[]): void {
  for (const u of urls) {
    if (u.protocol === "unix:" || u.protocol === "unixs:") continue;
    const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
    if (host === "localhost" || isIpLiteral(host)) continue;
    throw new ConfigError(`expected IP in URL for binding (${u.protocol}//${u.host})`);
  }
}

/**
 * etcd 3.4's TLS scheme rules: an https listen URL needs a key and cert (fatal); key/cert files
 * with an http listen URL are ignored for it (warning).
 */
function checkTlsScheme(
  urls: readonly URL[],
  tls: TlsConfig,
  side: "client" | "peer",
  warnings: string[],
): void {
  const flags = side === "client" ? "--cert-file, --key-file" : "--peer-cert-file, --peer-key-file";
  for (const u of urls) {
    if (u.protocol !== "https:" && u.protocol !== "unixs:") {
      if (tls.certFile !== "" || tls.keyFile !== "") {
        warnings.push(
          `the scheme of ${side} url ${u.protocol}//${u.host} is HTTP while key/cert files are presented; ignored key/cert files`,
        );
      }
      continue;
    }
    if ((tls.certFile !== "" && tls.keyFile !== "") || tls.auto) continue;
    throw new ConfigError(
      `TLS key/cert (${flags}) must be provided for ${side} url ${u.protocol}//${u.host} with HTTPS scheme`,
    );
  }
}

/**
 * Flags etcd-bun knows but does not act on: a v3-only flag is accepted with one warning; a
 * refused flag given with a value other than its default yields the refusal line (the CLI
 * prints it and exits 1), saying why. Never accepted and ignored.
 */
function checkSupport(
  values: ReadonlyMap<string, SetValue>,
  warnings: string[],
): string | undefined {
  let refused: string | undefined;
  for (const [name, given] of values) {
    const support = flagSupport(name);
    if (support === undefined) continue;
    const where =
      given.source === "env" ? envNameFor(name) : given.source === "file" ? name : `--${name}`;
    if (support.status === "v3-only") {
      warnings.push(`${where} only concerns etcd's v3 API; it has no effect on the v2 API`);
      continue;
    }
    const spec = flagByName(name);
    assert(spec !== undefined, `support table names unknown flag ${name}`);
    const fallback = convert(spec, spec.defaultText, `default of -${name}`);
    const text = String(given.value);
    if (text === String(fallback)) continue;
    refused ??= `${where} is not supported (${support.reason})`;
  }
  return refused;
}

/** The values the YAML file at `path` sets; undefined for no file (an empty path). */
function configFile(
  path: string,
  options: ParseOptions,
  warnings: string[],
): Map<string, SetValue> | undefined {
  if (path === "") return undefined;
  let text: string;
  try {
    text = (options.readFile ?? ((p) => readFileSync(p, "utf8")))(path);
  } catch (error) {
    throw new ConfigError(`cannot read config file: ${(error as Error).message}`);
  }
  warnings.push(
    `loading server configuration from "${path}"; other configuration command line flags and environment variables are ignored`,
  );
  return configFileValues(path, text, warnings);
}

/** The flag rules etcd 3.4 checks before anything starts (`embed.Config.Validate`, etcdmain). */
function verifyFlags(
  v: Values,
  tls: ListenerTls,
  listenClientUrlsGiven: boolean,
  warnings: string[],
): void {
  checkBindUrls(v.urls("listen-peer-urls"));
  checkBindUrls(v.urls("listen-client-urls"));
  checkBindUrls(v.urls("listen-metrics-urls"));
  const bootstrapFlags = ["initial-cluster", "discovery", "discovery-srv"].filter((f) =>
    v.isSet(f),
  );
  if (bootstrapFlags.length > 1) {
    throw new ConfigError(
      `multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"`,
    );
  }
  const hb = v.uint("heartbeat-interval");
  const et = v.uint("election-timeout");
  if (ELECTION_HEARTBEAT_RATIO_MIN * hb > et) {
    throw new ConfigError(
      `--election-timeout[${et}ms] should be at least as ${ELECTION_HEARTBEAT_RATIO_MIN} times as --heartbeat-interval[${hb}ms]`,
    );
  }
  if (et > ELECTION_TIMEOUT_MS_MAX) {
    throw new ConfigError(
      `--election-timeout[${et}ms] is too long, and should be set less than ${ELECTION_TIMEOUT_MS_MAX}ms`,
    );
  }
  const mayBeProxy =
    v.str("proxy") !== "off" ||
    (v.str("discovery") !== "" && v.str("discovery-fallback") === "proxy");
  if (listenClientUrlsGiven && !v.isSet("advertise-client-urls") && !mayBeProxy) {
    throw new ConfigError(
      "--advertise-client-urls is required when --listen-client-urls is set explicitly",
    );
  }
  checkTlsScheme(v.urls("listen-client-urls"), tls.client, "client", warnings);
  checkTlsScheme(v.urls("listen-peer-urls"), tls.peer, "peer", warnings);
}

/**
 * `--discovery` must be an http(s) URL (etcd would retry any other forever); `--discovery-proxy`
 * may omit its scheme (http is meant, as etcd reads it).
 */
function checkDiscoveryUrls(v: Values): void {
  const discovery = v.str("discovery");
  if (discovery !== "" && !isHttpUrl(discovery)) {
    throw new ConfigError(`--discovery must be an http:// or https:// URL, got "${discovery}"`);
  }
  const proxy = v.str("discovery-proxy");
  if (proxy !== "" && !isHttpUrl(proxy.includes("://") ? proxy : `http://${proxy}`)) {
    throw new ConfigError(`invalid proxy address "${proxy}"`);
  }
}

function withScheme(proxy: string): string {
  return proxy === "" || proxy.includes("://") ? proxy : `http://${proxy}`;
}

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const u = new URL(text);
  return (u.protocol === "http:" || u.protocol === "https:") && u.host !== "";
}

/**
 * The initial cluster map (etcd `PeerURLsMapAndToken`): from `--discovery`, this member alone
 * with its advertised URLs; from `--discovery-srv`, empty (resolved at startup); otherwise the
 * flag, where etcd 3.4 rule 4 turns the untouched default into `<name>=<advertised URLs>`.
 */
function initialClusterOf(v: Values, name: string): Map<string, string[]> {
  const advertised = [...v.list("initial-advertise-peer-urls")];
  if (v.str("discovery") !== "") return new Map([[name, advertised]]);
  if (v.str("discovery-srv") !== "") return new Map();
  const text = v.str("initial-cluster");
  const defaultText = flagByName("initial-cluster")?.defaultText;
  if (name !== DEFAULT_NAME && text === defaultText) return new Map([[name, advertised]]);
  const parsed = parseInitialCluster(text);
  if (!parsed.ok) throw new ConfigError(`error setting up initial cluster: ${parsed.reason}`);
  return parsed.value;
}

function hasDuplicateUrl(cluster: ReadonlyMap<string, readonly string[]>): boolean {
  const all = [...cluster.values()].flat();
  return new Set(all).size !== all.length;
}

/**
 * etcd `ServerConfig.VerifyBootstrap` / `VerifyJoinExisting`: checks that only apply when a
 * member starts without a WAL. Peer URLs are compared as text (etcd 3.4 also resolves names).
 */
function verifyBootstrap(config: Config, advertised: readonly string[]): void {
  const cluster = config.initialCluster;
  if (config.discoverySrv !== "") return;
  const own = cluster.get(config.name);
  if (own === undefined) {
    throw new ConfigError(
      `couldn't find local name "${config.name}" in the initial cluster configuration`,
    );
  }
  if (config.initialClusterState === "new") {
    const wanted = [...own].sort().join(",");
    const given = [...advertised].sort().join(",");
    if (wanted !== given) {
      throw new ConfigError(
        `--initial-cluster has ${config.name}=${wanted} but missing from --initial-advertise-peer-urls=${given}`,
      );
    }
  }
  if (hasDuplicateUrl(cluster)) {
    throw new ConfigError(`initial cluster ${formatInitialCluster(cluster)} has duplicate url`);
  }
  if (config.initialClusterState === "existing" && config.discovery !== "") {
    throw new ConfigError("discovery URL should not be set when joining existing initial cluster");
  }
}

/** Assembles the typed Config from resolved values; only value-level rules apply here. */
function buildConfig(v: Values, tls: ListenerTls): Config {
  const name = v.str("name");
  const dataDir = v.str("data-dir") !== "" ? v.str("data-dir") : `${name}.etcd`;
  const walDir = v.str("wal-dir");
  const snapshotCount = v.uint("snapshot-count");
  const discovery = v.str("discovery");
  return {
    name,
    dataDir,
    walDir: walDir !== "" ? walDir : `${dataDir}/member/wal`,
    dedicatedWalDir: walDir !== "",
    snapshotCount: snapshotCount === 0 ? SNAPSHOT_COUNT_DEFAULT : snapshotCount,
    heartbeatIntervalMs: v.uint("heartbeat-interval"),
    electionTimeoutMs: v.uint("election-timeout"),
    listenPeerUrls: v.urls("listen-peer-urls"),
    listenMetricsUrls: v.urls("listen-metrics-urls"),
    dashboard: v.bool("dashboard"),
    listenClientUrls: v.urls("listen-client-urls"),
    initialAdvertisePeerUrls: v.urls("initial-advertise-peer-urls"),
    advertiseClientUrls: v.urls("advertise-client-urls"),
    maxSnapshots: v.uint("max-snapshots"),
    maxWals: v.uint("max-wals"),
    cors: v.list("cors"),
    hostWhitelist: v.list("host-whitelist"),
    initialCluster: initialClusterOf(v, name),
    initialClusterState: oneOf(v.str("initial-cluster-state"), ["new", "existing"] as const),
    initialClusterToken: v.str("initial-cluster-token"),
    clusterToken: discovery !== "" ? discovery : v.str("initial-cluster-token"),
    discovery,
    discoveryFallback: oneOf(v.str("discovery-fallback"), ["exit", "proxy"] as const),
    discoveryProxy: withScheme(v.str("discovery-proxy")),
    discoverySrv: v.str("discovery-srv"),
    discoverySrvName: v.str("discovery-srv-name"),
    strictReconfigCheck: v.bool("strict-reconfig-check"),
    proxy: oneOf(v.str("proxy"), ["off", "readonly", "on"] as const),
    proxyFailureWaitMs: v.uint("proxy-failure-wait"),
    proxyRefreshIntervalMs: v.uint("proxy-refresh-interval"),
    proxyDialTimeoutMs: v.uint("proxy-dial-timeout"),
    proxyWriteTimeoutMs: v.uint("proxy-write-timeout"),
    proxyReadTimeoutMs: v.uint("proxy-read-timeout"),
    clientTls: tls.client,
    peerTls: tls.peer,
    debug: v.bool("debug") || v.str("log-level") === "debug",
    logLevel: v.bool("debug") ? "debug" : oneOf(v.str("log-level"), LOG_LEVELS),
    ...logging(v),
    preVote: v.bool("pre-vote"),
    initialElectionTickAdvance: v.bool("initial-election-tick-advance"),
    maxRequestBytes: v.uint("max-request-bytes"),
    logPackageLevels: v.str("log-package-levels"),
    forceNewCluster: v.bool("force-new-cluster"),
    enablePprof: v.bool("enable-pprof"),
    explicitFlags: new Set(v.set.keys()),
  };
}

/** The configuration with every flag at its default (for the help, version and discovery roles). */
function defaultConfig(): Config {
  const v = new Values(new Map());
  return buildConfig(v, { client: tlsConfig(v, "", []), peer: tlsConfig(v, "peer-", []) });
}

function oneOf<const T extends string>(value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  assert(found !== undefined, `"${value}" passed enum validation but is not one of ${allowed}`);
  return found;
}

/**
 * Parses argv (without the program name) and the environment into a validated Config.
 *
 * Precedence: flag > `ETCD_*` env > default; a variable for a flag also given on the command
 * line is an error (etcd 3.4). Subcommand `discovery` selects the discovery role, `--version`
 * and `--help` their roles (returning the default config), `--proxy on|readonly` the proxy
 * role, otherwise member. Throws ConfigError with a one-line message for any invalid input.
 */
export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  options: ParseOptions = {},
): ParseResult {
  if (argv[0] === "discovery") {
    const config = defaultConfig();
    const discoveryServer = parseDiscoveryServer(argv.slice(1), env);
    if (discoveryServer === null) {
      return { config, warnings: [], role: "help", helpTopic: "discovery" };
    }
    return { config, warnings: [], role: "discovery", discoveryServer };
  }
  const { values, warnings, wantsHelp, wantsVersion, leftover } = readArgv(argv);
  // etcd checks this before --version (and exits 1, not 2: the flags themselves parsed).
  if (leftover !== undefined) throw new ConfigError(`'${leftover}' is not a valid flag`);
  if (wantsHelp || wantsVersion) {
    const role = wantsHelp ? "help" : "version";
    return { config: defaultConfig(), warnings, role };
  }
  // As etcd: a config file (named by the flag, or else by ETCD_CONFIG_FILE) replaces the
  // flags, and the environment is then not read at all.
  const named: SetValue | undefined =
    values.get("config-file") ??
    (env.ETCD_CONFIG_FILE ? { value: env.ETCD_CONFIG_FILE, source: "env" } : undefined);
  const fromFile =
    named === undefined ? undefined : configFile(String(named.value), options, warnings);
  if (named === undefined || fromFile === undefined) readEnv(env, values, warnings);
  else {
    values.clear();
    for (const [name, value] of fromFile) values.set(name, value);
    values.set("config-file", named);
  }
  // Rule 3 looks at --listen-client-urls itself, not at a 0.4 --bind-addr mapped onto it.
  const listenClientUrlsGiven = values.has("listen-client-urls");
  applyLegacyAddresses(values);
  const v = new Values(values);
  const refused = checkSupport(values, warnings);
  // The CLI checks nothing else for a start that will not happen; callers that study the
  // full validation of a flag waiting for its issue leave `refuseUnsupported` off.
  if (refused !== undefined && options.refuseUnsupported === true) {
    return { config: defaultConfig(), warnings, role: "member", refused };
  }
  const tls = { client: tlsConfig(v, "", warnings), peer: tlsConfig(v, "peer-", warnings) };
  verifyFlags(v, tls, listenClientUrlsGiven, warnings);
  const config = buildConfig(v, tls);
  const role: Role = config.proxy === "off" ? "member" : "proxy";
  const walExists = options.walExists ?? (() => false);
  const restart = role === "member" && walExists(config.walDir);
  // A restart ignores the discovery flags (as etcd): only a start that uses them checks them.
  if (!restart) checkDiscoveryUrls(v);
  if (role === "member" && !restart) {
    verifyBootstrap(config, v.list("initial-advertise-peer-urls"));
  } else if (role === "member" && config.discovery !== "") {
    warnings.push(
      `discovery token ignored since a cluster has already been initialized. Valid log found at ${config.walDir}`,
    );
  }
  return { config, warnings, role };
}
