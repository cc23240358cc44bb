/**
 * Forwarding one client request to the cluster (etcd's httpproxy reverse proxy): the body is
 * read whole, the endpoints are tried in order, an endpoint that cannot be reached is skipped
 * for the failure wait and the next one tried; the first response is streamed back as it comes
 * (long-poll and stream watches included), and the upstream request ends when the client goes.
 */
import type { Endpoint, Endpoints } from "./endpoints.ts";

/** Headers that concern one connection only; neither direction forwards them. */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailers",
  "transfer-encoding",
  "upgrade",
];

export interface ForwardOptions {
  readonly endpoints: Endpoints;
  /** Whether `endpoint` accepts connections within the dial timeout (dial.ts). */
  readonly reachable: (endpoint: Endpoint) => boolean | Promise<boolean>;
  /** 0: none. Otherwise the upstream must send its headers, and each later chunk, within it. */
  readonly readTimeoutMs: number;
  readonly log: (line: string) => void;
}

/** etcd's JSON error body for the proxy's own failures (no trailing newline, as etcd). */
function proxyError(status: number, message: string): Response {
  return new Response(JSON.stringify({ message: `httpproxy: ${message}` }), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

/** A failure to reach or hear from the endpoint (not a bug here): try the next one. */
export function isTransportError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === "TimeoutError" ||
    error.name === "AbortError" ||
    typeof (error as { code?: unknown }).code === "string"
  );
}

function upstreamHeaders(request: Request, clientIp: string | undefined): Headers {
  const headers = new Headers(request.headers);
  for (const h of HOP_BY_HOP) headers.delete(h);
  // Recomputed from the buffered body.
  headers.delete("content-length");
  if (clientIp !== undefined) {
    const prior = request.headers.get("x-forwarded-for");
    headers.set("X-Forwarded-For", prior === null ? clientIp : `${prior}, ${clientIp}`);
  }
  return headers;
}

/** Forwards `request` (routed to `target`) to the first endpoint that answers. */
export async function forward(
  request: Request,
  target: URL,
  clientIp: string | undefined,
  o: ForwardOptions,
): Promise<Response> {
  const endpoints = o.endpoints.available();
  if (endpoints.length === 0) {
    o.log("zero endpoints currently available");
    return proxyError(503, "zero endpoints currently available");
  }
  const bodyBytes = request.body === null ? undefined : await request.arrayBuffer();
  const noBody = request.method === "GET" || request.method === "HEAD";
  const body = bodyBytes === undefined || (noBody && bodyBytes.byteLength === 0) ? null : bodyBytes;
  const headers = upstreamHeaders(request, clientIp);
  const path = target.pathname + target.search;
  for (const endpoint of endpoints) {
    if (request.signal.aborted) break;
    const upstream = new AbortController();
    const signal = AbortSignal.any([request.signal, upstream.signal]);
    try {
      const reachable = o.reachable(endpoint);
      if (reachable !== true && !(await reachable)) throw dialTimedOut(endpoint);
      const deadline = armReadTimeout(upstream, o.readTimeoutMs);
      const res = await fetch(endpoint.url + path, {
        method: request.method,
        headers,
        body,
        signal,
        redirect: "manual",
        decompress: false,
      });
      o.endpoints.answered(endpoint);
      return respond(res, upstream, deadline, o.readTimeoutMs);
    } catch (error) {
      if (!isTransportError(error)) throw error;
      if (request.signal.aborted) break;
      o.log(`failed to direct request to ${endpoint.url}: ${describe(error)}`);
      if (o.endpoints.failed(endpoint)) o.log(`marked endpoint ${endpoint.url} unavailable`);
    }
  }
  if (request.signal.aborted) {
    o.log("client closed request prematurely");
    // Nobody reads it; Bun needs a Response all the same.
    return new Response(null, { status: 499 });
  }
  o.log(`unable to get response from ${endpoints.length} endpoint(s)`);
  return proxyError(502, `unable to get response from ${endpoints.length} endpoint(s)`);
}

function dialTimedOut(endpoint: Endpoint): Error {
  return Object.assign(new Error(`dial ${endpoint.url}: i/o timeout`), { code: "ETIMEDOUT" });
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

interface Deadline {
  /** Starts the wait again (a chunk arrived). */
  reset(): void;
  clear(): void;
}

const NO_DEADLINE: Deadline = { reset() {}, clear() {} };

/** Aborts `upstream` when nothing arrives for `ms` (0: never). */
function armReadTimeout(upstream: AbortController, ms: number): Deadline {
  if (ms <= 0) return NO_DEADLINE;
  const expire = () => upstream.abort(new DOMException("read timeout", "TimeoutError"));
  let timer = setTimeout(expire, ms);
  return {
    reset() {
      clearTimeout(timer);
      timer = setTimeout(expire, ms);
    },
    clear() {
      clearTimeout(timer);
    },
  };
}

/** The upstream response as the client gets it: hop-by-hop headers dropped, body streamed. */
function respond(
  res: Response,
  upstream: AbortController,
  deadline: Deadline,
  readTimeoutMs: number,
): Response {
  const headers = new Headers(res.headers);
  for (const h of HOP_BY_HOP) headers.delete(h);
  let body = res.body;
  if (body !== null && readTimeoutMs > 0) {
    deadline.reset();
    body = body.pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          deadline.reset();
          controller.enqueue(chunk);
        },
        flush() {
          deadline.clear();
        },
      }),
      { signal: upstream.signal },
    );
  } else {
    deadline.clear();
  }
  return new Response(body, { status: res.status, headers });
}
