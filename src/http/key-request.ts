/**
 * Parsing of `/v2/keys` requests into a `V2Request`, error for error as etcd's
 * `parseKeyRequest` (v2http/client.go), and Go's `ParseForm` merge of query and form body.
 * Pure: no I/O, time comes in as `nowMs`. Method checks (405) and path cleaning (301) belong to
 * the router, before this runs.
 */

import { ErrorCode, EtcdError } from "../store/errors.ts";
import { cleanStorePath } from "../store/path.ts";
import type { V2Method, V2Request } from "../store/v2-apply.ts";
import { assert } from "../util/assert.ts";
import { parseGoBool } from "../util/go-bool.ts";

const keysMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "PUT", "POST", "DELETE"]);

/**
 * Builds the request etcd would build. `method` is the HTTP method (GET, HEAD, PUT, POST,
 * DELETE); the result's method is "QGET" for a GET with quorum=true (even with wait=true, which
 * etcd then ignores) and "GET" for HEAD. `keyPath` is the decoded path after `/v2/keys`.
 * `params` holds the merged query and form values (first value of a name counts).
 * Throws EtcdError 201, 202, 203, 209, 211 or 212 with index 0.
 */
export function parseKeyRequest(
  method: string,
  keyPath: string,
  params: URLSearchParams,
  nowMs: number,
): V2Request {
  assert(keysMethods.has(method), `parseKeyRequest: method ${method} must be rejected earlier`);
  const prevIndex = getUint(
    params,
    "prevIndex",
    ErrorCode.indexNaN,
    `invalid value for "prevIndex"`,
  );
  const since = getUint(params, "waitIndex", ErrorCode.indexNaN, `invalid value for "waitIndex"`);
  const recursive = getFlag(params, "recursive");
  const sorted = getFlag(params, "sorted");
  const wait = getFlag(params, "wait");
  const dir = getFlag(params, "dir");
  const quorum = getFlag(params, "quorum");
  const stream = getFlag(params, "stream");
  if (wait && method !== "GET") {
    throw requestError(ErrorCode.invalidField, `"wait" can only be used with GET requests`);
  }
  const prevValue = params.get("prevValue");
  if (prevValue === "") {
    throw requestError(ErrorCode.prevValueRequired, `"prevValue" cannot be empty`);
  }
  const noValueOnSuccess = getFlag(params, "noValueOnSuccess");
  const ttlText = params.get("ttl") ?? "";
  const ttl =
    ttlText === "" ? undefined : parseUint64(ttlText, ErrorCode.ttlNaN, `invalid value for "ttl"`);
  const prevExist = getOptionalBool(params, "prevExist", "invalid value for prevExist");
  const refresh = getOptionalBool(params, "refresh", "invalid value for refresh");
  if (refresh === true) {
    if ((params.get("value") ?? "") !== "") {
      throw requestError(ErrorCode.refreshValue, "A value was provided on a refresh");
    }
    if (ttl === undefined) throw requestError(ErrorCode.refreshTtlRequired, "No TTL value set");
  }
  return {
    method: v2Method(method, quorum),
    path: cleanStorePath(keyPath),
    val: params.get("value") ?? "",
    dir,
    prevValue: prevValue ?? "",
    prevIndex,
    prevExist,
    expiration: ttl === undefined ? 0 : expirationMs(nowMs, ttl),
    wait,
    since,
    recursive,
    sorted,
    quorum,
    stream,
    refresh,
    noValueOnSuccess,
    time: nowMs,
  };
}

function v2Method(method: string, quorum: boolean): V2Method {
  if (method === "HEAD") return "GET";
  if (method === "GET") return quorum ? "QGET" : "GET";
  return method as V2Method;
}

function requestError(code: number, cause: string): EtcdError {
  return new EtcdError(code, cause, 0);
}

const maxUint64 = 18_446_744_073_709_551_615n;

/** Go's `strconv.ParseUint(s, 10, 64)` as a BigInt; throws EtcdError(code, cause) if invalid. */
function parseUint64(s: string, code: number, cause: string): bigint {
  if (!/^[0-9]+$/.test(s)) throw requestError(code, cause);
  const v = BigInt(s);
  if (v > maxUint64) throw requestError(code, cause);
  return v;
}

/** An index parameter; values beyond 2^53 lose precision (no real index gets there). */
function getUint(params: URLSearchParams, name: string, code: number, cause: string): number {
  const s = params.get(name);
  return s === null ? 0 : Number(parseUint64(s, code, cause));
}

function getFlag(params: URLSearchParams, name: string): boolean {
  return getOptionalBool(params, name, `invalid value for "${name}"`) ?? false;
}

function getOptionalBool(
  params: URLSearchParams,
  name: string,
  cause: string,
): boolean | undefined {
  const s = params.get(name);
  if (s === null) return undefined;
  const b = parseGoBool(s);
  if (b === undefined) throw requestError(ErrorCode.invalidField, cause);
  return b;
}

const nsPerMs = 1_000_000n;

/**
 * `now + ttl` as etcd computes it: `time.Duration(ttl) * time.Second` and `UnixNano()` both wrap
 * at 64 bits, so an absurd TTL (over ~292 years) lands somewhere in the past or near future.
 */
function expirationMs(nowMs: number, ttl: bigint): number {
  if (ttl <= 1_000_000_000n) return nowMs + Number(ttl) * 1000;
  const durationNs = BigInt.asIntN(64, ttl * 1_000_000_000n);
  const ns = BigInt.asIntN(64, BigInt(Math.trunc(nowMs)) * nsPerMs + durationNs);
  // Floor to ms; a result of exactly 0 would read as "no TTL", as etcd's Expiration 0 does.
  const ms = ns / nsPerMs - (ns % nsPerMs < 0n ? 1n : 0n);
  return Number(ms);
}

/**
 * Go's `Request.ParseForm` for a keys request: form body values first, then query values,
 * so the body wins for a repeated name. The body is read only for POST/PUT/PATCH (pass
 * `method`; it defaults to reading) with a `application/x-www-form-urlencoded` content type.
 * Throws EtcdError 210 (index 0) with Go's message when either part is malformed.
 */
export function mergeParams(
  query: string,
  body: string,
  contentType: string | null,
  method?: string,
): URLSearchParams {
  const out = new URLSearchParams();
  const readsBody =
    method === undefined || method === "POST" || method === "PUT" || method === "PATCH";
  let firstError: string | undefined;
  if (readsBody) {
    const mediaType = formMediaType(contentType);
    if (mediaType === "application/x-www-form-urlencoded") firstError = parseQueryInto(body, out);
  }
  // Tolerate URL.search's leading "?" (Go's RawQuery has none).
  const queryError = parseQueryInto(query.startsWith("?") ? query.slice(1) : query, out);
  firstError ??= queryError;
  if (firstError !== undefined) throw new EtcdError(ErrorCode.invalidForm, firstError, 0);
  return out;
}

/** Go's `isTokenChar` (RFC 1521 token characters). */
function isTokenChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && !'()<>@,;:\\"/[]?='.includes(String.fromCharCode(c));
}

/** Go's `consumeToken`: the leading run of token characters, and the rest. */
function consumeToken(v: string): [string, string] {
  let i = 0;
  while (i < v.length && isTokenChar(v.charCodeAt(i))) i++;
  return [v.slice(0, i), v.slice(i)];
}

function mimeError(message: string): EtcdError {
  return new EtcdError(ErrorCode.invalidForm, `mime: ${message}`, 0);
}

/**
 * The lower-cased media type as Go's `mime.ParseMediaType` sees it; throws 210 with Go's
 * message when the type or its parameters are malformed (Go's ParseForm fails then too).
 */
function formMediaType(contentType: string | null): string {
  if (contentType === null || contentType === "") return "application/octet-stream";
  const semi = contentType.indexOf(";");
  const base = semi === -1 ? contentType : contentType.slice(0, semi);
  const mediaType = base.trim().toLowerCase();
  const [typ, rest] = consumeToken(mediaType);
  if (typ === "") throw mimeError("no media type");
  if (rest !== "") {
    if (!rest.startsWith("/")) throw mimeError("expected slash after first token");
    const [subtype, after] = consumeToken(rest.slice(1));
    if (subtype === "") throw mimeError("expected token after slash");
    if (after !== "") throw mimeError("unexpected content after media subtype");
  }
  if (semi !== -1) checkMediaParams(contentType.slice(semi));
  return mediaType;
}

// One `; name=value` parameter: a token, or a quoted string with backslash escapes.
const mediaParam =
  /^\s*;\s*([!#$%&'*+\-.^_`{|}~0-9A-Za-z]+)\s*=\s*([!#$%&'*+\-.^_`{|}~0-9A-Za-z]+|"(?:[^"\\]|\\.)*")/;

/** Go's parameter loop of `ParseMediaType` (RFC 2231 continuations are not special-cased). */
function checkMediaParams(params: string): void {
  const seen = new Set<string>();
  let v = params;
  for (;;) {
    v = v.trimStart();
    if (v === "") return;
    const m = mediaParam.exec(v);
    if (m === null) {
      if (v.trim() === ";") return; // a trailing semicolon is ignored
      throw mimeError("invalid media parameter");
    }
    const name = (m[1] ?? "").toLowerCase();
    if (seen.has(name)) throw mimeError("duplicate parameter name");
    seen.add(name);
    v = v.slice(m[0].length);
  }
}

/**
 * Go's `url.ParseQuery` into `out`: "&"-separated pairs, "+" as space, %XX escapes. Returns the
 * error Go would return (Go keeps parsing the other pairs, and a semicolon error overrides an
 * earlier escape error, as in Go).
 */
function parseQueryInto(query: string, out: URLSearchParams): string | undefined {
  let error: string | undefined;
  for (const pair of query.split("&")) {
    if (pair.includes(";")) {
      error = "invalid semicolon separator in query";
      continue;
    }
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = goUnescape(eq === -1 ? pair : pair.slice(0, eq));
    if (typeof key !== "string") {
      error ??= key.error;
      continue;
    }
    const value = goUnescape(eq === -1 ? "" : pair.slice(eq + 1));
    if (typeof value !== "string") {
      error ??= value.error;
      continue;
    }
    out.append(key, value);
  }
  return error;
}

const utf8 = new TextDecoder();

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Go's `url.QueryUnescape`; %XX runs are decoded as UTF-8 (invalid bytes become U+FFFD). */
function goUnescape(s: string): string | { error: string } {
  if (!s.includes("%")) return s.includes("+") ? s.replaceAll("+", " ") : s;
  let out = "";
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 37) {
      out += c === 43 ? " " : s[i];
      i++;
      continue;
    }
    const bytes: number[] = [];
    while (s.charCodeAt(i) === 37) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) {
        return { error: `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}` };
      }
      bytes.push(hi * 16 + lo);
      i += 3;
    }
    out += utf8.decode(new Uint8Array(bytes));
  }
  return out;
}
