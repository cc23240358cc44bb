/**
 * Byte-exact etcd v2 JSON for events, errors and store stats, built as strings (no
 * intermediate objects). Mirrors Go's encoding/json: omitempty fields, HTML-safe escaping,
 * RFC3339Nano UTC times, a trailing newline after events and errors (json.Encoder). Keys lose
 * the `/1` user namespace prefix here, as etcd's v2http does.
 */
import type { EtcdError } from "./errors.ts";
import type { Event, NodeView } from "./event.ts";
import type { StoreStats } from "./stats.ts";
import { statsFields } from "./stats.ts";
import type { Clock } from "./store.ts";

/** The store namespace that holds user keys; trimmed from keys and error causes. */
export const storeKeysPrefix = "/1";

export interface RenderOptions {
  /** etcd 3's `noValueOnSuccess`: set/create/update/CAS answer only `{"action":...}`. */
  readonly noValueOnSuccess?: boolean;
}

/**
 * The response body for `e` (newline-terminated). ttl is the time left at `clock.now()`; etcd
 * computes it when the event is made, so only a history replay differs (it shows the ttl of
 * back then).
 */
export function eventToJson(e: Event, clock: Clock, options: RenderOptions = {}): string {
  if (options.noValueOnSuccess === true && isWriteAction(e.action)) {
    return `{"action":"${e.action}"}\n`;
  }
  const now = clock.now();
  let out = `{"action":"${e.action}","node":${nodeToJson(e.node, now)}`;
  if (e.prevNode !== undefined) out += `,"prevNode":${nodeToJson(e.prevNode, now)}`;
  return `${out}}\n`;
}

function isWriteAction(action: Event["action"]): boolean {
  return (
    action === "set" || action === "create" || action === "update" || action === "compareAndSwap"
  );
}

/** One node in etcd's field order; every field omitted when empty, as Go's omitempty does. */
export function nodeToJson(n: NodeView, nowMs: number): string {
  let out = "{";
  const key = trimKeysPrefix(n.key);
  if (key !== "") out += `"key":${goQuote(key)},`;
  if (n.value !== undefined) out += `"value":${goQuote(n.value)},`;
  if (n.dir) out += `"dir":true,`;
  if (n.expireTime !== 0) {
    out += `"expiration":"${rfc3339Nano(n.expireTime)}",`;
    const ttl = ttlSeconds(n.expireTime, nowMs);
    if (ttl !== 0) out += `"ttl":${ttl},`;
  }
  const nodes = n.nodes;
  if (nodes !== undefined && nodes.length > 0) {
    out += `"nodes":[${nodeToJson(nodes[0] as NodeView, nowMs)}`;
    for (let i = 1; i < nodes.length; i++) out += `,${nodeToJson(nodes[i] as NodeView, nowMs)}`;
    out += "],";
  }
  if (n.modifiedIndex !== 0) out += `"modifiedIndex":${n.modifiedIndex},`;
  if (n.createdIndex !== 0) out += `"createdIndex":${n.createdIndex},`;
  // Drop the trailing comma (or close an empty object, e.g. an empty root listing).
  return out.length === 1 ? "{}" : `${out.slice(0, -1)}}`;
}

/**
 * etcd's ttl: ceil of the seconds left, computed like Go (truncate toward zero, then +1 for a
 * positive remainder), so an overdue key shows 0 or a negative number, never rounded up.
 */
export function ttlSeconds(expireTimeMs: number, nowMs: number): number {
  const left = expireTimeMs - nowMs;
  const whole = Math.trunc(left / 1000) + 0; // + 0 turns -0 into 0
  return left % 1000 > 0 ? whole + 1 : whole;
}

/** The error body etcd writes (newline-terminated), cause without the `/1` prefix. */
export function errorToJson(err: EtcdError): string {
  const cause = trimKeysPrefix(err.cause);
  const causePart = cause === "" ? "" : `,"cause":${goQuote(cause)}`;
  return `{"errorCode":${err.code},"message":${goQuote(err.errorMessage)}${causePart},"index":${err.index}}\n`;
}

/** `/v2/stats/store` body (no trailing newline, as etcd writes it). */
export function storeStatsJson(stats: StoreStats): string {
  let out = "{";
  for (const f of statsFields) out += `"${f}":${stats[f]},`;
  return `${out}"watchers":${stats.watchers}}`;
}

function trimKeysPrefix(s: string): string {
  return s.startsWith(storeKeysPrefix) ? s.slice(storeKeysPrefix.length) : s;
}

// Characters Go's encoder escapes: quote, backslash, controls, HTML-sensitive <>&, the JS line
// separators U+2028/9, and surrogates (to catch unpaired ones, which Go sees as invalid UTF-8).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what Go escapes.
const needsEscape = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;
/**
 * What JSON.stringify writes differently from Go: a backslash pair (skipped, so a following
 * `u` is not taken for an escape), `\b` and `\f` (Go: \u0008, \u000c), a lone surrogate's
 * escape (Go: \ufffd, as for invalid UTF-8), and the HTML and line-separator characters Go
 * escapes.
 */
const GO_DIFFERENCES = /\\\\|\\b|\\f|\\ud[89a-f][0-9a-f]{2}|[<>&\u2028\u2029]/g;
const GO_ESCAPES: Record<string, string> = {
  "\\b": "\\u0008",
  "\\f": "\\u000c",
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/**
 * A JSON string literal exactly as Go's encoding/json writes it (HTML escaping on). Built on
 * the engine's JSON.stringify, then adjusted: escaping a 10 MiB value of control bytes is one
 * native pass, not ten million string appends.
 */
export function goQuote(s: string): string {
  if (!needsEscape.test(s)) return `"${s}"`;
  return JSON.stringify(s).replace(GO_DIFFERENCES, (m) => {
    if (m.length === 6) return "\\ufffd"; // \udXXX: a lone surrogate
    return GO_ESCAPES[m] ?? m;
  });
}

/**
 * Go's `time.RFC3339Nano` in UTC for a ms timestamp: fraction trimmed of trailing zeros and
 * left out when zero. Computed arithmetically (civil-from-days, proleptic Gregorian).
 */
export function rfc3339Nano(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const msOfDay = ms - days * 86_400_000;
  const [y, m, d] = civilFromDays(days);
  const hh = Math.floor(msOfDay / 3_600_000);
  const mm = Math.floor(msOfDay / 60_000) % 60;
  const ss = Math.floor(msOfDay / 1000) % 60;
  const frac = msOfDay % 1000;
  let fracText = "";
  if (frac !== 0) {
    fracText = `.${String(frac).padStart(3, "0")}`;
    while (fracText.endsWith("0")) fracText = fracText.slice(0, -1);
  }
  const year = y < 0 ? `-${String(-y).padStart(4, "0")}` : String(y).padStart(4, "0");
  return `${year}-${pad2(m)}-${pad2(d)}T${pad2(hh)}:${pad2(mm)}:${pad2(ss)}${fracText}Z`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Howard Hinnant's days-since-1970-01-01 → [year, month 1-12, day 1-31]. */
function civilFromDays(z0: number): [number, number, number] {
  const z = z0 + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}
