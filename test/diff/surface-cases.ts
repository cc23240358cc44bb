/**
 * Generated differential cases for the whole HTTP surface: every endpoint × every method, unclean
 * request targets on every endpoint (sent raw, byte for byte), 404 bodies, and the members API's
 * validation errors. Run against the real etcd 3.4 and etcd-bun by differential.test.ts.
 *
 * Left out on purpose, each covered elsewhere:
 * - `/v2/auth/*` (the auth API is its own work item) and `/metrics`, `/debug/vars` (operability).
 * - A method token Bun's HTTP parser does not know (e.g. `FOO`): Bun closes the connection
 *   instead of answering 405; `PROPFIND` stands for "a method etcd does not serve" here, and
 *   test/http/raw-target.test.ts checks that the unknown token hurts nothing.
 * - Members API refusals that etcd 3.4 answers with a bare 500 "Internal Server Error" (strict
 *   reconfig refusals, unknown member ids): etcd-bun keeps etcd 2.3's 404 "No such member" and
 *   says why a reconfiguration was refused (test/cluster/reconfig.test.ts).
 */
import type { DiffCase, DiffRequest } from "./cases.ts";

const METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "PROPFIND"];
const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** Every client endpoint etcd 3.4 serves for the v2 API, and some it does not. */
const ENDPOINTS = [
  "/v2/keys/$/file",
  "/v2/keys/$/dir/",
  "/v2/keys",
  "/v2/keys/",
  "/v2/members",
  "/v2/members/",
  "/v2/members/leader",
  "/v2/members/notanid",
  "/v2/stats/self",
  "/v2/stats/store",
  "/v2/stats/leader",
  "/v2/stats/nope",
  "/v2/machines",
  "/version",
  "/health",
  "/",
  "/v2",
  "/v2/",
  "/v2/nope",
  "/members",
  "/v1/keys/a",
  "/config/local/log",
  // Served paths spelled with a trailing slash are other paths: 404.
  "/health/",
  "/version/",
  "/v2/machines/",
  "/v2/stats/self/",
  "/debug/vars/",
  "/metrics/",
  "/config/local/log/",
];

function request(method: string, path: string): DiffRequest {
  const withBody = method === "PUT" || method === "POST" || method === "PATCH";
  return withBody ? { method, path, body: "value=1", headers: FORM } : { method, path };
}

const endpointCases: DiffCase[] = ENDPOINTS.map((path) => ({
  name: `every method on ${path}`,
  requests: [
    { method: "PUT", path: "/v2/keys/$/dir/child", body: "value=0", headers: FORM },
    ...METHODS.map((m) => request(m, path)),
  ],
}));

/** Unclean spellings of `path`: each must be answered 301 to the clean path, writing nothing. */
function uncleanSpellings(path: string): string[] {
  const slash = path.lastIndexOf("/");
  const head = path.slice(0, slash);
  const last = path.slice(slash + 1);
  return [
    `/${path}`,
    `${head}/./${last}`,
    `${head}/x/../${last}`,
    `${head}/%2e/${last}`,
    `${head}/x/%2e%2e/${last}`,
    `${head}/x/%2E%2E/${last}`,
    `${head}/x/.%2e/${last}`,
    ...(path.endsWith("/") ? [] : [`${path}/.`, `${path}/..`]),
    `${head}/x%2F..%2F${last}`,
    `${head}/x%2F%2F${last}`,
  ];
}

const UNCLEAN_ENDPOINTS = [
  "/v2/keys/$/k",
  "/v2/keys/$/d/",
  "/v2/keys",
  "/v2/members",
  "/v2/members/leader",
  "/v2/stats/self",
  "/v2/machines",
  "/version",
  "/health",
];

const uncleanCases: DiffCase[] = UNCLEAN_ENDPOINTS.map((path) => ({
  name: `unclean targets for ${path}`,
  requests: [
    ...uncleanSpellings(path).flatMap((p) =>
      ["GET", "HEAD", "PUT", "POST", "DELETE"].map((m) => request(m, p)),
    ),
    // Nothing was written under any spelling.
    { method: "GET", path: "/v2/keys/$?recursive=true&sorted=true" },
  ],
}));

/**
 * An empty segment followed by a dot segment (`a//..`): the raw target never reaches etcd-bun
 * whole (see src/http/raw-target.ts), so the redirect's Location may differ from etcd's (it
 * names `a/` where etcd names the parent). What matters holds: 301, and nothing is written.
 */
const emptyThenDotCases: DiffCase[] = [
  {
    name: "an empty segment before a dot segment is refused with 301, writing nothing",
    requests: [
      ...["/v2/keys/$/a//..", "/v2/keys/$/a//.", "/v2/keys/$//../b", "/v2/keys//..", "/v2//../keys"]
        .flatMap((p) => ["GET", "PUT", "POST", "DELETE"].map((m) => request(m, p)))
        .map((r): DiffRequest => ({ ...r, ignoreLocation: true })),
      { method: "GET", path: "/v2/keys/$?recursive=true&sorted=true" },
    ],
  },
];

const backslashCases: DiffCase[] = [
  {
    name: "a backslash is part of the key, not a separator",
    requests: [
      request("PUT", "/v2/keys/$/a\\b"),
      { method: "GET", path: "/v2/keys/$?recursive=true&sorted=true" },
      request("PUT", "/v2/keys/$/x\\..\\y"),
      { method: "GET", path: "/v2/keys/$/x\\..\\y" },
      { method: "DELETE", path: "/v2/members/ab\\cd" },
      { method: "GET", path: "/v2/members\\x" },
    ],
  },
];

const JSON_TYPE = { "content-type": "application/json" };
const MEMBER_BODIES = [
  "",
  "{",
  "abc",
  "null",
  "[]",
  "{}",
  '"str"',
  "1",
  "true",
  '{"peerURLs":"x"}',
  '{"peerURLs":{}}',
  '{"peerURLs":[1]}',
  '{"peerURLs":[{}]}',
  '{"peerURLs":[]}',
  '{"peerURLs":null}',
  '{"peerURLs":["x"]}',
  '{"peerURLs":[null]}',
  '{"peerURLs":["http://a"]}',
  '{"peerURLs":["http://a:1:2"]}',
  '{"peerURLs":["http://a:1/p"]}',
  '{"peerURLs":["http://a:1/"]}',
  '{"peerURLs":["ftp://a:1"]}',
  '{"peerURLs":["unix:a"]}',
  '{"peerURLs":["%zz"]}',
  '{"peerURLs":["http://a:1%zz"]}',
  '{"peerURLs":[":8080"]}',
  '{"PEERURLS":["http://a"]}',
  '{"peerURLs":["http://a:1",]}',
  '{"peerURLs":["http://a:1"]} x',
  '{"peerURLs":["http://a:1"]}{',
  '{"a":tru}',
  '{"a":nul}',
  '{"a":fals}',
  '{"a":1.}',
  '{"a":1e}',
  '{"a":-}',
  '{"a":"\\q"}',
  '{"a":"\\u12x4"}',
  '{"a":"\t"}',
  '{"a" 1}',
  '{"a":1 "b":2}',
  "[1 2]",
  "{1:2}",
  '{"a":1,}',
  "'x'",
];

const membersCases: DiffCase[] = [
  {
    name: "members API: POST bodies",
    requests: MEMBER_BODIES.map((body) => ({
      method: "POST",
      path: "/v2/members",
      body,
      headers: JSON_TYPE,
    })),
  },
  {
    name: "members API: PUT bodies on a malformed id and on a missing path id",
    requests: MEMBER_BODIES.slice(0, 12).flatMap((body): DiffRequest[] => [
      { method: "PUT", path: "/v2/members/zz", body, headers: JSON_TYPE },
      { method: "PUT", path: "/v2/members", body, headers: JSON_TYPE },
      { method: "POST", path: "/v2/members/leader", body, headers: JSON_TYPE },
    ]),
  },
  {
    name: "members API: content types",
    requests: [
      "text/plain",
      "application/json; charset=utf-8",
      "APPLICATION/JSON; x=y",
      "Application/JSON",
      "application/jsonx",
      " application/json ;",
      "",
    ].map((type) => ({
      method: "POST",
      path: "/v2/members",
      body: "{",
      headers: type === "" ? {} : { "content-type": type },
    })),
  },
  {
    name: "members API: ids in the path",
    requests: ["zz", "0x12", "ffffffffffffffffff", "-1", "a%20b", "a/b", ""].flatMap(
      (id): DiffRequest[] => [
        { method: "DELETE", path: `/v2/members/${id}` },
        { method: "PUT", path: `/v2/members/${id}`, body: "{", headers: JSON_TYPE },
        { method: "GET", path: `/v2/members/${id}` },
      ],
    ),
  },
];

/** `PUT /config/local/log` bodies; the last one sets the level back to INFO. */
const LOG_LEVEL_BODIES = [
  "",
  "{",
  "null",
  "[]",
  '"DEBUG"',
  "{}",
  '{"Level":5}',
  '{"Level":null}',
  '{"Level":"NOPE"}',
  '{"Level":"debug"}',
  '{"level":"d"}',
  '{"LEVEL":"Warning"}',
  '{"Level":"4"}',
  '{"Level":"trace"}',
  '{"Level":"critical"}',
  '{"Level":"INFO","Level":"x"}',
  '{"Level":"INFO"} x',
  '{"Level":"INFO"}',
];

const logLevelCases: DiffCase[] = [
  {
    name: "the log level at run time: PUT /config/local/log bodies",
    requests: LOG_LEVEL_BODIES.map((body) => ({
      method: "PUT",
      path: "/config/local/log",
      body,
      headers: JSON_TYPE,
    })),
  },
];

export const SURFACE_CASES: readonly DiffCase[] = [
  ...logLevelCases,
  ...endpointCases,
  ...uncleanCases,
  ...emptyThenDotCases,
  ...backslashCases,
  ...membersCases,
];
