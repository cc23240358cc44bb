/**
 * `/v2/keys`: parses the request the way etcd does (query and form merged, body wins), serves
 * plain GETs from the local store, watches from the watcher hub, and everything else through
 * Raft. Knows the server only through its public methods.
 */

import { callerOf, type Decision } from "../auth/access.ts";
import { ErrorCode, EtcdError } from "../store/errors.ts";
import { type Event, isCreated } from "../store/event.ts";
import { cleanStorePath } from "../store/path.ts";
import { eventToJson } from "../store/render.ts";
import type { V2Request } from "../store/v2-apply.ts";
import { V2_FORM_BYTES_MAX, V2_URL_BYTES_MAX } from "../transport/limits.ts";
import { mergeParams, parseKeyRequest } from "./key-request.ts";
import type { KeysContext, MemberApi } from "./member-api.ts";
import type { RequestInfo } from "./request-info.ts";
import { etcdHeaders, keysErrorResponse, methodNotAllowed, toEtcdError } from "./responses.ts";
import { watchResponse } from "./watch.ts";

export const KEYS_PREFIX = "/v2/keys";
const METHODS = new Set(["GET", "HEAD", "PUT", "POST", "DELETE"]);
const clock = { now: () => Date.now() };

export function handleKeys(
  ctx: KeysContext,
  request: Request,
  info: RequestInfo,
): Response | Promise<Response> {
  const { server } = ctx;
  const { url } = info;
  const method = request.method;
  if (!METHODS.has(method)) return methodNotAllowed("HEAD,GET,PUT,POST,DELETE");
  if (method !== "GET" && method !== "HEAD") return handleWrite(ctx, request, info);
  let req: V2Request;
  try {
    req = parseRequest(method, url, "", null);
  } catch (error) {
    return keysErrorResponse(
      server.clusterId,
      toEtcdError(error, (line) => server.log(line)),
    );
  }
  const allowed = keyAccess(ctx, request, url, req);
  if (allowed === false) return noKeyAccess(server.clusterId);
  if (allowed !== true)
    return allowed.then((ok) =>
      ok ? serveRead(ctx, request, req, info) : noKeyAccess(server.clusterId),
    );
  return serveRead(ctx, request, req, info);
}

function serveRead(ctx: KeysContext, request: Request, req: V2Request, info: RequestInfo) {
  // etcd serves a quorum GET as a read through Raft and ignores `wait` on it.
  if (req.method === "QGET") return measured(ctx, req, quorumGet(ctx.server, req, info.cors));
  if (req.wait) return watchResponse(ctx, request, req, info);
  return measured(ctx, req, localRead(ctx.server, req, info.cors));
}

/** Counts a request that is not a watch, as etcd's v2 metrics do, by its answer's status. */
function measured<R extends Response | Promise<Response>>(
  ctx: KeysContext,
  req: V2Request,
  response: R,
  startedMs = performance.now(),
): R {
  const metrics = ctx.metrics;
  if (metrics === undefined) return response;
  metrics.received(req.method);
  const report = (res: Response): Response => {
    if (res.status < 400) metrics.succeeded(req.method, (performance.now() - startedMs) / 1000);
    else metrics.failed(req.method, res.status);
    return res;
  };
  return (response instanceof Promise ? response.then(report) : report(response)) as R;
}

/**
 * etcd's check after parsing: the key as requested, and (stricter than etcd) as the store will
 * clean it, for the request's method and recursion.
 */
function keyAccess(ctx: KeysContext, request: Request, url: URL, req: V2Request): Decision {
  if (!ctx.access.enabled) return true;
  const raw = decodeURIComponent(url.pathname.slice(KEYS_PREFIX.length));
  return ctx.access.keys(callerOf(request), {
    method: request.method,
    keys: [raw, cleanStorePath(raw)],
    recursive: req.recursive,
  });
}

/** etcd's writeKeyNoAuth: error 110 with index 0. */
function noKeyAccess(clusterId: string): Response {
  return keysErrorResponse(
    clusterId,
    new EtcdError(ErrorCode.unauthorized, "Insufficient credentials", 0),
  );
}

/** A GET from this member's store. */
function localRead(
  server: MemberApi,
  req: V2Request,
  cors: Readonly<Record<string, string>>,
): Response {
  try {
    const event = server.localGet(req);
    return eventResponse(server, event, req, { raftIndex: server.raftIndex, cors });
  } catch (error) {
    return keysErrorResponse(
      server.clusterId,
      toEtcdError(error, (line) => server.log(line)),
    );
  }
}

function parseRequest(method: string, url: URL, body: string, contentType: string | null) {
  const keyPath = decodeURIComponent(url.pathname.slice(KEYS_PREFIX.length));
  const params = mergeParams(url.search, body, contentType, method);
  return parseKeyRequest(method, keyPath, params, Date.now());
}

/** quorum=true: linearizable via ReadIndex, then the same local read. */
async function quorumGet(
  server: MemberApi,
  req: V2Request,
  cors: Readonly<Record<string, string>>,
): Promise<Response> {
  try {
    await server.linearizableRead();
  } catch (error) {
    return keysErrorResponse(
      server.clusterId,
      toEtcdError(error, (line) => server.log(line)),
    );
  }
  return localRead(server, req, cors);
}

/** PUT, POST, DELETE (and a watch given with them): through Raft. */
async function handleWrite(
  ctx: KeysContext,
  request: Request,
  info: RequestInfo,
): Promise<Response> {
  const { server } = ctx;
  let req: V2Request;
  try {
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > V2_FORM_BYTES_MAX || info.url.href.length > V2_URL_BYTES_MAX)
      return tooLarge(server.clusterId);
    const body = await request.text();
    // A chunked body has no declared length (Bun bounds it with maxRequestBodySize).
    if (Buffer.byteLength(body) > V2_FORM_BYTES_MAX) return tooLarge(server.clusterId);
    req = parseRequest(request.method, info.url, body, request.headers.get("content-type"));
  } catch (error) {
    return keysErrorResponse(
      server.clusterId,
      toEtcdError(error, (line) => server.log(line)),
    );
  }
  const allowed = keyAccess(ctx, request, info.url, req);
  // Awaited only when the check has to wait (a first login); true is the common answer.
  if (allowed !== true && !(await allowed)) return noKeyAccess(server.clusterId);
  if (req.wait) return watchResponse(ctx, request, req, info);
  return measured(ctx, req, proposed(server, req, info));
}

async function proposed(server: MemberApi, req: V2Request, info: RequestInfo): Promise<Response> {
  try {
    const result = await server.proposeV2(req);
    if (result.error !== undefined) return keysErrorResponse(server.clusterId, result.error);
    if (result.event === undefined) throw new Error("applied request produced no event");
    return eventResponse(server, result.event, req, {
      raftIndex: result.raftIndex,
      cors: info.cors,
    });
  } catch (error) {
    return keysErrorResponse(
      server.clusterId,
      toEtcdError(error, (line) => server.log(line)),
    );
  }
}

/**
 * etcd 3.4's answer to a form over Go's 10 MiB `maxFormSize`; refused before anything reaches
 * Raft. The connection is closed, as Go does when it leaves a large body unread.
 */
function tooLarge(clusterId: string): Response {
  const response = keysErrorResponse(
    clusterId,
    new EtcdError(ErrorCode.invalidForm, "http: POST too large", 0),
  );
  response.headers.set("Connection", "close");
  return response;
}

function eventResponse(
  server: MemberApi,
  event: Event,
  req: V2Request,
  extra: { raftIndex: number; cors: Readonly<Record<string, string>> },
): Response {
  const headers = {
    ...extra.cors,
    ...etcdHeaders(server.clusterId, event.etcdIndex),
    "X-Raft-Index": String(extra.raftIndex),
    "X-Raft-Term": String(server.raftTerm),
  };
  const status = isCreated(event) ? 201 : 200;
  // HEAD: Bun drops the body and keeps its Content-Length, as etcd's HEAD answer has.
  const body = eventToJson(event, clock, { noValueOnSuccess: req.noValueOnSuccess });
  return new Response(body, { status, headers });
}
