/**
 * Value parsers for flag text, with etcd's error wording. Each returns the parsed value or a
 * reason string (the part after the colon in `invalid value "x" for flag -y: <reason>`).
 * Pure functions: no process, no I/O.
 */

import { parseGoBool } from "../util/go-bool.ts";

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

/** Go `strconv.ParseBool`, with its error text. */
export function parseBool(text: string): Parsed<boolean> {
  const value = parseGoBool(text);
  return value === undefined ? fail("parse error") : ok(value);
}

const SCHEMES = new Set(["http", "https", "unix", "unixs"]);
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})(.{0,2})/s;
const PORT = /^[0-9]+$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.%a-zA-Z]+\]|[^:[\]]+):([0-9]+)$/;

/**
 * One URL as etcd `types.NewURLs` accepts it, with its error texts: Go's url.Parse errors
 * (scheme, port digits, %-escapes), then scheme http/https/unix/unixs, then `host:port`
 * (net.SplitHostPort; the host may be empty), then no path (a query is allowed). Stricter than
 * Go in one way: a port above 65535 is refused. Returns the text as given (trimmed); callers
 * build `URL` objects.
 */
export function parseOneUrl(text: string): Parsed<string> {
  const t = text.trim();
  const parsed = goUrlParts(t);
  if (typeof parsed === "string") return fail(`parse ${JSON.stringify(t)}: ${parsed}`);
  if (!SCHEMES.has(parsed.scheme))
    return fail(`URL scheme must be http, https, unix, or unixs: ${t}`);
  const port = splitHostPort(parsed.host);
  if (port === undefined || !PORT.test(port) || Number(port) > 65535) {
    return fail(`URL address does not have the form "host:port": ${t}`);
  }
  if (parsed.path !== "") return fail(`URL must not contain a path: ${t}`);
  if (!URL.canParse(t)) return fail(`URL could not be parsed: ${t}`);
  return ok(t);
}

/** Go's url.Parse, reduced to what NewURLs looks at; a string is Go's error text. */
function goUrlParts(t: string): { scheme: string; host: string; path: string } | string {
  if (t.startsWith(":")) return "missing protocol scheme";
  const m = SCHEME.exec(t);
  const scheme = m === null ? "" : (m[1] ?? "").toLowerCase();
  let rest = m === null ? t : (m[2] ?? "");
  const hash = rest.indexOf("#");
  const fragment = hash >= 0 ? rest.slice(hash + 1) : "";
  if (hash >= 0) rest = rest.slice(0, hash);
  const query = rest.indexOf("?");
  if (query >= 0) rest = rest.slice(0, query);
  let host = "";
  if (rest.startsWith("//")) {
    const end = rest.slice(2).search(/\//);
    const authority = end < 0 ? rest.slice(2) : rest.slice(2, 2 + end);
    rest = end < 0 ? "" : rest.slice(2 + end);
    host = authority.slice(authority.lastIndexOf("@") + 1);
    if (host.startsWith("[") && !host.includes("]")) return "missing ']' in host";
    const colonPort = host.startsWith("[")
      ? host.slice(host.indexOf("]") + 1)
      : host.slice(host.includes(":") ? host.lastIndexOf(":") : host.length);
    if (colonPort !== "" && !/^:[0-9]*$/.test(colonPort)) {
      return `invalid port ${JSON.stringify(colonPort)} after host`;
    }
  } else if (scheme !== "" && !rest.startsWith("/")) {
    rest = ""; // opaque: no host, no path
  }
  for (const part of [host, rest, fragment]) {
    const bad = BAD_ESCAPE.exec(part);
    if (bad !== null) return `invalid URL escape ${JSON.stringify(`%${bad[1]}`)}`;
  }
  return { scheme, host, path: rest };
}

/** The port of Go's net.SplitHostPort(host), or undefined where it fails. */
function splitHostPort(host: string): string | undefined {
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close < 0 || host[close + 1] !== ":") return undefined;
    return host.slice(close + 2);
  }
  const colon = host.lastIndexOf(":");
  if (colon < 0 || host.indexOf(":") !== colon) return undefined;
  return host.slice(colon + 1);
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
