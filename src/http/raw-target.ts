/**
 * The request path as etcd sees it. Go's server hands etcd the raw request target,
 * percent-decoded (`r.URL.Path`), and its ServeMux answers any target that is not clean (`//`,
 * `.` and `..` segments, also spelled `%2e` or behind a `%2F`) with 301 to the cleaned path.
 * Bun instead gives `request.url` after the WHATWG URL parser resolved dot segments, turned `\`
 * into `/` and cut the path at `#`: `PUT /v2/keys/a/../b` would reach the keys handler as
 * `/v2/keys/b` and write another key than the one named.
 *
 * Bun.serve's `routes` still match the raw target segment by segment, so one param route per
 * depth shows the raw segments (decoded), and the few that the URL parser changes are caught
 * before any handler runs. A target with an empty segment (`//`) matches no param route: it
 * reaches `fetch`, where the empty segment is either still in `request.url` or was removed by a
 * `..` after it; both are unclean. A target deeper than RAW_DEPTH_MAX segments cannot be
 * checked and is refused (414) rather than served under a path it may not name.
 */

/** What the raw request target showed that `request.url` no longer does. */
export type RawTarget =
  /** The decoded raw path (Go's `r.URL.Path`) differs from the decoded `request.url` path. */
  | { readonly kind: "path"; readonly decodedPath: string }
  /** The raw path had an empty segment (no param route matches it): not clean. */
  | { readonly kind: "unclean" }
  /** Deeper than RAW_DEPTH_MAX segments: refused. */
  | { readonly kind: "too-deep" };

export const RAW_DEPTH_MAX = 64;

const UNCLEAN: RawTarget = { kind: "unclean" };
const TOO_DEEP: RawTarget = { kind: "too-deep" };

type Handler<S> = (request: Request, server: S, raw?: RawTarget) => Response | Promise<Response>;
type RouteHandler<S> = (
  request: Request & { params: Record<string, string> },
  server: S,
) => Response | Promise<Response>;

/** A segment the URL parser would change: a dot segment, or one holding `\` or `#`. */
function changedByUrlParser(segment: string): boolean {
  return segment === "." || segment === ".." || segment.includes("\\") || segment.includes("#");
}

/**
 * Bun.serve `routes` and `fetch` that pass every request to `handler`, with a RawTarget when
 * `request.url` misrepresents the raw target.
 */
export function rawTargetRouting<S>(handler: Handler<S>) {
  /** `end`: what follows the last param: nothing or a slash. */
  const routeTo =
    (end: "" | "/"): RouteHandler<S> =>
    (request, server) => {
      const params = request.params;
      for (const key in params) {
        if (changedByUrlParser(params[key] ?? "")) {
          const decodedPath = `/${Object.values(params).join("/")}${end}`;
          return handler(request, server, { kind: "path", decodedPath });
        }
      }
      return handler(request, server);
    };
  const routes: Record<string, RouteHandler<S>> = {};
  let pattern = "";
  for (let depth = 0; depth < RAW_DEPTH_MAX; depth++) {
    pattern += `/:s${depth}`;
    routes[pattern] = routeTo("");
    routes[`${pattern}/`] = routeTo("/");
  }
  routes[`${pattern}/*`] = (request, server) => handler(request, server, TOO_DEEP);
  const fetch = (request: Request, server: S) =>
    handler(request, server, isRoot(request.url) ? undefined : UNCLEAN);
  return { routes, fetch };
}

/** `/` is the one clean target no param route matches. */
function isRoot(url: string): boolean {
  // Without a Host header (HTTP/1.0) Bun gives the bare target, which starts with its path.
  const start = url.startsWith("/") ? 0 : url.indexOf("/", url.indexOf("//") + 2);
  return start < 0 || url[start + 1] === undefined || url[start + 1] === "?";
}
