/**
 * `/dashboard`: the page, its bundled script and styles, and the two JSON endpoints it polls.
 * The assets are loaded on the first request for them, so a member that is never browsed does
 * not carry them in memory. Key reads and writes go through the ordinary v2 API (and its auth).
 */
import { type ClusterSource, clusterView } from "./cluster-view.ts";

const DASHBOARD_PREFIX = "/dashboard";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>etcd-bun dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
</head>
<body>
<div id="app"></div>
<script type="module" src="/dashboard/app.js"></script>
</body>
</html>
`;

/** Scripts and styles from this origin only; style attributes are set by the chart library. */
const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-cache",
};

/** The handler of `/dashboard` and below; undefined for any other path. */
export type DashboardHandler = (request: Request, path: string) => Promise<Response> | undefined;

export function dashboardHandler(source: ClusterSource): DashboardHandler {
  return (request, path) =>
    path === DASHBOARD_PREFIX || path.startsWith(`${DASHBOARD_PREFIX}/`)
      ? serve(source, request, path)
      : undefined;
}

async function serve(source: ClusterSource, request: Request, path: string): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD")
    return plain(405, "Method Not Allowed\n", { Allow: "GET, HEAD" });
  switch (path) {
    case "/dashboard":
    case "/dashboard/":
      return asset(PAGE, "text/html; charset=utf-8");
    case "/dashboard/app.js":
      return asset((await import("./assets.ts")).SCRIPT, "text/javascript; charset=utf-8");
    case "/dashboard/app.css":
      return asset((await import("./assets.ts")).STYLES, "text/css; charset=utf-8");
    case "/dashboard/api/status":
      return source.self === undefined
        ? plain(404, "404 page not found\n")
        : json(source.self.status());
    case "/dashboard/api/cluster":
      return json(await clusterView(source));
    default:
      return plain(404, "404 page not found\n");
  }
}

function asset(body: string, type: string): Response {
  return new Response(body, { headers: { ...SECURITY_HEADERS, "Content-Type": type } });
}

function json(value: unknown): Response {
  return new Response(JSON.stringify(value), {
    headers: { ...SECURITY_HEADERS, "Content-Type": "application/json" },
  });
}

function plain(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { ...headers, "Content-Type": "text/plain; charset=utf-8" },
  });
}
