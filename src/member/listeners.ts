/**
 * The member's sockets, bound before anything is created on disk (as etcd binds its listeners
 * before it opens the data dir), so a port that is taken fails the start with etcd's message and
 * leaves the data dir untouched. Handlers are installed later, once the member is ready; a
 * request that arrives before then waits for them, as a connection waits in etcd's backlog.
 * It must not know what the handlers do.
 */

import { existsSync, lstatSync, rmSync } from "node:fs";
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { type RawTarget, rawTargetRouting } from "../http/raw-target.ts";
import { DEFAULT_LIMITS, type StreamSocketData } from "../transport/transport.ts";
import { handlerError } from "./fatal.ts";

/**
 * A client request handler (the server is passed for per-request timeouts; `raw` says what the
 * raw request target had that `request.url` lost).
 */
export type ClientHandler = (
  request: Request,
  server: Server<unknown>,
  raw?: RawTarget,
) => Response | Promise<Response>;
/** A peer request handler: undefined once it upgraded the request to a WebSocket. */
export type PeerHandler = (
  request: Request,
  server: Server<StreamSocketData>,
) => Response | Promise<Response> | undefined;

/** A refused bind, worded as Go's net.Listen error: `listen tcp 127.0.0.1:2380: bind: ...`. */
export class ListenError extends Error {
  override name = "ListenError";
}

/** Where a listen URL binds: a TCP host and port, or a unix socket path (etcd `unix://`). */
export type ListenTarget =
  | { readonly kind: "tcp"; readonly hostname: string; readonly port: number }
  | { readonly kind: "unix"; readonly path: string };

/** etcd listens on a unix socket named by the URL's host part (`unix://localhost:2379`). */
export function listenTargetOf(raw: string): ListenTarget {
  const url = new URL(raw);
  if (url.protocol === "unix:" || url.protocol === "unixs:") {
    return { kind: "unix", path: decodeURIComponent(url.host + url.pathname) };
  }
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  // URL hides a scheme's default port ("" for http://h:80): bind that port, not a random one.
  const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return { kind: "tcp", hostname, port };
}

/** Go's strings for the errno values a bind can fail with. */
const BIND_ERRORS: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "cannot assign requested address",
  EACCES: "permission denied",
  ENOENT: "no such file or directory",
};

function listenError(target: ListenTarget, error: unknown): ListenError {
  const code = (error as { code?: unknown } | null)?.code;
  const words =
    typeof code === "string" && code in BIND_ERRORS
      ? BIND_ERRORS[code]
      : error instanceof Error
        ? error.message
        : String(error);
  const where =
    target.kind === "unix"
      ? `unix ${target.path}`
      : `tcp ${target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname}:${target.port}`;
  return new ListenError(`listen ${where}: bind: ${words}`);
}

/** A handler installed later; calls made before then wait for it. */
class Late<H> {
  private handler: H | undefined;
  private readonly installed = Promise.withResolvers<H>();

  install(handler: H): void {
    this.handler = handler;
    this.installed.resolve(handler);
  }

  /** The handler now, or once installed. */
  get(): H | Promise<H> {
    return this.handler ?? this.installed.promise;
  }
}

/** One bound socket, with its URL as clients reach it (port 0 resolved to the real port). */
export interface BoundListener {
  readonly url: string;
  readonly server: Server<unknown>;
}

export interface MemberListeners {
  readonly client: readonly BoundListener[];
  readonly peer: readonly BoundListener[];
  /** Starts serving peers (Raft streams and snapshots, `/members`, `/version`). */
  servePeers(handler: PeerHandler, ws: WebSocketHandler<StreamSocketData>): void;
  /** Starts serving clients; requests that arrived earlier are answered now. */
  serveClients(handler: ClientHandler): void;
  /** Stops accepting; with `force`, also closes open connections. */
  stop(force: boolean): Promise<void>;
}

export interface ListenOptions {
  readonly listenClientUrls: readonly string[];
  readonly listenPeerUrls: readonly string[];
  /** Idle client connections are closed after this many seconds (watches lift it). */
  readonly clientIdleTimeoutS: number;
  /** Logs a handler's unexpected error. */
  readonly log: (line: string) => void;
}

/** Binds every peer listener, then every client listener (etcd's order); all or none. */
export async function bindListeners(options: ListenOptions): Promise<MemberListeners> {
  const bound: BoundListener[] = [];
  const client = new Late<ClientHandler>();
  const peer = new Late<PeerHandler>();
  const clientFetch = (
    request: Request,
    server: Server<undefined>,
    raw?: RawTarget,
  ): Response | Promise<Response> => {
    const h = client.get();
    const srv = server as Server<unknown>;
    return h instanceof Promise ? h.then((f) => f(request, srv, raw)) : h(request, srv, raw);
  };
  const peerFetch = (request: Request, server: Server<StreamSocketData>) => {
    const h = peer.get();
    return h instanceof Promise ? h.then((f) => f(request, server)) : h(request, server);
  };
  let socketHandler: WebSocketHandler<StreamSocketData> | undefined;
  const websocket: WebSocketHandler<StreamSocketData> = {
    maxPayloadLength: DEFAULT_LIMITS.frameBytesMax,
    perMessageDeflate: false,
    open: (ws: ServerWebSocket<StreamSocketData>) => socketHandler?.open?.(ws),
    message: (ws, data) => socketHandler?.message?.(ws, data),
    close: (ws, code, reason) => socketHandler?.close?.(ws, code, reason),
    drain: (ws) => socketHandler?.drain?.(ws),
  };
  const error = (e: Error) => handlerError(e, options.log);
  const peerOptions = {
    error,
    maxRequestBodySize: DEFAULT_LIMITS.snapshotBytesMax,
    websocket,
    fetch: peerFetch,
  };
  const clientOptions = { error, ...rawTargetRouting(clientFetch) };
  try {
    const peers: BoundListener[] = [];
    for (const raw of options.listenPeerUrls) {
      const listener = await bindOne(raw, (t) =>
        t.kind === "unix"
          ? Bun.serve<StreamSocketData>({ ...peerOptions, unix: t.path })
          : Bun.serve<StreamSocketData>({ ...peerOptions, hostname: t.hostname, port: t.port }),
      );
      bound.push(listener);
      peers.push(listener);
    }
    const clients: BoundListener[] = [];
    for (const raw of options.listenClientUrls) {
      const listener = await bindOne(raw, (t) =>
        t.kind === "unix"
          ? Bun.serve<undefined>({ ...clientOptions, unix: t.path })
          : Bun.serve<undefined>({
              ...clientOptions,
              hostname: t.hostname,
              port: t.port,
              idleTimeout: options.clientIdleTimeoutS,
            }),
      );
      bound.push(listener);
      clients.push(listener);
    }
    return {
      client: clients,
      peer: peers,
      servePeers: (handler, ws) => {
        socketHandler = ws;
        peer.install(handler);
      },
      serveClients: (handler) => client.install(handler),
      stop: async (force) => {
        await Promise.all(bound.map((l) => l.server.stop(force)));
      },
    };
  } catch (error) {
    for (const l of bound) void l.server.stop(true);
    throw error;
  }
}

/** A socket file nobody accepts on (connection refused). */
async function isStaleSocket(path: string): Promise<boolean> {
  if (!existsSync(path) || !lstatSync(path).isSocket()) return false;
  try {
    const socket = await Bun.connect({ unix: path, socket: { data() {} } });
    socket.end();
    return false;
  } catch {
    return true;
  }
}

async function bindOne(
  raw: string,
  serve: (target: ListenTarget) => Server<StreamSocketData> | Server<undefined>,
): Promise<BoundListener> {
  const target = listenTargetOf(raw);
  // etcd removes the socket file before listening on a unix URL; we remove it only when no
  // process answers on it (left by a killed member), never a live member's socket.
  if (target.kind === "unix" && (await isStaleSocket(target.path))) rmSync(target.path);
  let server: Server<unknown>;
  try {
    server = serve(target) as Server<unknown>;
  } catch (error) {
    throw listenError(target, error);
  }
  const url =
    target.kind === "unix"
      ? raw
      : `${new URL(raw).protocol}//${server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname}:${server.port}`;
  return { url, server };
}
