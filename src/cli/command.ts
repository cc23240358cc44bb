/**
 * The citty command definitions, generated from the flag table, used for `--help` output and
 * subcommand listing. citty does not parse etcd's flags (it misreads Go-style `-name` and
 * accepts unknown flags); config/ does. This module must not read argv or env.
 */
import { type ArgDef, type ArgsDef, type CommandDef, defineCommand, renderUsage } from "citty";
import { DISCOVERY_SERVER_FLAGS } from "../config/discovery-server.ts";
import { FLAGS, type FlagGroup, type FlagSpec } from "../config/flags.ts";
import { BACKUP_FLAGS } from "./backup-command.ts";

/** The product version, and the etcd API version whose behaviour it reproduces. */
export const VERSION = "0.1.0";
export const COMPATIBLE_ETCD_VERSION = "2.3.8";

function argDef(spec: FlagSpec): ArgDef {
  const description = spec.env === null ? spec.help : `${spec.help} [env ${spec.env}]`;
  switch (spec.kind.type) {
    case "bool":
      return { type: "boolean", description, default: spec.defaultText === "true" };
    case "enum":
      return {
        type: "enum",
        description,
        options: [...spec.kind.values],
        default: spec.defaultText,
      };
    default:
      return spec.defaultText === ""
        ? { type: "string", description, valueHint: spec.name }
        : { type: "string", description, valueHint: spec.name, default: spec.defaultText };
  }
}

/** Flags shown in help: everything except the 0.4-era flags kept only to warn or fail. */
function helpArgs(): ArgsDef {
  const args: ArgsDef = {};
  for (const spec of FLAGS) {
    if (spec.kind.type === "ignored" || spec.kind.type === "removed") continue;
    args[spec.name] = argDef(spec);
  }
  args.version = { type: "boolean", description: "Print the version and exit." };
  return args;
}

const DISCOVERY_ALIASES: Readonly<Record<string, string>> = { etcd: "e", host: "h", addr: "a" };

function discoveryArgs(): ArgsDef {
  const args: ArgsDef = {};
  for (const spec of DISCOVERY_SERVER_FLAGS) {
    const alias = DISCOVERY_ALIASES[spec.name];
    args[spec.name] = {
      type: "string",
      description: `${spec.help} [env ${spec.env}]`,
      valueHint: spec.name,
      // An empty default (--etcd: the embedded store) is said in the description instead.
      ...(spec.defaultText === "" ? {} : { default: spec.defaultText }),
      ...(alias === undefined ? {} : { alias }),
    };
  }
  return args;
}

export const discoveryCommand: CommandDef = defineCommand({
  meta: {
    name: "discovery",
    description:
      "Run a discovery service (discovery.etcd.io's API): tokens in --etcd, or in an embedded member.",
  },
  args: discoveryArgs(),
});

function backupArgs(): ArgsDef {
  const args: ArgsDef = {};
  for (const spec of BACKUP_FLAGS) {
    const description = spec.required ? `${spec.help} Required.` : spec.help;
    args[spec.name] = { type: "string", description, valueHint: spec.name };
  }
  return args;
}

export const backupCommand: CommandDef = defineCommand({
  meta: {
    name: "backup",
    description:
      "Copy a member's data dir (safe while it runs) into a new data dir with new member and " +
      "cluster IDs, to start with --force-new-cluster (etcdctl backup).",
  },
  args: backupArgs(),
});

export const rootCommand: CommandDef = defineCommand({
  meta: {
    name: "etcd-bun",
    version: VERSION,
    description: `An etcd ${COMPATIBLE_ETCD_VERSION}-compatible key-value store. Every flag may also be set through its ETCD_* environment variable; a flag and its variable together are an error.`,
  },
  args: helpArgs(),
  subCommands: { discovery: discoveryCommand, backup: backupCommand },
});

const GROUP_TITLES: readonly (readonly [FlagGroup, string])[] = [
  ["member", "Member"],
  ["clustering", "Clustering"],
  ["proxy", "Proxy"],
  ["security", "Security"],
  ["logging", "Logging"],
  ["legacy", "Deprecated (etcd 0.4 addresses) and unsupported"],
];

function flagHelp(spec: FlagSpec): string {
  const bare = spec.kind.type === "bool" || spec.kind.type === "uint";
  const shown = bare ? spec.defaultText : `'${spec.defaultText}'`;
  const env = spec.env === null ? "" : ` [${spec.env}]`;
  return `  --${spec.name} ${shown}${env}\n    ${spec.help}`;
}

/**
 * Root help in etcd's layout (usage, then flags grouped with defaults and env names): citty's
 * renderer right-aligns 40 long flags into an unreadable column, so the root help is rendered
 * from the same table here; the subcommand help comes from citty.
 */
export async function helpText(sub?: "discovery" | "backup"): Promise<string> {
  if (sub === "discovery") return renderUsage(discoveryCommand, rootCommand);
  if (sub === "backup") return renderUsage(backupCommand, rootCommand);
  const lines = [
    "Usage:",
    "",
    "  etcd-bun [flags]",
    "    Start an etcd-bun member (or proxy, with --proxy on|readonly).",
    "  etcd-bun --version",
    "    Show the version of etcd-bun.",
    "  etcd-bun -h | --help",
    "    Show this help.",
    "  etcd-bun discovery [flags]",
    "    Run a discovery service (discovery.etcd.io's API; see etcd-bun discovery --help).",
    "  etcd-bun backup --data-dir D [--wal-dir W] --backup-dir B [--backup-wal-dir BW]",
    "    Back up a member's data dir into a new one (start it with --force-new-cluster).",
    "",
    "Flags may be written -name, --name, -name=value or --name=value. Every flag can also be set",
    "through the ETCD_* variable shown; setting both a flag and its variable is an error.",
  ];
  for (const [group, title] of GROUP_TITLES) {
    const specs = FLAGS.filter((f) => f.group === group && isDocumented(f));
    if (specs.length === 0) continue;
    lines.push("", `${title}:`, "", ...specs.map(flagHelp));
  }
  return lines.join("\n");
}

function isDocumented(spec: FlagSpec): boolean {
  return spec.kind.type !== "ignored" || spec.kind.reason === "unsupported";
}

export function versionLines(): string[] {
  return [
    `etcd-bun Version: ${VERSION}`,
    `Compatible etcd Version: ${COMPATIBLE_ETCD_VERSION}`,
    `Bun Version: ${Bun.version}`,
    `OS/Arch: ${process.platform}/${process.arch}`,
  ];
}
