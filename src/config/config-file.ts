/**
 * `--config-file` / `ETCD_CONFIG_FILE`: etcd 3.4's YAML configuration file. Its keys are the
 * flag names (`name`, `data-dir`, `listen-client-urls: http://a:2379,http://b:2379`, ...), with
 * the TLS files nested under `client-transport-security` and `peer-transport-security`. As in
 * etcd, a file replaces the command line and the environment entirely. Pure: the caller reads
 * the file.
 */
import { type FlagSpec, flagByName } from "./flags.ts";
import { ConfigError, convert, type SetValue } from "./sources.ts";

/** etcd's `securityConfig` fields: each is the side's flag of that name (`peer-` prefixed). */
const SECURITY_FIELDS = new Set([
  "cert-file",
  "key-file",
  "client-cert-auth",
  "trusted-ca-file",
  "auto-tls",
]);

const SECURITY_SECTIONS: Readonly<Record<string, string>> = {
  "client-transport-security": "",
  "peer-transport-security": "peer-",
};

/** The flag values a configuration file sets (`path` names it in messages). */
export function configFileValues(
  path: string,
  text: string,
  warnings: string[],
): Map<string, SetValue> {
  let parsed: unknown;
  try {
    parsed = Bun.YAML.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return new Map();
  if (typeof parsed !== "object" || Array.isArray(parsed))
    throw new ConfigError(`config file ${path}: not a mapping of settings`);
  const values = new Map<string, SetValue>();
  const set = (spec: FlagSpec, key: string, raw: unknown) => {
    if (raw === null) return;
    const text = textOf(raw);
    if (text === undefined)
      throw new ConfigError(`config file ${path}: ${key} cannot be ${JSON.stringify(raw)}`);
    values.set(spec.name, { value: convert(spec, text, `${key} in ${path}`), source: "file" });
  };
  for (const [key, raw] of Object.entries(parsed)) {
    const prefix = SECURITY_SECTIONS[key];
    if (prefix !== undefined) {
      for (const [field, value] of Object.entries(sectionOf(path, key, raw))) {
        const spec = SECURITY_FIELDS.has(field) ? flagByName(`${prefix}${field}`) : undefined;
        if (spec === undefined) warnings.push(`config file ${path}: unknown key ${key}.${field}`);
        else set(spec, `${key}.${field}`, value);
      }
      continue;
    }
    // Naming itself, as a file written from a flag list may: nothing to set.
    if (key === "config-file") continue;
    const spec = flagByName(key);
    if (spec === undefined) warnings.push(`config file ${path}: unknown key ${key}`);
    else set(spec, key, raw);
  }
  return values;
}

function sectionOf(path: string, key: string, raw: unknown): Record<string, unknown> {
  if (raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw))
    throw new ConfigError(`config file ${path}: ${key} must be a mapping`);
  return raw as Record<string, unknown>;
}

/** A YAML scalar (or list, for the list flags) as the text a flag takes. */
function textOf(raw: unknown): string | undefined {
  if (typeof raw === "string") return raw;
  if (typeof raw === "number" || typeof raw === "boolean") return String(raw);
  if (Array.isArray(raw) && raw.every((item) => typeof item === "string")) return raw.join(",");
  return undefined;
}
