/**
 * Reads flag values from argv (Go `flag` package rules) and from `ETCD_*` environment variables
 * (etcd 3.4 `pkg/flags.SetFlagsFromEnv` rules), converting each text with its kind's parser.
 * It knows the flag table and nothing about what the values mean together; cross-flag rules
 * live in config.ts. No I/O: the environment is passed in.
 */
import { type FlagSpec, flagByEnv, flagByName } from "./flags.ts";
import { parseAddress, parseBool, parseUint, parseUrlList, parseWordList } from "./values.ts";

/** An expected configuration failure: one line, shown to the user as `etcd-bun: <message>`. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The command line itself does not parse (Go's flag package: etcd exits 2, with its usage). */
export class FlagSyntaxError extends ConfigError {
  override name = "FlagSyntaxError";
}

export type FlagValue = string | number | boolean | readonly string[];

export interface SetValue {
  readonly value: FlagValue;
  readonly source: "flag" | "env" | "file";
}

/** What argv asked for before any value is interpreted. */
export interface ArgvResult {
  readonly values: Map<string, SetValue>;
  readonly warnings: string[];
  readonly wantsHelp: boolean;
  readonly wantsVersion: boolean;
  /** The first argument after the flags (an error once help and version are handled). */
  readonly leftover?: string | undefined;
}

/** Env variables that are not flags but must not be reported as unrecognized. */
const ENV_NOT_FLAGS = new Set(["ETCD_UNSUPPORTED_ARCH"]);

/**
 * Converts one flag text. `where` names the origin for the message: `flag -x` or `ETCD_X`.
 * Throws ConfigError with etcd's wording (`invalid value "abc" for flag -x: parse error`).
 */
export function convert(spec: FlagSpec, text: string, where: string): FlagValue {
  const invalid = (reason: string): never => {
    throw new ConfigError(`invalid value "${text}" for ${where}: ${reason}`);
  };
  const kind = spec.kind;
  switch (kind.type) {
    case "string":
      return ["cors", "host-whitelist", "log-outputs"].includes(spec.name)
        ? parseWordList(text)
        : text;
    case "uint": {
      const r = parseUint(text);
      return r.ok ? r.value : invalid(r.reason);
    }
    case "bool": {
      const r = parseBool(text);
      if (r.ok) return r.value;
      if (where.startsWith("flag ")) {
        throw new ConfigError(`invalid boolean value "${text}" for -${spec.name}: parse error`);
      }
      return invalid(r.reason);
    }
    case "urls": {
      const r = parseUrlList(text);
      return r.ok ? r.value : invalid(r.reason);
    }
    case "enum":
      return kind.values.includes(text)
        ? text
        : invalid(`valid values are ${kind.values.map((v) => `'${v}'`).join(", ")}`);
    case "address": {
      const r = parseAddress(text);
      return r.ok ? r.value : invalid(r.reason);
    }
    case "ignored":
    case "removed":
      return text;
  }
}

/** Which flags a command accepts: etcd's table for the member, another for `discovery`. */
export interface FlagLookup {
  readonly byName: (name: string) => FlagSpec | undefined;
  /** Names that stop parsing and ask for help (Go: `-h`, `-help`). */
  readonly helpNames: readonly string[];
}

const ETCD_FLAGS: FlagLookup = { byName: flagByName, helpNames: ["h", "help"] };

/** `--version` is not in the flag table (it has no env form) but parses as a boolean. */
const VERSION_FLAG: FlagSpec = {
  name: "version",
  env: null,
  kind: { type: "bool" },
  defaultText: "false",
  help: "Print the version and exit.",
  group: "member",
};

/** Flags that behave like Go booleans: they never consume the next argument. */
function isBoolLike(spec: FlagSpec): boolean {
  const t = spec.kind.type;
  return t === "bool" || t === "ignored" || t === "removed";
}

function legacyWarning(spec: FlagSpec, values: Map<string, SetValue>, warnings: string[]): void {
  const kind = spec.kind;
  if (kind.type === "removed") {
    throw new ConfigError(`flag "-${spec.name}" is no longer supported.`);
  }
  if (kind.type === "ignored") {
    warnings.push(
      kind.reason === "removed"
        ? `flag "-${spec.name}" is no longer supported - ignoring.`
        : `flag "-${spec.name}" is not supported by etcd-bun - ignoring.`,
    );
    values.delete(spec.name);
  }
}

/**
 * Go `flag.Parse` over argv (program name already removed): `-x`, `--x`, `-x=v`, `--x=v`,
 * `-x v`; booleans take only the `=` form for a value; parsing stops at `--` or at the first
 * non-flag argument, and any leftover argument is an error (`'x' is not a valid flag`).
 */
export function readArgv(argv: readonly string[], table: FlagLookup = ETCD_FLAGS): ArgvResult {
  try {
    return readFlags(argv, table);
  } catch (error) {
    if (!(error instanceof ConfigError) || error instanceof FlagSyntaxError) throw error;
    throw new FlagSyntaxError(error.message);
  }
}

function readFlags(argv: readonly string[], table: FlagLookup): ArgvResult {
  const values = new Map<string, SetValue>();
  const warnings: string[] = [];
  let wantsVersion = false;
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? "";
    if (arg.length < 2 || !arg.startsWith("-")) break;
    i++;
    if (arg === "--") break;
    const body = arg.slice(arg.startsWith("--") ? 2 : 1);
    if (body === "" || body.startsWith("-") || body.startsWith("=")) {
      throw new ConfigError(`bad flag syntax: ${arg}`);
    }
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (table.helpNames.includes(name)) {
      // Go's flag package stops at -h and reports ErrHelp; etcd prints usage and exits 0.
      return { values, warnings, wantsHelp: true, wantsVersion };
    }
    if (name === "version") {
      wantsVersion =
        inline === undefined ? true : convert(VERSION_FLAG, inline, "flag -version") === true;
      continue;
    }
    const spec = table.byName(name);
    if (spec === undefined) throw new ConfigError(`flag provided but not defined: -${name}`);
    let text = inline;
    if (text === undefined) {
      if (isBoolLike(spec)) text = "true";
      else if (i < argv.length) text = argv[i++] ?? "";
      else throw new ConfigError(`flag needs an argument: -${name}`);
    }
    values.set(spec.name, { value: convert(spec, text, `flag -${name}`), source: "flag" });
    legacyWarning(spec, values, warnings);
  }
  return { values, warnings, wantsHelp: false, wantsVersion, leftover: argv[i] };
}

/**
 * Applies `ETCD_*` variables to flags not set on the command line, as etcd 3.4's
 * SetFlagsFromEnv and verifyEnv: an empty value sets nothing; a variable naming a flag that
 * argv also set is fatal, even empty; any other `ETCD_*` variable not used (naming no flag, or
 * empty) is warned about as unrecognized.
 */
export function readEnv(
  env: Readonly<Record<string, string | undefined>>,
  values: Map<string, SetValue>,
  warnings: string[],
): void {
  for (const key of Object.keys(env).sort()) {
    const text = env[key];
    if (!key.startsWith("ETCD_") || text === undefined) continue;
    if (ENV_NOT_FLAGS.has(key)) continue;
    const spec = flagByEnv(key);
    if (spec !== undefined && values.get(spec.name)?.source === "flag") {
      throw new ConfigError(
        `conflicting environment variable "${key}" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`,
      );
    }
    if (spec === undefined || text === "") {
      warnings.push(`unrecognized environment variable ${key}=${text}`);
      continue;
    }
    values.set(spec.name, { value: convert(spec, text, key), source: "env" });
    legacyWarning(spec, values, warnings);
  }
}
