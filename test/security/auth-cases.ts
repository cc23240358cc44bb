/**
 * The v2 auth API and its enforcement as one scenario in steps (auth state is cluster-wide, so
 * the steps run in order on the same member): every auth endpoint, method and error, then key,
 * watch, members and stats access with auth on, then turning it off. `$` in a path or body is
 * replaced by the step's key prefix.
 */
import type { DiffCase, DiffRequest } from "../diff/cases.ts";

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

/** One request to `baseUrl` with optional basic credentials; a body starting `{` is JSON. */
export async function sendAs(
  baseUrl: string,
  method: string,
  path: string,
  auth?: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (auth !== undefined) headers.authorization = auth;
  if (body !== undefined)
    headers["content-type"] = body.startsWith("{")
      ? "application/json"
      : "application/x-www-form-urlencoded";
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body }),
  });
  return { status: res.status, text: await res.text() };
}

const ROOT = basic("root", "rootpw");
const BOB = basic("bob", "pw");

type Creds = string | undefined;
function req(method: string, path: string, body?: string, auth?: Creds): DiffRequest {
  const headers: Record<string, string> = {};
  if (auth !== undefined) headers.authorization = auth;
  if (body !== undefined) headers["content-type"] = "application/json";
  return { method, path, headers, ...(body !== undefined && { body }) };
}
const get = (path: string, auth?: Creds) => req("GET", path, undefined, auth);
const put = (path: string, body: string, auth?: Creds) => req("PUT", path, body, auth);
const del = (path: string, auth?: Creds) => req("DELETE", path, undefined, auth);
/** A keys write with a form body. */
function form(method: string, path: string, body: string, auth?: Creds): DiffRequest {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (auth !== undefined) headers.authorization = auth;
  return { method, path, headers, body };
}

export const AUTH_STEPS: readonly DiffCase[] = [
  {
    name: "users before auth is on: create, change, grant, revoke and their errors",
    requests: [
      get("/v2/auth/enable"),
      put("/v2/auth/enable", ""),
      get("/v2/auth/users"),
      get("/v2/auth/users/"),
      get("/v2/auth/roles"),
      get("/v2/auth/users/bob"),
      put("/v2/auth/users/bob", '{"user":"bob","password":"first"}'),
      put("/v2/auth/users/bob", '{"user":"bob","password":"pw"}'),
      put("/v2/auth/users/bob", '{"user":"bob"}'),
      put("/v2/auth/users/bob", '{"user":"bob","grant":["r1"]}'),
      put("/v2/auth/users/bob", '{"user":"bob","grant":["r1"]}'),
      put("/v2/auth/users/bob", '{"user":"bob","revoke":["zz"]}'),
      put("/v2/auth/users/bob", '{"user":"bob","roles":["a"],"grant":["r1"]}'),
      put("/v2/auth/users/bob", '{"user":"alice","password":"x"}'),
      put("/v2/auth/users/bob", "nojson"),
      put("/v2/auth/users/bob", '{"user":"bob","roles":"r1"}'),
      put("/v2/auth/users/bob", "null"),
      put("/v2/auth/users/carol", '{"user":"carol","password":"","roles":["r1"]}'),
      put("/v2/auth/users/carol", '{"user":"carol","password":"c","roles":["r1"]}'),
      put("/v2/auth/users/carol", '{"user":"carol","password":"c","roles":["r1"]}'),
      put("/v2/auth/users/dave", '{"user":"dave"}'),
      put("/v2/auth/users/erin", '{"User":"erin","Password":"e"}'),
      put("/v2/auth/users/zed", '{"user":"zed","grant":["r1"]}'),
      get("/v2/auth/users/bob"),
      get("/v2/auth/users/bob/"),
      get("/v2/auth/users"),
      get("/v2/auth/users/a/b"),
      del("/v2/auth/users/nobody"),
      del("/v2/auth/users/erin"),
      req("POST", "/v2/auth/users/bob"),
      req("POST", "/v2/auth/users"),
    ],
  },
  {
    name: "roles before auth is on: create, grant, revoke and their errors",
    requests: [
      put("/v2/auth/roles/r1", '{"role":"r1","permissions":{"kv":{"read":["/$/foo/*"]}}}'),
      put("/v2/auth/roles/r1", '{"role":"r1"}'),
      get("/v2/auth/users/bob"),
      get("/v2/auth/users"),
      get("/v2/auth/roles/r1"),
      get("/v2/auth/roles/root"),
      get("/v2/auth/roles/nope"),
      put("/v2/auth/roles/r1", '{"role":"r1","grant":{"kv":{"read":["/$/x"]}}}'),
      put("/v2/auth/roles/r1", '{"role":"r1","grant":{"kv":{"read":["/$/x"]}}}'),
      put("/v2/auth/roles/r1", '{"role":"r1","revoke":{"kv":{"write":["/nope"]}}}'),
      put("/v2/auth/roles/r1", '{"role":"r1","revoke":{"kv":{"read":["/$/x"]}}}'),
      put(
        "/v2/auth/roles/r1",
        '{"role":"r1","permissions":{"kv":{"read":["/x"]}},"grant":{"kv":{"read":["/y"]}}}',
      ),
      put("/v2/auth/roles/r1", '{"role":"r2"}'),
      put("/v2/auth/roles/r1", "[]"),
      put("/v2/auth/roles/r2", '{"role":"r2"}'),
      put("/v2/auth/roles/nope", '{"role":"nope","grant":{"kv":{"read":["/a"]}}}'),
      put("/v2/auth/roles/r2", '{"role":"r2","grant":{"kv":{"read":["/a"]}}}'),
      put("/v2/auth/roles/r2", '{"role":"r2","revoke":{"kv":{"read":["/a"]}}}'),
      put("/v2/auth/roles/r2", '{"role":"r2","revoke":{"kv":{"read":["/a"]}}}'),
      put("/v2/auth/roles/root", '{"role":"root"}'),
      put("/v2/auth/roles/root", '{"role":"root","grant":{"kv":{"read":["/y"]}}}'),
      del("/v2/auth/roles/root"),
      del("/v2/auth/roles/zz"),
      del("/v2/auth/roles/r2"),
      req("POST", "/v2/auth/roles/zz"),
      req("HEAD", "/v2/auth/roles"),
      get("/v2/auth/roles"),
      get("/v2/auth/roles/a/b"),
      get("/v2/auth/other"),
      get("/v2/auth"),
    ],
  },
  {
    name: "turning auth on needs a root user; then the API needs root",
    requests: [
      put("/v2/auth/enable", ""),
      put("/v2/auth/users/root", '{"user":"root","password":"rootpw"}'),
      put("/v2/auth/enable", ""),
      put("/v2/auth/enable", ""),
      put("/v2/auth/enable", "", ROOT),
      get("/v2/auth/enable"),
      get("/v2/auth/users"),
      get("/v2/auth/users", basic("root", "bad")),
      get("/v2/auth/users", basic("nobody", "x")),
      get("/v2/auth/users", "Basic !!!"),
      get("/v2/auth/users", "Bearer abc"),
      get("/v2/auth/users", `basic ${Buffer.from("root:rootpw").toString("base64")}`),
      get("/v2/auth/users", ROOT),
      get("/v2/auth/roles", ROOT),
      get("/v2/auth/roles/guest", ROOT),
      get("/v2/auth/users", BOB),
      del("/v2/auth/users/root", ROOT),
    ],
  },
  {
    name: "keys: reads and writes by role, guest, bad credentials",
    requests: [
      form("PUT", "/v2/keys/$/foo/a", "value=1", ROOT),
      form("PUT", "/v2/keys/$/bar", "value=1", ROOT),
      get("/v2/keys/$/foo/a", BOB),
      get("/v2/keys/$/bar", BOB),
      get("/v2/keys/$/foo/a", basic("bob", "bad")),
      get("/v2/keys/$/foo/a", basic("nobody", "pw")),
      get("/v2/keys/$/foo/a", "Basic"),
      get("/v2/keys/$/foo/a"),
      get("/v2/keys/$/foo?recursive=true", BOB),
      get("/v2/keys/$/foo/a?recursive=true", BOB),
      get("/v2/keys/$/foo/a?quorum=true", BOB),
      get("/v2/keys/$/foo/a?wait=true&waitIndex=1", BOB),
      get("/v2/keys/$/bar?wait=true&waitIndex=1", BOB),
      form("PUT", "/v2/keys/$/foo/a", "value=2", BOB),
      form("PUT", "/v2/keys/$/foo/a?prevValue=1", "value=2", BOB),
      form("PUT", "/v2/keys/$/foo/a", "ttl=100&refresh=true&prevExist=true", BOB),
      form("POST", "/v2/keys/$/foo/a", "value=2", BOB),
      form("DELETE", "/v2/keys/$/foo?dir=true&recursive=true", "", BOB),
      form("PUT", "/v2/keys/$/foo/a", "value=x&ttl=abc", BOB),
      get("/v2/keys", ROOT),
      get("/v2/keys/$?recursive=true", ROOT),
    ],
  },
  {
    name: "keys: granting write lets the user write, exactly where granted",
    requests: [
      put(
        "/v2/auth/roles/r1",
        '{"role":"r1","grant":{"kv":{"write":["/$/foo/*","/$/one"]}}}',
        ROOT,
      ),
      form("PUT", "/v2/keys/$/foo/a", "value=2", BOB),
      form("PUT", "/v2/keys/$/foo/a?prevValue=2", "value=3", BOB),
      form("POST", "/v2/keys/$/foo/q", "value=1", BOB),
      form("PUT", "/v2/keys/$/one", "value=1", BOB),
      form("PUT", "/v2/keys/$/one/two", "value=1", BOB),
      form("PUT", "/v2/keys/$/onex", "value=1", BOB),
      form("DELETE", "/v2/keys/$/foo/q?dir=true&recursive=true", "", BOB),
      get("/v2/keys/$/foo?recursive=true", BOB),
    ],
  },
  {
    name: "password change and user deletion take effect at once",
    requests: [
      get("/v2/keys/$", BOB),
      put("/v2/auth/roles/r9", '{"role":"r9","permissions":{"kv":{"read":["/*"]}}}', ROOT),
      put("/v2/auth/users/bob", '{"user":"bob","grant":["r9"]}', ROOT),
      get("/v2/keys/$", BOB),
      put("/v2/auth/users/bob", '{"user":"bob","password":"new"}', ROOT),
      get("/v2/keys/$", BOB),
      get("/v2/keys/$", basic("bob", "new")),
      put("/v2/auth/users/bob", '{"user":"bob","password":"pw"}', ROOT),
      get("/v2/keys/$", BOB),
      put("/v2/auth/users/bob", '{"user":"bob","revoke":["r9"]}', ROOT),
      get("/v2/keys/$", BOB),
      put("/v2/auth/users/carol", '{"user":"carol","grant":["r9"]}', ROOT),
      get("/v2/keys/$", basic("carol", "c")),
      del("/v2/auth/users/carol", ROOT),
      get("/v2/keys/$", basic("carol", "c")),
    ],
  },
  {
    name: "members, stats and the guest role",
    requests: [
      get("/v2/members", BOB),
      get("/v2/members"),
      req("POST", "/v2/members", '{"peerURLs":["http://127.0.0.1:9"]}', BOB),
      req("POST", "/v2/members", '{"peerURLs":["http://127.0.0.1:9"]}'),
      del("/v2/members/1234", BOB),
      get("/v2/stats/self"),
      get("/v2/stats/leader", BOB),
      get("/v2/machines"),
      get("/health"),
      form("PUT", "/v2/keys/$/g", "value=1"),
      get("/v2/keys/$/g"),
      get("/v2/keys/$?recursive=true"),
      put("/v2/auth/roles/guest", '{"role":"guest","revoke":{"kv":{"write":["/*"]}}}', ROOT),
      form("PUT", "/v2/keys/$/g", "value=2"),
      get("/v2/keys/$/g"),
      del("/v2/auth/roles/guest", ROOT),
      get("/v2/keys/$/g"),
      get("/v2/auth/enable"),
    ],
  },
  {
    name: "turning auth off",
    requests: [
      del("/v2/auth/enable", BOB),
      del("/v2/auth/enable"),
      del("/v2/auth/enable", ROOT),
      del("/v2/auth/enable", ROOT),
      get("/v2/auth/enable"),
      get("/v2/auth/users"),
      del("/v2/auth/users/root"),
      get("/v2/keys/$/bar"),
      put("/v2/auth/enable", ""),
    ],
  },
];
