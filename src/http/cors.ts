/**
 * CORS wrapper for the client listener, as etcd's pkg/cors: an allowed origin (or `*`) gets the
 * Access-Control headers on every response, and every OPTIONS request is answered with an empty
 * 200 before it reaches a handler.
 */
export interface CorsPolicy {
  readonly allowAll: boolean;
  readonly origins: ReadonlySet<string>;
}

export function corsPolicy(origins: readonly string[]): CorsPolicy {
  return { allowAll: origins.includes("*"), origins: new Set(origins.filter((o) => o !== "*")) };
}

function allowedOrigin(policy: CorsPolicy, request: Request): string | undefined {
  if (policy.allowAll) return "*";
  const origin = request.headers.get("origin");
  if (origin !== null && policy.origins.has(origin)) return origin;
  return undefined;
}

export function applyCors(policy: CorsPolicy, request: Request, headers: Headers): void {
  const origin = allowedOrigin(policy, request);
  if (origin === undefined) return;
  headers.set("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE");
  headers.set("Access-Control-Allow-Origin", origin);
  headers.set("Access-Control-Allow-Headers", "accept, content-type, authorization");
}

/** The answer to any OPTIONS request: 200 with an empty body (plus CORS headers if allowed). */
export function preflightResponse(policy: CorsPolicy, request: Request): Response {
  const headers = new Headers();
  applyCors(policy, request, headers);
  return new Response(null, { status: 200, headers });
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The CORS headers for `request` as a plain object, so a handler can build its response with
 * them instead of mutating the response's headers afterwards (cheaper on the hot path).
 */
export function corsHeaders(
  policy: CorsPolicy,
  request: Request,
): Readonly<Record<string, string>> {
  const origin = allowedOrigin(policy, request);
  if (origin === undefined) return NO_HEADERS;
  return {
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS, PUT, DELETE",
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Headers": "accept, content-type, authorization",
  };
}
