/**
 * The discovery service's HTTP API, as discovery.etcd.io (Debian's etcd-discovery) answers it:
 * `/new` hands out a token, token paths are passed on to the backing store's
 * `/v2/keys/_etcd/registry/<token>...` and its answer copied back, and `/health`,
 * `/robots.txt`, `/metrics` and `/`. Routes, methods and texts as measured on that service.
 */
import { requestUrl } from "../util/request-url.ts";
import { type ServiceMetrics, serviceMetrics } from "./service-metrics.ts";
import { TokenStore } from "./token-store.ts";

export interface ServiceOptions {
  /** The backing store's client URL (`scheme://host:port`). */
  readonly storeUrl: string;
  /** Prefix of the token URLs handed out. */
  readonly hostPrefix: string;
  /** Seconds until a new token expires; 0: never. */
  readonly tokenTtlS: number;
  /** 32 lowercase hex characters, fresh each call. */
  readonly newToken?: () => string;
}

const TOKEN = /^[a-f0-9]{32}$/;
const DEFAULT_SIZE = 3;
/** Sizes beyond a sensible cluster are refused (the original takes any int, 0 and -1 too). */
const MAX_SIZE = 1000;
const DOCS_URL = "https://coreos.com/docs/cluster-management/setup/cluster-discovery/";

const text = (body: string, status = 200, extra: Record<string, string> = {}) =>
  new Response(body, {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", ...extra },
  });
/** Go's http.Error: the text, a newline, and nosniff. */
const goError = (status: number, message: string) =>
  text(`${message}\n`, status, { "X-Content-Type-Options": "nosniff" });
const notFound = () => goError(404, "404 page not found");
/** gorilla/mux's answer to a method a route does not take. */
const methodNotAllowed = () => new Response(null, { status: 405 });

export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function discoveryService(o: ServiceOptions) {
  const metrics = serviceMetrics();
  const newToken = o.newToken ?? randomToken;
  const tokens = new TokenStore(o.storeUrl, o.tokenTtlS);

  const createToken = async (url: URL): Promise<Response> => {
    const given = url.searchParams.get("size") ?? "";
    const size = given === "" ? DEFAULT_SIZE : goAtoi(given);
    if (typeof size === "string") return goError(400, size);
    if (size < 1 || size > MAX_SIZE) {
      return goError(400, `size must be between 1 and ${MAX_SIZE}, got ${size}`);
    }
    const token = newToken();
    // discovery.etcd.io's answer when its store takes no writes.
    if (!(await tokens.create(token, size))) return goError(400, "Unable to generate token");
    return text(`${o.hostPrefix}/${token}`);
  };

  const health = async (): Promise<Response> =>
    (await tokens.healthy(newToken())) ? text("OK") : goError(400, "health failed to setupToken");

  const passOn = async (request: Request, storePath: string, search: string) =>
    (await tokens.passOn(request, storePath, search)) ?? goError(500, "error proxying request");

  const handle = async (request: Request): Promise<Response> => {
    const url = requestUrl(request);
    const path = url.pathname;
    if (path === "/") return redirectToDocs();
    if (path === "/robots.txt") return text("User-agent: *\nDisallow: /");
    if (path === "/metrics") return text(metrics.render(), 200, { "Content-Type": METRICS_TYPE });
    if (path === "/new") return counted(metrics, "new", request, createToken(url));
    if (path === "/health") return counted(metrics, "health", request, health());
    const route = tokenRoute(path);
    if (route === undefined) return notFound();
    if (!route.methods.includes(request.method)) return methodNotAllowed();
    return counted(metrics, "token", request, passOn(request, route.storePath, url.search));
  };

  return { handle, metrics };
}

const METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function redirectToDocs(): Response {
  return new Response(`<a href="${DOCS_URL}">Moved Permanently</a>.\n\n`, {
    status: 301,
    headers: { Location: DOCS_URL, "Content-Type": "text/html; charset=utf-8" },
  });
}

/**
 * The original's token routes: `/<token>` and `/<token>/` (GET, PUT), `/<token>/<machine>`
 * (GET, PUT, DELETE), `/<token>/_config/size` (GET); the path in the store drops a final `/`.
 */
function tokenRoute(path: string): { methods: string[]; storePath: string } | undefined {
  const parts = path.slice(1).split("/");
  const token = parts[0] ?? "";
  if (!TOKEN.test(token)) return undefined;
  if (parts.length === 1 || (parts.length === 2 && parts[1] === "")) {
    return { methods: ["GET", "PUT"], storePath: `/${token}` };
  }
  if (parts.length === 2) return { methods: ["GET", "PUT", "DELETE"], storePath: path };
  if (parts.length === 3 && parts[1] === "_config" && parts[2] === "size") {
    return { methods: ["GET"], storePath: path };
  }
  return undefined;
}

/** Go's strconv.Atoi: the number, or its error text. */
function goAtoi(s: string): number | string {
  if (!/^[+-]?[0-9]+$/.test(s)) return `strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`;
  const n = Number(s);
  if (!Number.isSafeInteger(n))
    return `strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range`;
  return n;
}

async function counted(
  metrics: ServiceMetrics,
  endpoint: "new" | "token" | "health",
  request: Request,
  answer: Promise<Response>,
): Promise<Response> {
  const res = await answer;
  metrics.count(endpoint, request.method, res.status);
  return res;
}
