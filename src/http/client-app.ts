/**
 * The client listener: `/v2/keys`, `/v2/members`, `/v2/stats/*`, `/v2/machines`, `/version`,
 * `/health`. Elysia routes; path cleaning (301), OPTIONS and CORS wrap the whole handler, as
 * etcd's cors and ServeMux do.
 */
import type { Server } from "bun";
import { Elysia } from "elysia";
import type { EtcdServer } from "../server/etcd-server.ts";
import { redirectIfUnclean } from "./clean-path.ts";
import { applyCors, type CorsPolicy, preflightResponse } from "./cors.ts";
import { handleKeys } from "./keys-handler.ts";
import { handleMembers } from "./members-handler.ts";
import { handleHealth, handleMachines, handleVersion } from "./misc-handlers.ts";
import { notFound } from "./responses.ts";
import { handleStats } from "./stats-handler.ts";

export interface ClientAppOptions {
  readonly server: EtcdServer;
  readonly cors: CorsPolicy;
  /** Client URLs of this member, for `/v2/machines` fallbacks. */
  readonly clientUrls: readonly string[];
}

type BunServer = Server<unknown>;

/** Which listener accepted a request; weak, so finished requests are collected. */
const acceptedBy = new WeakMap<Request, BunServer>();

export function clientApp(options: ClientAppOptions) {
  const { server } = options;
  // The Bun server that accepted each request (Elysia's own `server` is unset when it is
  // mounted as a plain fetch handler), so a watch can lift its idle timeout.
  const keepOpen = (request: Request) => acceptedBy.get(request)?.timeout(request, 0);
  return new Elysia()
    .onError(({ code }) => (code === "NOT_FOUND" ? notFound() : undefined))
    .all(
      "/v2/keys",
      ({ request }) => handleKeys({ server, keepOpen }, request, new URL(request.url)),
      { parse: "none" },
    )
    .all(
      "/v2/keys/*",
      ({ request }) => handleKeys({ server, keepOpen }, request, new URL(request.url)),
      { parse: "none" },
    )
    .all("/v2/members", ({ request }) => handleMembers(server, request, ""), { parse: "none" })
    .all("/v2/members/*", ({ request, params }) => handleMembers(server, request, params["*"]), {
      parse: "none",
    })
    .all("/v2/stats/*", ({ request, params }) => handleStats(server, request, params["*"]), {
      parse: "none",
    })
    .all("/v2/machines", ({ request }) => handleMachines(server, request), { parse: "none" })
    .all("/version", ({ request }) => handleVersion(request), { parse: "none" })
    .all("/health", ({ request }) => handleHealth(server, request), { parse: "none" });
}

/** Wraps an app's fetch with etcd's outer layers: OPTIONS, CORS, and path cleaning. */
export function withClientLayers(
  cors: CorsPolicy,
  fetch: (request: Request, srv: BunServer) => Response | Promise<Response>,
) {
  return async (request: Request, srv: BunServer): Promise<Response> => {
    acceptedBy.set(request, srv);
    if (request.method === "OPTIONS") return preflightResponse(cors, request);
    if (!decodablePath(request.url)) return badRequest();
    const redirect = redirectIfUnclean(new URL(request.url));
    const response = redirect ?? (await fetch(request, srv));
    applyCors(cors, request, response.headers);
    return response;
  };
}

/** A path with a malformed %-escape is refused before routing, as Go's URL parser does. */
function decodablePath(url: string): boolean {
  try {
    decodeURIComponent(new URL(url).pathname);
    return true;
  } catch {
    return false;
  }
}

function badRequest(): Response {
  return new Response("400 Bad Request", {
    status: 400,
    headers: { "Content-Type": "text/plain; charset=utf-8", Connection: "close" },
  });
}
