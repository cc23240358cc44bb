/**
 * The proxy's client handler, in etcd's layer order: Go's path cleaning (301 for an unclean
 * target), then `readonly` (anything but GET: 501), then CORS (OPTIONS answered here), then the
 * proxy's own `/v2/config/local/proxy`, and everything else forwarded to the cluster.
 */

import type { Server } from "bun";
import type { DashboardHandler } from "../dashboard/routes.ts";
import { routeTarget } from "../http/clean-path.ts";
import { type CorsPolicy, corsHeaders, preflightResponse } from "../http/cors.ts";
import type { RawTarget } from "../http/raw-target.ts";
import { requestUrl } from "../util/request-url.ts";
import type { Endpoints } from "./endpoints.ts";
import { type ForwardOptions, forward, isProxyError } from "./forward.ts";
import type { ProxyMetrics } from "./metrics.ts";
import { shareKey, WatchCoalescer } from "./watch-coalescer.ts";

export interface ProxyAppOptions extends ForwardOptions {
  readonly readonly: boolean;
  readonly cors: CorsPolicy;
  readonly endpoints: Endpoints;
  /** The proxy's own `/metrics` (etcd's proxy serves it before its other layers). */
  readonly metrics?: ProxyMetrics;
  /** The proxy's own dashboard (answers its paths, undefined for others). */
  readonly dashboard?: DashboardHandler;
}

const CONFIG_PATH = "/v2/config/local/proxy";

export function proxyApp(o: ProxyAppOptions) {
  const watches = new WatchCoalescer(o);
  return (
    request: Request,
    server: Server<unknown>,
    raw?: RawTarget,
  ): Response | Promise<Response> => {
    const target = routeTarget(request.method, requestUrl(request), raw);
    if (target instanceof Response) return target;
    const metrics = o.metrics;
    if (metrics !== undefined && target.pathname === "/metrics") return metrics.scrape();
    if (o.readonly && request.method !== "GET") return new Response(null, { status: 501 });
    if (request.method === "OPTIONS") return preflightResponse(o.cors, request);
    const cors = corsHeaders(o.cors, request);
    if (target.pathname === CONFIG_PATH)
      return withCors(configResponse(request, o.endpoints), cors);
    const page = o.dashboard?.(request, target.pathname);
    if (page !== undefined) return page;
    const clientIp = server.requestIP(request)?.address;
    const alone = () => forward(request, target, clientIp, o);
    const share = shareKey(request.method, target);
    const answer =
      share === undefined ? alone() : watches.watch(request, target, share, clientIp, alone);
    return (metrics === undefined ? answer : counted(metrics, request.method, answer)).then((res) =>
      withCors(res, cors),
    );
  };
}

/** etcd's proxy counters: every request in; handled (with its time) or dropped, and why. */
function counted(metrics: ProxyMetrics, method: string, answer: Promise<Response>) {
  const started = performance.now();
  metrics.incoming(method);
  return answer.then((res) => {
    if (!isProxyError(res))
      metrics.handled(method, res.status, (performance.now() - started) / 1000);
    else metrics.dropped(method, res.status === 503 ? "zero_endpoints" : "failed_getting_response");
    return res;
  });
}

/**
 * The proxy's CORS headers replace the member's: etcd 3.4 sends both sets, and a browser
 * refuses a response with two Access-Control-Allow-Origin headers.
 */
function withCors(response: Response, cors: Readonly<Record<string, string>>): Response {
  for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
  return response;
}

/** `GET /v2/config/local/proxy`: the endpoints requests go to now. */
function configResponse(request: Request, endpoints: Endpoints): Response {
  if (request.method !== "GET") {
    return new Response("Method Not Allowed\n", {
      status: 405,
      headers: {
        Allow: "GET",
        "Content-Type": "text/plain; charset=utf-8",
        "X-Content-Type-Options": "nosniff",
      },
    });
  }
  const body = `${JSON.stringify({ endpoints: endpoints.available().map((e) => e.url) })}\n`;
  // Go's sniffing names a JSON body text/plain.
  return new Response(body, { headers: { "Content-Type": "text/plain; charset=utf-8" } });
}
