/**
 * Configuration of the `discovery` subcommand: a discovery.etcd.io-compatible token service.
 * Flags as the original (`--etcd/-e`, `--host/-h`, `--addr/-a`; env `DISC_ETCD`, `DISC_HOST`,
 * `DISC_ADDR`, where a flag beats its variable as with viper), and two of our own: where the
 * embedded store keeps its data when no `--etcd` is given, and when unused tokens expire.
 * Pure: argv and env passed in.
 */
import type { FlagSpec } from "./flags.ts";
import { ConfigError, readArgv } from "./sources.ts";
import { parseOneUrl } from "./values.ts";

export interface DiscoveryServerConfig {
  /** Backing etcd, `scheme://host[:port]` only; undefined: an embedded etcd-bun member. */
  readonly etcdUrl: string | undefined;
  /** The embedded member's data dir (used when `etcdUrl` is undefined). */
  readonly dataDir: string;
  /** Seconds after which a token and its registrations are removed; 0: never. */
  readonly tokenTtlS: number;
  /** Prefix of the token URLs handed out by `/new`. */
  readonly hostPrefix: string;
  /** Listen address, `[host]:port`. */
  readonly listenAddr: string;
}

const STRING = { type: "string" } as const;

function discoveryFlag(name: string, env: string, defaultText: string, help: string): FlagSpec {
  return { name, env, kind: STRING, defaultText, help, group: "member" };
}

const ETCD = discoveryFlag(
  "etcd",
  "DISC_ETCD",
  "",
  "The etcd (or etcd-bun) endpoint tokens are stored in (scheme://host:port). Default: an embedded etcd-bun member in --data-dir.",
);
const HOST = discoveryFlag(
  "host",
  "DISC_HOST",
  "http://example.com",
  "The URL prefix of the token URLs returned by /new.",
);
const ADDR = discoveryFlag("addr", "DISC_ADDR", ":8087", "The address to listen on.");
const DATA_DIR = discoveryFlag(
  "data-dir",
  "DISC_DATA_DIR",
  "discovery.etcd",
  "Where the embedded member keeps the tokens (without --etcd).",
);
const TOKEN_TTL = discoveryFlag(
  "token-ttl",
  "DISC_TOKEN_TTL",
  "0",
  "Seconds after which a token from /new and its registrations are removed (0: never).",
);

/** The discovery subcommand's flags, in help order. */
export const DISCOVERY_SERVER_FLAGS: readonly FlagSpec[] = [ETCD, HOST, ADDR, DATA_DIR, TOKEN_TTL];

const SHORT: Readonly<Record<string, string>> = { e: "etcd", h: "host", a: "addr" };

function lookup(name: string): FlagSpec | undefined {
  const full = SHORT[name] ?? name;
  return DISCOVERY_SERVER_FLAGS.find((f) => f.name === full);
}

/**
 * Parses the arguments after `discovery`. Returns null when help was asked for (`--help`;
 * `-h` is `--host`, as in the original service). Throws ConfigError.
 */
export function parseDiscoveryServer(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DiscoveryServerConfig | null {
  const { values, wantsHelp, leftover } = readArgv(argv, { byName: lookup, helpNames: ["help"] });
  if (wantsHelp) return null;
  if (leftover !== undefined) throw new ConfigError(`'${leftover}' is not a valid flag`);
  const text = (spec: FlagSpec): string => {
    const given = values.get(spec.name);
    if (given !== undefined) return String(given.value);
    const fromEnv = spec.env === null ? undefined : env[spec.env];
    return fromEnv !== undefined && fromEnv !== "" ? fromEnv : spec.defaultText;
  };
  const etcdUrl = text(ETCD);
  if (etcdUrl !== "") {
    const parsed = parseOneUrl(etcdUrl);
    if (!parsed.ok) throw new ConfigError(`invalid --etcd ${etcdUrl}: ${parsed.reason}`);
    if (!/^https?:$/.test(new URL(etcdUrl).protocol)) {
      throw new ConfigError(`invalid --etcd ${etcdUrl}: the discovery service speaks http(s) only`);
    }
  }
  const ttl = text(TOKEN_TTL);
  if (!/^[0-9]{1,9}$/.test(ttl)) {
    throw new ConfigError(`invalid --token-ttl ${ttl}: a whole number of seconds`);
  }
  const listenAddr = text(ADDR);
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):[0-9]{1,5}$/.test(listenAddr)) {
    throw new ConfigError(`invalid --addr ${listenAddr}: want [host]:port`);
  }
  return {
    etcdUrl: etcdUrl === "" ? undefined : etcdUrl.replace(/\/+$/, ""),
    hostPrefix: text(HOST).replace(/\/+$/, ""),
    listenAddr,
    dataDir: text(DATA_DIR),
    tokenTtlS: Number(ttl),
  };
}
