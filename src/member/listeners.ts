/**
 * The member's sockets, bound before anything is created on disk (as etcd binds its listeners
 * before it opens the data dir), so a port that is taken fails the start with etcd's message and
 * leaves the data dir untouched. Handlers are installed later, once the member is ready; a
 * request that arrives before then waits for them, as a connection waits in etcd's backlog.
 * It must not know what the handlers do.
 */

import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { hostCheck } from "../http/host-whitelist.ts";
import { type RawTarget, rawTargetRouting } from "../http/raw-target.ts";
import {
  type BoundListener,
  bindOne,
  type ListenTarget,
  listenError,
  listenTargetOf,
} from "../net/listen.ts";
import { serverTls, TlsFileError, type TlsFiles } from "../net/tls.ts";
import { startTlsGate, type TlsGate } from "../net/tls-gate.ts";
import { rotating, type ServerTls } from "../net/tls-rotation.ts";
import { DEFAULT_LIMITS, type StreamSocketData } from "../transport/transport.ts";
import { assert } from "../util/assert.ts";
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

export type { BoundListener } from "../net/listen.ts";

export interface MemberListeners {
  readonly client: readonly BoundListener[];
  readonly peer: readonly BoundListener[];
  readonly metrics: readonly BoundListener[];
  /** Installs the `--listen-metrics-urls` handler (requests before then wait for it). */
  serveMetrics(handler: (request: Request) => Response | Promise<Response>): void;
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
  /** `--listen-metrics-urls`: served by the metrics handler (client TLS for https). */
  readonly listenMetricsUrls?: readonly string[];
  /** Idle client connections are closed after this many seconds (watches lift it). */
  readonly clientIdleTimeoutS: number;
  /** Logs a handler's unexpected error. */
  readonly log: (line: string) => void;
  /** `--host-whitelist` for plain-HTTP client listeners (default: any host). */
  readonly hostWhitelist?: readonly string[];
  /** Certificate and key (and client-certificate rule) for `https://` client listen URLs. */
  readonly clientTls?: TlsFiles;
  /** The same for `https://` peer listen URLs. */
  readonly peerTls?: TlsFiles;
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
  try {
    const peers = await bindSide(options.listenPeerUrls, options.peerTls, bound, options.log, {
      unix: (path, tls) =>
        Bun.serve<StreamSocketData>({ ...peerOptions, ...(tls && { tls }), unix: path }),
      tcp: (hostname, port, tls) =>
        Bun.serve<StreamSocketData>({ ...peerOptions, ...tlsPart(tls), hostname, port }),
    });
    const servers = clientServers(options, clientFetch, error);
    const clients = await bindSide(
      options.listenClientUrls,
      options.clientTls,
      bound,
      options.log,
      servers,
    );
    const metricsHandler = new Late<(request: Request) => Response | Promise<Response>>();
    const metricsFetch = (request: Request) => {
      const h = metricsHandler.get();
      return h instanceof Promise ? h.then((f) => f(request)) : h(request);
    };
    const metrics = await bindSide(
      options.listenMetricsUrls ?? [],
      options.clientTls,
      bound,
      options.log,
      {
        unix: (path, tls) =>
          Bun.serve({ error, fetch: metricsFetch, ...(tls && { tls }), unix: path }),
        tcp: (hostname, port, tls) =>
          Bun.serve({ error, fetch: metricsFetch, ...tlsPart(tls), hostname, port }),
      },
    );
    return {
      client: clients,
      peer: peers,
      metrics,
      serveMetrics: (handler) => metricsHandler.install(handler),
      servePeers: (handler, ws) => {
        socketHandler = ws;
        peer.install(handler);
      },
      serveClients: (handler) => client.install(handler),
      stop: async (force) => {
        await Promise.all(bound.map((l) => l.stop(force)));
      },
    };
  } catch (error) {
    for (const l of bound) void l.stop(true);
    throw error;
  }
}

/**
 * The client listeners' servers. A plain-HTTP one answers a Host outside `--host-whitelist`
 * before anything else; TLS ones (a gate's inner server too) are not checked, as in etcd.
 */
function clientServers(
  options: ListenOptions,
  clientFetch: (r: Request, s: Server<undefined>, raw?: RawTarget) => Response | Promise<Response>,
  error: (e: Error) => Response,
): SideServers {
  const secure = { error, ...rawTargetRouting(clientFetch) };
  const check = hostCheck(options.hostWhitelist ?? ["*"]);
  const plain =
    check === undefined
      ? secure
      : {
          error,
          ...rawTargetRouting((request: Request, server: Server<undefined>, raw?: RawTarget) => {
            return check(request) ?? clientFetch(request, server, raw);
          }),
        };
  return {
    unix: (path, tls) =>
      Bun.serve<undefined>({ ...(tls ? secure : plain), ...(tls && { tls }), unix: path }),
    behindGate: (path) => Bun.serve<undefined>({ ...secure, unix: path }),
    tcp: (hostname, port, tls) =>
      Bun.serve<undefined>({
        ...(tls ? secure : plain),
        ...tlsPart(tls),
        hostname,
        port,
        idleTimeout: options.clientIdleTimeoutS,
      }),
  };
}

interface SideServers {
  /** A unix socket listener; with `tls` for `unixs://`. */
  unix(path: string, tls?: ServerTls): Server<never>;
  /** The plain server behind a TLS gate (default: `unix` without TLS). */
  behindGate?(path: string): Server<never>;
  tcp(hostname: string, port: number, tls: ServerTls | undefined): Server<never>;
}

/** TLS listeners share their port (SO_REUSEPORT) so a rotation can take it over. */
function tlsPart(tls: ServerTls | undefined) {
  return tls === undefined ? {} : { tls, reusePort: true };
}

/** Binds one side's listen URLs (adding each to `bound` as it goes, for the caller's cleanup). */
async function bindSide(
  urls: readonly string[],
  files: TlsFiles | undefined,
  bound: BoundListener[],
  log: (line: string) => void,
  servers: SideServers,
): Promise<BoundListener[]> {
  const side: BoundListener[] = [];
  for (const raw of urls) {
    const https = raw.startsWith("https:") || raw.startsWith("unixs:");
    // Read before binding: an unreadable file is its own error, not a bind error.
    const tls = https ? httpsOptions(files, raw) : undefined;
    if (tls !== undefined && files !== undefined && certificateRuled(files)) {
      const gated = bindGated(raw, tls, files, servers, log);
      bound.push(gated);
      side.push(gated);
      continue;
    }
    const first = await bindOne(
      raw,
      (t) => (t.kind === "unix" ? servers.unix(t.path, tls) : servers.tcp(t.hostname, t.port, tls)),
      { shared: https },
    );
    const rebind = (hostname: string, port: number, tls: ServerTls) =>
      servers.tcp(hostname, port, tls) as Server<unknown>;
    const listener = https ? withRotation(first, files, rebind, log) : first;
    bound.push(listener);
    side.push(listener);
  }
  return side;
}

function certificateRuled(files: TlsFiles): boolean {
  return (files.allowedCn ?? "") !== "" || (files.allowedHostname ?? "") !== "";
}

/**
 * A TLS port whose clients' certificates must carry a CN or name a host: a gate (net/tls-gate.ts)
 * in front of the server, which listens on the gate's private unix socket. Its certificate
 * files are read once (no rotation for gated ports).
 */
function bindGated(
  raw: string,
  tls: ServerTls,
  files: TlsFiles,
  servers: SideServers,
  log: (line: string) => void,
): BoundListener {
  const target = listenTargetOf(raw);
  if (target.kind !== "tcp")
    throw new TlsFileError(`a client certificate rule cannot be applied to ${raw} (unixs://)`);
  const rule = { allowedCn: files.allowedCn ?? "", allowedHostname: files.allowedHostname ?? "" };
  let gate: TlsGate;
  try {
    gate = startTlsGate({ hostname: target.hostname, port: target.port, tls, rule, log });
  } catch (error) {
    throw listenError(target, error);
  }
  // Plain behind the gate: the gate did the TLS.
  const inner = servers.behindGate ?? servers.unix;
  const server = inner(gate.unixPath) as Server<unknown>;
  const host = target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname;
  return {
    url: `https://${host}:${gate.port}`,
    server,
    stop: async (force) => {
      gate.stop();
      await server.stop(force);
    },
  };
}

/** A TLS listener made from files follows their changes (not a self-signed one). */
function withRotation(
  first: BoundListener & { readonly target: ListenTarget },
  files: TlsFiles | undefined,
  serve: (hostname: string, port: number, tls: ServerTls) => Server<unknown>,
  log: (line: string) => void,
): BoundListener {
  if (files === undefined || files.selfSigned !== undefined || first.target.kind !== "tcp")
    return first;
  const { hostname } = first.target;
  return rotating(first, { files, log, rebind: (tls, port) => serve(hostname, port, tls) });
}

function httpsOptions(files: TlsFiles | undefined, raw: string) {
  // Config refuses an https listen URL without a certificate and key.
  assert(files !== undefined, `no TLS files for ${raw}`);
  return serverTls(files);
}
