/**
 * The client listener: `/v2/keys`, `/v2/members`, `/v2/stats/*`, `/v2/machines`, `/version`,
 * `/health`. Elysia routes; path cleaning (301), OPTIONS and CORS wrap the whole handler, as
 * etcd's cors and ServeMux do.
 */

import type { Server } from "bun";
import { Elysia } from "elysia";
import { Access } from "../auth/access.ts";
import { AuthStore } from "../auth/auth-store.ts";
import { CredentialChecker } from "../auth/credentials.ts";
import { AssertionError } from "../util/assert.ts";
import type { LogLevel } from "../util/log.ts";
import { requestUrl } from "../util/request-url.ts";
import { AUTH_PREFIX, type AuthContext, handleAuth } from "./auth-handler.ts";
import { routeTarget } from "./clean-path.ts";
import { applyCors, type CorsPolicy, corsHeaders, preflightResponse } from "./cors.ts";
import { handleKeys, KEYS_PREFIX } from "./keys-handler.ts";
import { handleLogLevel, LOG_LEVEL_PATH } from "./log-level-handler.ts";
import type { KeysMetrics, MemberApi } from "./member-api.ts";
import { handleMembers } from "./members-handler.ts";
import { handleDebugVars, handleHealth, handleMachines, handleVersion } from "./misc-handlers.ts";
import type { RawTarget } from "./raw-target.ts";
import type { ClientFetch } from "./request-info.ts";
import { notFound } from "./responses.ts";
import { handleStats } from "./stats-handler.ts";

export interface ClientAppOptions {
  readonly server: MemberApi;
  readonly cors: CorsPolicy;
  /** `/metrics` (Prometheus text) and the keys request counters behind it. */
  readonly metrics?: {
    readonly keys: KeysMetrics;
    readonly healthChecked?: (healthy: boolean) => void;
    scrape(): Promise<Response>;
  };
  /** The dashboard's pages and endpoints: answers its own paths, undefined for others. */
  readonly dashboard?: (request: Request, path: string) => Promise<Response> | undefined;
  /** Changes the process's log level (`PUT /config/local/log`); without it: 404 there. */
  readonly setLogLevel?: (level: LogLevel) => void;
}

type BunServer = Server<unknown>;

/**
 * The client API. `/v2/keys` (nearly all traffic) is dispatched here before the router: the
 * router's per-request context cost a measurable share of a write's CPU. The rest goes through
 * Elysia's routes.
 */
export function clientApp(options: ClientAppOptions): ClientFetch {
  const { server } = options;
  const auth = authOf(server);
  const metrics = options.metrics;
  const keysContext = {
    server,
    access: auth.access,
    ...(metrics === undefined ? {} : { metrics: metrics.keys }),
  };
  const app = new Elysia({ strictPath: true })
    .onError(({ code, error }) => {
      // A broken invariant must reach the listener's error handler, which ends the process.
      if (error instanceof AssertionError) throw error;
      return code === "NOT_FOUND" ? notFound() : undefined;
    })
    .all("/v2/members", ({ request }) => handleMembers(keysContext, request, ""), {
      parse: "none",
    })
    .all(
      "/v2/members/*",
      ({ request, params }) => handleMembers(keysContext, request, decodeURIComponent(params["*"])),
      {
        parse: "none",
      },
    )
    .all(
      "/v2/stats/*",
      ({ request, params }) => handleStats(server, request, decodeURIComponent(params["*"])),
      {
        parse: "none",
      },
    )
    .all("/v2/machines", ({ request }) => handleMachines(server, request), { parse: "none" })
    .all("/version", ({ request }) => handleVersion(request), { parse: "none" })
    .all("/health", ({ request }) => handleHealth(server, request, metrics?.healthChecked), {
      parse: "none",
    })
    .all("/debug/vars", ({ request }) => handleDebugVars(server, request), { parse: "none" })
    .all("/metrics", () => (metrics === undefined ? notFound() : metrics.scrape()), {
      parse: "none",
    })
    .all(
      LOG_LEVEL_PATH,
      ({ request }) => {
        const setLevel = options.setLogLevel;
        return setLevel === undefined
          ? notFound()
          : handleLogLevel(request, setLevel, (line) => server.log(line));
      },
      { parse: "none" },
    );
  return (request, info) => {
    const path = info.url.pathname;
    const n = KEYS_PREFIX.length;
    if (path.startsWith(KEYS_PREFIX) && (path.length === n || path[n] === "/"))
      return handleKeys(keysContext, request, info);
    if (path === AUTH_PREFIX || path.startsWith(`${AUTH_PREFIX}/`)) {
      const answer = handleAuth(auth, request, decodeURIComponent(path));
      if (answer !== undefined) return answer;
    }
    const page = options.dashboard?.(request, path);
    if (page !== undefined) return page;
    // A raw path the URL parser would change was rewritten into info.url: route on that.
    return app.fetch(info.url.href === request.url ? request : new Request(info.url.href, request));
  };
}

/** The auth data over the member's store, and the access checks every handler asks. */
function authOf(server: MemberApi): AuthContext {
  const credentials = new CredentialChecker({ now: () => Date.now() });
  const store = new AuthStore(
    {
      get: (path) => server.authGet(path),
      linearizableRead: () => server.linearizableRead(),
      propose: (req) => server.proposeAuth(req),
      revision: () => server.authRevision(),
    },
    (password) => credentials.hash(password),
  );
  return { server, store, access: new Access(store, credentials) };
}

/**
 * Wraps the client API with etcd's outer layers: OPTIONS, CORS, and path cleaning. A handler
 * that answers synchronously (a plain GET) is answered without a Promise: Bun then writes the
 * response without going through its promise path.
 */
export function withClientLayers(
  cors: CorsPolicy,
  fetch: ClientFetch,
  /** Sees each answer (the member logs refused requests at debug level). */
  answered?: (request: Request, response: Response) => void,
) {
  return (request: Request, srv: BunServer, raw?: RawTarget): Response | Promise<Response> => {
    if (request.method === "OPTIONS") return preflightResponse(cors, request);
    const target = routeTarget(request.method, requestUrl(request), raw);
    if (target instanceof Response && target.status !== 301) {
      answered?.(request, target);
      return target;
    }
    const headers = corsHeaders(cors, request);
    const finish = (response: Response): Response => {
      answered?.(request, response);
      // Hot-path handlers build responses with the CORS headers already in them.
      const cors0 = Object.keys(headers)[0];
      if (cors0 !== undefined && !response.headers.has(cors0))
        applyCors(cors, request, response.headers);
      return response;
    };
    if (target instanceof Response) return finish(target);
    const response = fetch(request, { srv, url: target, cors: headers });
    return response instanceof Promise ? response.then(finish) : finish(response);
  };
}
