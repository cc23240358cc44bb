/**
 * Request sequences sent unchanged to the real etcd 3.4 and to etcd-bun. Each case uses its own
 * key prefix so cases do not see each other's keys; `$` in a path or body is replaced by it.
 */
export interface DiffRequest {
  readonly method: string;
  readonly path: string;
  /** Form body (application/x-www-form-urlencoded). */
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** The Location header is compared for presence only (a known, listed difference). */
  readonly ignoreLocation?: true;
}

export interface DiffCase {
  readonly name: string;
  readonly requests: readonly DiffRequest[];
}

const put = (path: string, body = ""): DiffRequest => ({ method: "PUT", path, body });
const get = (path: string): DiffRequest => ({ method: "GET", path });
const del = (path: string): DiffRequest => ({ method: "DELETE", path });
const post = (path: string, body = ""): DiffRequest => ({ method: "POST", path, body });

export const DIFF_CASES: readonly DiffCase[] = [
  {
    name: "set a new key, read it, replace it",
    requests: [put("/v2/keys/$/a", "value=1"), get("/v2/keys/$/a"), put("/v2/keys/$/a", "value=2")],
  },
  {
    name: "missing key and missing parent",
    requests: [get("/v2/keys/$/nope"), get("/v2/keys/$/no/such/child")],
  },
  {
    name: "create with prevExist=false",
    requests: [
      put("/v2/keys/$/c?prevExist=false", "value=1"),
      put("/v2/keys/$/c?prevExist=false", "value=2"),
    ],
  },
  {
    name: "update with prevExist=true",
    requests: [
      put("/v2/keys/$/u?prevExist=true", "value=1"),
      put("/v2/keys/$/u", "value=1"),
      put("/v2/keys/$/u?prevExist=true", "value=2"),
    ],
  },
  {
    name: "compare-and-swap on value and index",
    requests: [
      put("/v2/keys/$/k", "value=one"),
      put("/v2/keys/$/k?prevValue=one", "value=two"),
      put("/v2/keys/$/k?prevValue=one", "value=three"),
      put("/v2/keys/$/k?prevIndex=1", "value=four"),
      put("/v2/keys/$/k?prevIndex=1&prevValue=x", "value=five"),
      put("/v2/keys/$/k?prevIndex=0", "value=six"),
      put("/v2/keys/$/missing?prevValue=x", "value=1"),
    ],
  },
  {
    name: "compare-and-delete",
    requests: [
      put("/v2/keys/$/d", "value=one"),
      { method: "DELETE", path: "/v2/keys/$/d?prevValue=two" },
      { method: "DELETE", path: "/v2/keys/$/d?prevIndex=1" },
      { method: "DELETE", path: "/v2/keys/$/d?prevValue=one" },
      get("/v2/keys/$/d"),
    ],
  },
  {
    name: "directories: create, list, write on a dir, file as a dir",
    requests: [
      put("/v2/keys/$/dir?dir=true"),
      put("/v2/keys/$/dir/x", "value=1"),
      put("/v2/keys/$/dir/sub/y", "value=2"),
      get("/v2/keys/$/dir?sorted=true"),
      get("/v2/keys/$/dir?recursive=true&sorted=true"),
      put("/v2/keys/$/dir", "value=1"),
      put("/v2/keys/$/dir/x/z", "value=1"),
      put("/v2/keys/$/dir?dir=true"),
    ],
  },
  {
    name: "dir=true over an existing file replaces it",
    requests: [put("/v2/keys/$/f", "value=1"), put("/v2/keys/$/f?dir=true"), get("/v2/keys/$/f")],
  },
  {
    name: "deleting dirs",
    requests: [
      put("/v2/keys/$/dd/a", "value=1"),
      del("/v2/keys/$/dd"),
      del("/v2/keys/$/dd?dir=true"),
      del("/v2/keys/$/dd?recursive=true"),
      put("/v2/keys/$/empty?dir=true"),
      del("/v2/keys/$/empty?dir=true"),
      get("/v2/keys/$/dd"),
    ],
  },
  {
    name: "in-order keys",
    requests: [
      post("/v2/keys/$/queue", "value=job1"),
      post("/v2/keys/$/queue", "value=job2"),
      get("/v2/keys/$/queue?recursive=true&sorted=true"),
      put("/v2/keys/$/file", "value=1"),
      post("/v2/keys/$/file", "value=x"),
    ],
  },
  {
    name: "hidden keys",
    requests: [
      put("/v2/keys/$/h/_hidden", "value=secret"),
      put("/v2/keys/$/h/shown", "value=1"),
      get("/v2/keys/$/h?recursive=true"),
      get("/v2/keys/$/h/_hidden"),
    ],
  },
  {
    name: "TTL keys and bad TTLs",
    requests: [
      put("/v2/keys/$/t", "value=1&ttl=100"),
      get("/v2/keys/$/t"),
      put("/v2/keys/$/t", "value=1&ttl=abc"),
      put("/v2/keys/$/t", "value=1&ttl=-1"),
      put("/v2/keys/$/t?prevExist=true", "value=2"),
      get("/v2/keys/$/t"),
    ],
  },
  {
    name: "refresh",
    requests: [
      put("/v2/keys/$/r", "value=keep&ttl=100"),
      put("/v2/keys/$/r?refresh=true", "ttl=200"),
      put("/v2/keys/$/r?refresh=true", "value=x&ttl=200"),
      put("/v2/keys/$/r?refresh=true"),
      put("/v2/keys/$/r?refresh=true&prevExist=true", "ttl=300"),
      get("/v2/keys/$/r"),
      put("/v2/keys/$/missing?refresh=true", "ttl=100"),
      put("/v2/keys/$/nodir/sub?refresh=true", "ttl=100"),
      put("/v2/keys/$/r/under?refresh=true", "ttl=100"),
    ],
  },
  {
    name: "parameter errors",
    requests: [
      put("/v2/keys/$/e?prevIndex=abc", "value=1"),
      put("/v2/keys/$/e?prevExist=maybe", "value=1"),
      put("/v2/keys/$/e?prevValue=", "value=1"),
      put("/v2/keys/$/e?wait=true", "value=1"),
      get("/v2/keys/$/e?recursive=nope"),
      get("/v2/keys/$/e?wait=true&waitIndex=x"),
      put("/v2/keys/$/e?refresh=yes", "value=1"),
    ],
  },
  {
    name: "the root is read-only",
    requests: [
      put("/v2/keys", "value=1"),
      put("/v2/keys/", "value=1"),
      del("/v2/keys/?recursive=true"),
    ],
  },
  {
    name: "form body wins over the query, first value of a repeated name",
    requests: [
      put("/v2/keys/$/q?value=query", "value=body"),
      put("/v2/keys/$/q2", "value=first&value=second"),
      put("/v2/keys/$/q3?value=fromquery"),
      get("/v2/keys/$/q?sorted=true"),
    ],
  },
  {
    name: "noValueOnSuccess and quorum reads",
    requests: [
      put("/v2/keys/$/n?noValueOnSuccess=true", "value=1"),
      get("/v2/keys/$/n?quorum=true"),
      del("/v2/keys/$/n?noValueOnSuccess=true"),
    ],
  },
  {
    name: "HEAD, unknown method, unknown path, non-canonical path, OPTIONS",
    requests: [
      put("/v2/keys/$/head", "value=1"),
      { method: "HEAD", path: "/v2/keys/$/head" },
      { method: "PATCH", path: "/v2/keys/$/head" },
      get("/v2/nothing-here"),
      get("/v2/keys/$//head"),
      { method: "OPTIONS", path: "/v2/keys/$/head" },
      get("/v2/keys/$/%zz"),
      put("/v2/keys/$/a%2Fb%20c", "value=escaped"),
    ],
  },
  {
    name: "watch answered from the event history",
    requests: [
      put("/v2/keys/$/w", "value=1"),
      put("/v2/keys/$/w", "value=2"),
      get("/v2/keys/$/w?wait=true&waitIndex=1"),
      get("/v2/keys/$?wait=true&recursive=true&waitIndex=1"),
    ],
  },
  {
    name: "stats, members, machines, version shapes",
    requests: [
      get("/v2/stats/store"),
      get("/v2/stats/self"),
      get("/v2/members"),
      get("/v2/machines"),
      get("/version"),
      get("/v2/members/leader"),
    ],
  },
];
