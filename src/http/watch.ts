/**
 * Watch responses (`?wait=true`): 200 and the headers go out at once; then one event (long
 * poll) or one JSON line per event (`stream=true`). A client that disconnects frees its watcher.
 * A stream whose client does not keep up is ended after WATCH_BUFFER_EVENTS unread events, as
 * etcd drops a watcher whose channel is full.
 */
import type { Event } from "../store/event.ts";
import { eventToJson } from "../store/render.ts";
import type { V2Request } from "../store/v2-apply.ts";
import type { Watcher } from "../store/watcher-hub.ts";
import type { KeysContext } from "./member-api.ts";
import type { RequestInfo } from "./request-info.ts";
import { etcdHeaders, keysErrorResponse, toEtcdError } from "./responses.ts";

/** Unread events a stream watcher may queue before it is dropped (etcd's channel size). */
const WATCH_BUFFER_EVENTS = 100;
const USER_KEYS_PREFIX = "/1";
const clock = { now: () => Date.now() };
const encoder = new TextEncoder();
const HEADER_FLUSH = encoder.encode(" ");

export function watchResponse(
  ctx: KeysContext,
  request: Request,
  req: V2Request,
  info: RequestInfo,
): Response {
  const { server } = ctx;
  // Lifted on the listener that accepted the request: Elysia's context has no server here.
  info.srv.timeout(request, 0);
  let watcher: Watcher | undefined;
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let closed = false;
  const pending: Event[] = [];
  const close = () => {
    if (closed) return;
    closed = true;
    watcher?.remove();
    try {
      controller?.close();
    } catch (error) {
      // A client disconnect closed it already (TypeError: invalid state): nothing to release.
      if (!(error instanceof TypeError)) throw error;
    }
  };
  let delivered = false;
  let waited = false;
  const deliver = (event: Event) => {
    if (closed || delivered) return;
    if (controller === undefined) {
      pending.push(event);
      return;
    }
    if ((controller.desiredSize ?? 0) < -WATCH_BUFFER_EVENTS) return close();
    controller.enqueue(encoder.encode(eventToJson(event, clock)));
    if (!req.stream) {
      // One event per long poll. A watch that waited has its headers out and a chunked body
      // already: end it now. One answered from history closes on the next turn, so its chunk
      // goes out chunked too (as etcd's), not as a Content-Length body.
      delivered = true;
      if (waited) close();
      else setImmediate(close);
    }
  };
  try {
    watcher = server.watch(
      {
        key: USER_KEYS_PREFIX + req.path,
        recursive: req.recursive,
        stream: req.stream,
        sinceIndex: req.since,
      },
      deliver,
      () => {
        if (!req.stream) return;
        close();
      },
    );
  } catch (error) {
    return keysErrorResponse(
      server.clusterId,
      toEtcdError(error, (line) => server.log(line)),
    );
  }
  const startIndex = watcher.startIndex;
  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        if (pending.length === 0) {
          waited = true;
          // Bun sends the header block only with the first body chunk (oven-sh/bun#33660), so a
          // waiting watch sends one space: JSON readers skip it, and the client sees 200 and
          // the headers at once, as etcd's flushed headers give it.
          c.enqueue(HEADER_FLUSH);
        }
        for (const event of pending.splice(0)) deliver(event);
      },
      cancel() {
        close();
      },
    },
    { highWaterMark: 0 },
  );
  request.signal.addEventListener("abort", close);
  const headers = etcdHeaders(server.clusterId, startIndex);
  headers["X-Raft-Index"] = String(server.raftIndex);
  headers["X-Raft-Term"] = String(server.raftTerm);
  return new Response(body, { status: 200, headers });
}
