/**
 * Configuration of the `discovery` subcommand: a discovery.etcd.io-compatible token service.
 * Flags as the original (`--etcd/-e`, `--host/-h`, `--addr/-a`; env `DISC_ETCD`, `DISC_HOST`,
 * `DISC_ADDR`, where a flag beats its variable as with viper). Pure: argv and env passed in.
 */
import type { FlagSpec } from "./flags.ts";
import { ConfigError, readArgv } from "./sources.ts";
import { parseOneUrl } from "./values.ts";

export interface DiscoveryServerConfig {
  /** Backing etcd, `scheme://host[:port]` only. */
  readonly etcdUrl: string;
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
  "http://127.0.0.1:2379",
  "The etcd endpoint tokens are stored in (scheme://host:port).",
);
const HOST = discoveryFlag(
  "host",
  "DISC_HOST",
  "http://example.com",
  "The URL prefix of the token URLs returned by /new.",
);
const ADDR = discoveryFlag("addr", "DISC_ADDR", ":8087", "The address to listen on.");

/** The discovery subcommand's flags, in help order. */
export const DISCOVERY_SERVER_FLAGS: readonly FlagSpec[] = [ETCD, HOST, ADDR];

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
  const { values, wantsHelp } = readArgv(argv, { byName: lookup, helpNames: ["help"] });
  if (wantsHelp) return null;
  const text = (spec: FlagSpec): string => {
    const given = values.get(spec.name);
    if (given !== undefined) return String(given.value);
    const fromEnv = spec.env === null ? undefined : env[spec.env];
    return fromEnv !== undefined && fromEnv !== "" ? fromEnv : spec.defaultText;
  };
  const etcdUrl = text(ETCD);
  const parsed = parseOneUrl(etcdUrl);
  if (!parsed.ok) throw new ConfigError(`invalid --etcd ${etcdUrl}: ${parsed.reason}`);
  return { etcdUrl, hostPrefix: text(HOST).replace(/\/+$/, ""), listenAddr: text(ADDR) };
}
