/**
 * Forwarding one client request to the cluster (etcd's httpproxy reverse proxy): the body is
 * read whole, the endpoints are tried in order, an endpoint that cannot be reached is skipped
 * for the failure wait and the next one tried; the first response is streamed back as it comes
 * (long-poll and stream watches included), and the upstream request ends when the client goes.
 */

import { isTransportError } from "../net/fetch-error.ts";
import type { FetchTls } from "../net/tls.ts";
import { parseGoBool } from "../util/go-bool.ts";
import type { Endpoint, Endpoints } from "./endpoints.ts";
import { WatchPosition } from "./watch-position.ts";

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
  /** For `https://` members: the CA to trust and the client certificate to show. */
  readonly upstreamTls?: FetchTls;
  readonly log: (line: string) => void;
}

/** The proxy's own failure answers (for the metrics: a dropped request, not a handled one). */
const ownErrors = new WeakSet<Response>();

export function isProxyError(response: Response): boolean {
  return ownErrors.has(response);
}

/** etcd's JSON error body for the proxy's own failures (no trailing newline, as etcd). */
export function proxyError(status: number, message: string): Response {
  const response = new Response(JSON.stringify({ message: `httpproxy: ${message}` }), {
    status,
    headers: { "Content-Type": "application/json" },
  });
  ownErrors.add(response);
  return response;
}

export function upstreamHeaders(request: Request, clientIp: string | undefined): Headers {
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
  const bodyBytes = request.body === null ? undefined : await request.arrayBuffer();
  const noBody = request.method === "GET" || request.method === "HEAD";
  const body = bodyBytes === undefined || (noBody && bodyBytes.byteLength === 0) ? null : bodyBytes;
  const sent = await sendUpstream(
    {
      method: request.method,
      headers: upstreamHeaders(request, clientIp),
      body,
      signal: request.signal,
    },
    target.pathname + target.search,
    o,
  );
  if (sent instanceof Response) return sent;
  const waits = parseGoBool(target.searchParams.get("wait") ?? "") === true;
  const resume =
    waits && request.method === "GET" && sent.res.status === 200
      ? watchResumer(sent, target, request, clientIp, o)
      : undefined;
  try {
    return await respond(sent.res, request, sent.deadline, waits, o.log, resume);
  } catch (error) {
    if (!isTransportError(error)) throw error;
    o.log(`failed to read the response of ${sent.endpoint.url}: ${describe(error)}`);
    return proxyError(502, "unable to get response from 1 endpoint(s)");
  }
}

export interface UpstreamRequest {
  readonly method: string;
  readonly headers: Headers;
  readonly body: ArrayBuffer | null;
  /** Ends the request (the client went away). */
  readonly signal: AbortSignal;
}

export interface Sent {
  readonly endpoint: Endpoint;
  /** The member's response, its headers read; its body still to come. */
  readonly res: Response;
  readonly deadline: Deadline;
}

/**
 * Sends a request to the first endpoint that takes it, skipping (and marking) those that cannot
 * be reached; the proxy's own 503 or 502 when none can, or an unsent response once `signal`
 * aborted. A request a member has taken is never sent to another (it may have been a write).
 */
export async function sendUpstream(
  req: UpstreamRequest,
  path: string,
  o: ForwardOptions,
): Promise<Sent | Response> {
  const endpoints = o.endpoints.available();
  if (endpoints.length === 0) {
    o.log("zero endpoints currently available");
    return proxyError(503, "zero endpoints currently available");
  }
  for (const endpoint of endpoints) {
    if (req.signal.aborted) break;
    // With a read timeout, the upstream request also ends when it expires.
    const upstream = o.readTimeoutMs > 0 ? new AbortController() : undefined;
    const signal =
      upstream === undefined ? req.signal : AbortSignal.any([req.signal, upstream.signal]);
    try {
      const reachable = o.reachable(endpoint);
      if (reachable !== true && !(await reachable)) throw dialTimedOut(endpoint);
      const deadline =
        upstream === undefined ? NO_DEADLINE : armReadTimeout(upstream, o.readTimeoutMs);
      const res = await fetch(endpoint.url + path, {
        ...(o.upstreamTls === undefined ? {} : { tls: o.upstreamTls }),
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal,
        redirect: "manual",
        decompress: false,
      });
      o.endpoints.answered(endpoint);
      return { endpoint, res, deadline };
    } catch (error) {
      if (!isTransportError(error)) throw error;
      if (req.signal.aborted) break;
      o.log(`failed to direct request to ${endpoint.url}: ${describe(error)}`);
      if (o.endpoints.failed(endpoint)) o.log(`marked endpoint ${endpoint.url} unavailable`);
    }
  }
  if (req.signal.aborted) {
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

export interface Deadline {
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

/**
 * Bun sends a streamed response's header block only with its first body chunk (oven-sh/bun#33660),
 * so a waiting watch sends one space after this long without an event: JSON readers skip it, and
 * the client gets 200 and the headers at once, as from an etcd-bun member directly.
 */
export const HEADER_FLUSH_MS = 50;
export const HEADER_FLUSH = new TextEncoder().encode(" ");

/**
 * The upstream response as the client gets it: hop-by-hop headers dropped; a body of known
 * length read whole, any other (a watch) relayed chunk by chunk as it arrives.
 */
async function respond(
  res: Response,
  request: Request,
  deadline: Deadline,
  waits: boolean,
  log: (line: string) => void,
  resume?: Resumer,
): Promise<Response> {
  const headers = new Headers(res.headers);
  for (const h of HOP_BY_HOP) headers.delete(h);
  const init = { status: res.status, headers };
  if (res.body === null || request.method === "HEAD") {
    deadline.clear();
    return new Response(null, init);
  }
  if (res.headers.has("content-length")) {
    const bytes = await res.arrayBuffer();
    deadline.clear();
    return new Response(bytes, init);
  }
  return new Response(relay(res.body, deadline, waits, log, resume), init);
}

/**
 * A watch whose member went away goes on at another: the same request from where the client
 * stands (watch-position.ts). Undefined when it cannot: the client's place is not known, no
 * other member takes it, or the one that does answers anything but 200 (etcd's 401 "event index
 * cleared" among them), which the client then gets itself by watching again.
 */
export interface Resumer {
  observe(chunk: Uint8Array): void;
  resume(error: unknown): Promise<Sent | undefined>;
}

function watchResumer(
  first: Sent,
  target: URL,
  request: Request,
  clientIp: string | undefined,
  o: ForwardOptions,
): Resumer {
  const position = new WatchPosition(target, first.res.headers.get("x-etcd-index"));
  let endpoint = first.endpoint;
  return {
    observe: (chunk) => position.observe(chunk),
    async resume(error) {
      const path = position.resumePath();
      if (request.signal.aborted || path === undefined) return undefined;
      o.log(`watch on ${endpoint.url} lost (${describe(error)}); going on at another member`);
      if (o.endpoints.failed(endpoint)) o.log(`marked endpoint ${endpoint.url} unavailable`);
      const req = {
        method: "GET",
        headers: upstreamHeaders(request, clientIp),
        body: null,
        signal: request.signal,
      };
      const sent = await sendUpstream(req, path, o);
      if (sent instanceof Response) return undefined;
      if (sent.res.status !== 200) {
        sent.deadline.clear();
        await sent.res.body?.cancel();
        return undefined;
      }
      endpoint = sent.endpoint;
      return sent;
    },
  };
}

/**
 * Relays an upstream body through a stream of our own: Bun answers a fetch body handed on as it
 * is without any framing header when its first chunk is late, which leaves a client hanging.
 * A watch whose member goes away goes on at another one when `resume` can place it.
 */
function relay(
  body: ReadableStream<Uint8Array>,
  firstDeadline: Deadline,
  flushEarly: boolean,
  log: (line: string) => void,
  resume?: Resumer,
): ReadableStream<Uint8Array> {
  let reader = body.getReader();
  let deadline = firstDeadline;
  let started = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const end = () => {
    clearTimeout(timer);
    deadline.clear();
  };
  const read = async () => {
    for (;;) {
      try {
        return await reader.read();
      } catch (error) {
        if (resume === undefined || !isTransportError(error)) throw error;
        deadline.clear();
        const next = await resume.resume(error);
        if (next?.res.body == null) throw error;
        reader = next.res.body.getReader();
        deadline = next.deadline;
      }
    }
  };
  return new ReadableStream<Uint8Array>({
    start(c) {
      if (!flushEarly) return;
      timer = setTimeout(() => {
        if (started) return;
        started = true;
        c.enqueue(HEADER_FLUSH);
      }, HEADER_FLUSH_MS);
    },
    async pull(c) {
      let chunk: Awaited<ReturnType<typeof read>>;
      try {
        chunk = await read();
      } catch (error) {
        if (!isTransportError(error)) throw error;
        // The member went away (and a watch cannot go on): the client's response is cut.
        log(`response from a member cut: ${describe(error)}`);
        end();
        cut(c);
        return;
      }
      const { value, done } = chunk;
      if (done) {
        end();
        c.close();
        return;
      }
      started = true;
      deadline.reset();
      resume?.observe(value);
      c.enqueue(value);
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
}

/** Ends a client's response by dropping its connection; no reason given, so Bun prints none. */
export function cut(c: ReadableStreamDefaultController<Uint8Array>): void {
  c.error(undefined);
}
