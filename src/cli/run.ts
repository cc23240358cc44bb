/**
 * The command-line entry logic: parse, report, pick the role, start it. It returns an exit code
 * instead of exiting so tests can drive it; main.ts owns the process. Nothing here touches
 * disk before the configuration is valid (the WAL probe only checks for existence).
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  type Config,
  ConfigError,
  type DiscoveryServerConfig,
  FlagSyntaxError,
  parseConfig,
} from "../config/config.ts";
import { helpText, versionLines } from "./command.ts";
import type { CliIo } from "./io.ts";

export interface CliDeps {
  /**
   * Starts the member role; the process then lives as long as its servers do. "proxy": the
   * discovery token was full and `--discovery-fallback proxy` asks for the proxy role instead.
   */
  readonly runMember: (config: Config) => Promise<undefined | "proxy">;
  /** Starts the proxy role. */
  readonly runProxy: (config: Config) => Promise<void>;
  /** Starts the discovery-server role (`etcd-bun discovery`). */
  readonly runDiscovery?: (config: DiscoveryServerConfig) => Promise<void>;
  /** Whether a WAL exists in the directory (restart: bootstrap flags ignored). */
  readonly walExists?: (walDir: string) => boolean;
  /** What the data dir was initialised as (default: look at the disk). */
  readonly dataDirKind?: (dataDir: string) => ReturnType<typeof dataDirKind>;
}

/** Exit codes: 0 ok, 1 bad or not yet supported configuration. */
export const EXIT_OK = 0;
export const EXIT_CONFIG = 1;
/** A command line that does not parse: Go's flag package exits 2, and so does etcd. */
export const EXIT_USAGE = 2;

/**
 * What a data dir was initialised as (etcd's identifyDataDirOrDie): a `member` dir makes the
 * process a member and a `proxy` dir a proxy, whatever `--proxy` says; both is an error.
 */
export function dataDirKind(dataDir: string): "member" | "proxy" | "empty" | "both" {
  const member = existsSync(join(dataDir, "member"));
  const proxy = existsSync(join(dataDir, "proxy"));
  if (member && proxy) return "both";
  return member ? "member" : proxy ? "proxy" : "empty";
}

/** A WAL exists when the directory holds at least one `*.wal` file. */
export function walExistsOnDisk(walDir: string): boolean {
  return existsSync(walDir) && readdirSync(walDir).some((f) => f.endsWith(".wal"));
}

/**
 * Runs the CLI for argv (without program name) and env. Configuration errors print one line
 * `etcd-bun: <message>` to stderr and return 1; warnings go to stderr as
 * `etcd-bun: warning: <message>`. Subcommand `backup` is handled by src/cli/backup-command.ts.
 */
export async function runCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CliIo,
  deps: CliDeps,
): Promise<number> {
  if (argv[0] === "backup") {
    const { runBackupCommand } = await import("./backup-command.ts");
    return runBackupCommand(argv.slice(1), io, () => helpText("backup"));
  }
  let parsed: ReturnType<typeof parseConfig>;
  try {
    parsed = parseConfig(argv, env, {
      walExists: deps.walExists ?? walExistsOnDisk,
      refuseUnsupported: true,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`etcd-bun: ${error.message}`);
    if (!(error instanceof FlagSyntaxError)) return EXIT_CONFIG;
    io.stderr("Usage: etcd-bun [flags] (etcd-bun --help lists them)");
    return EXIT_USAGE;
  }
  for (const warning of parsed.warnings) io.stderr(`etcd-bun: warning: ${warning}`);
  if (parsed.refused !== undefined && parsed.role !== "help" && parsed.role !== "version") {
    io.stderr(`etcd-bun: ${parsed.refused}`);
    return EXIT_CONFIG;
  }
  switch (parsed.role) {
    case "help":
      io.stdout(await helpText(parsed.helpTopic));
      return EXIT_OK;
    case "version":
      for (const line of versionLines()) io.stdout(line);
      return EXIT_OK;
    case "discovery":
      if (deps.runDiscovery === undefined || parsed.discoveryServer === undefined) {
        throw new Error("the discovery role needs its runner and configuration");
      }
      await deps.runDiscovery(parsed.discoveryServer);
      return EXIT_OK;
    case "proxy":
    case "member":
      return runServerRole(parsed.role, parsed.config, io, deps);
  }
}

async function runServerRole(
  wanted: "member" | "proxy",
  config: Config,
  io: CliIo,
  deps: CliDeps,
): Promise<number> {
  const kind = (deps.dataDirKind ?? dataDirKind)(config.dataDir);
  if (kind === "both") {
    io.stderr("etcd-bun: invalid datadir. Both member and proxy directories exist.");
    return EXIT_CONFIG;
  }
  const role = kind === "empty" ? wanted : kind;
  if (role !== wanted) {
    io.stderr(
      `etcd-bun: warning: the server is already initialized as ${role} before, starting as etcd ${role}...`,
    );
  }
  if (role === "proxy" || (await deps.runMember(config)) === "proxy") await deps.runProxy(config);
  return EXIT_OK;
}
