/**
 * A request's URL, for routing. An HTTP/1.0 request may come without a Host header (load
 * balancer health checks do: `GET /health HTTP/1.0`); Bun then gives the bare target
 * (`/health`) as `request.url`, which `new URL` alone refuses. etcd serves such requests, so
 * the target is read against a placeholder origin: only its path and query are used.
 */
export function requestUrl(request: Request): URL {
  return URL.parse(request.url) ?? new URL(request.url, "http://localhost");
}
