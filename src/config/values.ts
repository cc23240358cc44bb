/**
 * Value parsers for flag text, with etcd's error wording. Each returns the parsed value or a
 * reason string (the part after the colon in `invalid value "x" for flag -y: <reason>`).
 * Pure functions: no process, no I/O.
 */

/** The largest uint accepted: beyond it a millisecond count or file count is surely a typo. */
const UINT_MAX = Number.MAX_SAFE_INTEGER;

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

function fail<T>(reason: string): Parsed<T> {
  return { ok: false, reason };
}

/** Go `strconv.ParseUint(s, 0, 64)` restricted to decimal and `0x` hex. */
export function parseUint(text: string): Parsed<number> {
  const t = text.trim();
  let n: number;
  if (/^[0-9]+$/.test(t)) n = Number(t);
  else if (/^0[xX][0-9a-fA-F]+$/.test(t)) n = Number.parseInt(t.slice(2), 16);
  else return fail("parse error");
  if (!Number.isSafeInteger(n) || n > UINT_MAX) return fail("value out of range");
  return ok(n);
}

const TRUE_WORDS = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_WORDS = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** Go `strconv.ParseBool`. */
export function parseBool(text: string): Parsed<boolean> {
  if (TRUE_WORDS.has(text)) return ok(true);
  if (FALSE_WORDS.has(text)) return ok(false);
  return fail("parse error");
}

const SCHEMES = new Set(["http", "https", "unix", "unixs"]);
const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.%a-zA-Z]+\]|[^:[\]]+):([0-9]+)$/;

/**
 * One URL as etcd `types.NewURLs` accepts it: scheme http/https/unix/unixs, an explicit
 * `host:port`, and no path. Returns the text as given (trimmed); callers build `URL` objects.
 */
export function parseOneUrl(text: string): Parsed<string> {
  const t = text.trim();
  const m = URL_SHAPE.exec(t);
  const scheme = m?.[1]?.toLowerCase() ?? "";
  if (m === null || !SCHEMES.has(scheme)) {
    return fail(`URL scheme must be http, https, unix, or unixs: ${t}`);
  }
  const host = m[2] ?? "";
  const port = HOST_PORT.exec(host)?.[2];
  if (port === undefined || Number(port) > 65535) {
    return fail(`URL address does not have the form "host:port": ${t}`);
  }
  if ((m[3] ?? "") !== "") return fail(`URL must not contain a path: ${t}`);
  if (!URL.canParse(t)) return fail(`URL could not be parsed: ${t}`);
  return ok(t);
}

/** Comma-separated URL list, sorted (etcd `types.NewURLs` sorts). Empty text → empty list. */
export function parseUrlList(text: string): Parsed<string[]> {
  const out: string[] = [];
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const one = parseOneUrl(part);
    if (!one.ok) return one;
    out.push(one.value);
  }
  return ok(out.sort());
}

/** etcd 0.4 address: `ip:port` (etcd `flags.IPAddressPort`). */
export function parseAddress(text: string): Parsed<string> {
  const m = HOST_PORT.exec(text.trim());
  const host = m?.[1] ?? "";
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  if (m === null || !isIpLiteral(bare)) return fail(`"${text}" is not a valid IP:port address`);
  return ok(text.trim());
}

export function isIpLiteral(host: string): boolean {
  if (/^(\d{1,3})(\.\d{1,3}){3}$/.test(host)) {
    return host.split(".").every((o) => Number(o) <= 255);
  }
  return host.includes(":") && URL.canParse(`http://[${host}]:1`);
}

/** Comma list of words; blanks dropped, duplicates removed, order kept. */
export function parseWordList(text: string): string[] {
  const words = text
    .split(",")
    .map((w) => w.trim())
    .filter((w) => w !== "");
  return [...new Set(words)];
}

/**
 * `--initial-cluster` text (`name=url,name=url,...`; a name may repeat for several URLs) into
 * name → sorted URLs, as etcd `types.NewURLsMap`.
 */
export function parseInitialCluster(text: string): Parsed<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  for (const entry of text.split(",")) {
    if (entry.trim() === "") continue;
    const eq = entry.indexOf("=");
    if (eq < 0) return fail(`entry "${entry}" is not of the form name=url`);
    const name = entry.slice(0, eq).trim();
    const url = parseOneUrl(entry.slice(eq + 1));
    if (!url.ok) return url;
    const urls = map.get(name) ?? [];
    urls.push(url.value);
    map.set(name, urls);
  }
  for (const urls of map.values()) urls.sort();
  return ok(map);
}

/** etcd `URLsMap.String()`: `name=url` pairs sorted, comma-joined. */
export function formatInitialCluster(map: ReadonlyMap<string, readonly string[]>): string {
  const pairs: string[] = [];
  for (const [name, urls] of map) for (const u of urls) pairs.push(`${name}=${u}`);
  return pairs.sort().join(",");
}

/**
 * A parsed URL back to etcd's text form `scheme://host:port`. WHATWG `URL` drops a default
 * port (`:80` on http) and adds a trailing `/`; this restores the explicit port and drops it.
 */
export function formatUrl(url: URL): string {
  const scheme = url.protocol.slice(0, -1);
  const port = url.port !== "" ? url.port : scheme === "https" ? "443" : "80";
  return `${url.protocol}//${url.hostname}:${port}`;
}
