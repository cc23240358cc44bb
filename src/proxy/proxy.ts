/**
 * The proxy role (`--proxy on|readonly`): a stateless forwarder beside a service. It finds the
 * cluster from `<data-dir>/proxy/cluster` (or, the first time, `--discovery` or
 * `--initial-cluster`), keeps the members' client URLs fresh from their peer ports, and forwards
 * every client request. It never joins Raft and writes nothing but its cluster file.
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import type { Config } from "../config/config.ts";
import { parseInitialCluster } from "../config/values.ts";
import { dashboardHandler } from "../dashboard/routes.ts";
import { DiscoveryError, getCluster } from "../discovery/discovery.ts";
import { srvCluster } from "../discovery/srv.ts";
import { corsPolicy } from "../http/cors.ts";
import { hostCheck } from "../http/host-whitelist.ts";
import { type RawTarget, rawTargetRouting } from "../http/raw-target.ts";
import { type BoundListener, bindOne } from "../net/listen.ts";
import { clientTls, serverTls, TlsFileError, type TlsFiles } from "../net/tls.ts";
import { rotating, type ServerTls } from "../net/tls-rotation.ts";
import { AssertionError, assert } from "../util/assert.ts";
import { waitsForChange } from "../util/go-bool.ts";
import { processLog } from "../util/log-outputs.ts";
import { clusterFilePath, readClusterFile } from "./cluster-file.ts";
import { type FetchCluster, fetchClusterOverHttp } from "./cluster-source.ts";
import { proxyDashboardSource } from "./dashboard-source.ts";
import { dialCheck } from "./dial.ts";
import { Endpoints } from "./endpoints.ts";
import { proxyMetrics } from "./metrics.ts";
import { proxyApp } from "./proxy-app.ts";
import { Refresher } from "./refresher.ts";

type Log = (line: string) => void;

export interface ProxySettings {
  readonly dataDir: string;
  readonly listenClientUrls: readonly string[];
  /** Peer URLs from `--initial-cluster`, used when there is no cluster file yet. */
  readonly initialPeerUrls: readonly string[];
  /** `--discovery`: where the peer URLs come from instead, when there is no cluster file yet. */
  readonly discovery?: { readonly url: string; readonly proxy: string };
  /**
   * `--cert-file`, `--key-file`, `--trusted-ca-file`, `--client-cert-auth`: for `https://`
   * listen URLs, and (as etcd's proxy) toward `https://` members.
   */
  readonly clientTls?: TlsFiles;
  /** `--peer-*` TLS files: toward `https://` peer URLs when reading the member list. */
  readonly peerTls?: TlsFiles;
  /** `--discovery-srv`: the peer URLs from DNS SRV records instead. */
  readonly discoverySrv?: { readonly domain: string; readonly serviceName: string };
  readonly readonly: boolean;
  readonly cors: readonly string[];
  /** `--host-whitelist` for plain-HTTP listeners (`*`: any host). */
  readonly hostWhitelist: readonly string[];
  readonly failureWaitMs: number;
  readonly refreshIntervalMs: number;
  readonly dialTimeoutMs: number;
  readonly readTimeoutMs: number;
  /** Serve the web dashboard at `/dashboard` (absent: served). */
  readonly dashboard?: boolean;
}

export interface RunningProxy {
  /** Bound client URLs (port 0 resolved). */
  readonly clientUrls: string[];
  stop(): Promise<void>;
}

const monotonic = () => performance.now();

export function proxySettingsOf(config: Config): ProxySettings {
  return {
    dataDir: config.dataDir,
    listenClientUrls: config.listenClientUrls.map((u) => u.href.replace(/\/$/, "")),
    initialPeerUrls: [...config.initialCluster.values()].flat().sort(),
    readonly: config.proxy === "readonly",
    cors: config.cors,
    hostWhitelist: config.hostWhitelist,
    failureWaitMs: config.proxyFailureWaitMs,
    refreshIntervalMs: config.proxyRefreshIntervalMs,
    dialTimeoutMs: config.proxyDialTimeoutMs,
    readTimeoutMs: config.proxyReadTimeoutMs,
    dashboard: config.dashboard,
    ...(config.clientTls.certFile !== "" ||
    config.clientTls.trustedCaFile !== "" ||
    config.clientTls.auto
      ? { clientTls: config.clientTls }
      : {}),
    ...(config.peerTls.certFile !== "" || config.peerTls.trustedCaFile !== "" || config.peerTls.auto
      ? { peerTls: config.peerTls }
      : {}),
    ...(config.discovery !== ""
      ? { discovery: { url: config.discovery, proxy: config.discoveryProxy } }
      : {}),
    ...(config.discoverySrv !== ""
      ? { discoverySrv: { domain: config.discoverySrv, serviceName: config.discoverySrvName } }
      : {}),
  };
}

/** Binds the client listeners first (nothing on disk yet), then finds the cluster and serves. */
export async function startProxy(
  s: ProxySettings,
  log: Log,
  fetchCluster: FetchCluster = fetchClusterOverHttp(
    Math.max(s.dialTimeoutMs, 1000) + 1000,
    s.peerTls === undefined ? undefined : clientTls(s.peerTls),
  ),
): Promise<RunningProxy> {
  const endpoints = new Endpoints(s.failureWaitMs, { now: monotonic });
  // As etcd's proxy: members are dialled with the client TLS files, or with the peer ones when
  // no client certificate is given (a 2.x proxy was configured with --peer-* files only).
  const hasClientCert =
    s.clientTls !== undefined && (s.clientTls.certFile !== "" || s.clientTls.keyFile !== "");
  const dialTls = hasClientCert ? s.clientTls : (s.peerTls ?? s.clientTls);
  const upstreamTls = dialTls === undefined ? undefined : clientTls(dialTls);
  const handler = proxyApp({
    endpoints,
    reachable: dialCheck(s.dialTimeoutMs, monotonic),
    readTimeoutMs: s.readTimeoutMs,
    ...(upstreamTls === undefined ? {} : { upstreamTls }),
    ...(s.dashboard !== false
      ? { dashboard: dashboardHandler(proxyDashboardSource(endpoints, upstreamTls)) }
      : {}),
    readonly: s.readonly,
    cors: corsPolicy(s.cors),
    metrics: proxyMetrics(),
    log: (line) => log(`proxy: ${line}`),
  });
  const listeners = await bindClients(s.listenClientUrls, handler, log, {
    tlsFiles: s.clientTls,
    hostWhitelist: s.hostWhitelist,
  });
  const proxyDir = join(s.dataDir, "proxy");
  let refresher: Refresher;
  try {
    mkdirSync(proxyDir, { recursive: true, mode: 0o700 });
    const file = clusterFilePath(proxyDir);
    const saved = readClusterFile(file);
    let peerUrls = saved;
    if (saved !== undefined) {
      if (s.discovery !== undefined || s.discoverySrv !== undefined) {
        log("proxy: discovery or bootstrap flags are set, but the cluster file is used");
      }
      log(`proxy: using peer urls [${saved.join(" ")}] from cluster file ${file}`);
    } else {
      peerUrls = await initialPeerUrls(s, log);
      log(`proxy: using peer urls [${peerUrls.join(" ")}]`);
    }
    refresher = new Refresher({
      file,
      peerUrls: peerUrls ?? [],
      endpoints,
      fetchCluster,
      refreshIntervalMs: s.refreshIntervalMs,
      log,
    });
  } catch (error) {
    await Promise.all(listeners.map((l) => l.stop(true)));
    throw error;
  }
  refresher.start();
  for (const l of listeners) log(`proxy: listening for client requests on ${l.url}`);
  return {
    clientUrls: listeners.map((l) => l.url),
    stop: async () => {
      refresher.stop();
      await Promise.all(listeners.map((l) => l.stop(true)));
    },
  };
}

/**
 * The peer URLs to start from without a cluster file: the cluster a discovery token bootstrapped
 * (waiting until it is complete), the SRV records' peers, or `--initial-cluster`'s.
 */
async function initialPeerUrls(s: ProxySettings, log: Log): Promise<string[]> {
  let text: string;
  if (s.discovery !== undefined) text = await getCluster({ ...s.discovery, log });
  else if (s.discoverySrv !== undefined) {
    text = await srvCluster({ ...s.discoverySrv, name: "", advertisePeerUrls: [] });
  } else return [...s.initialPeerUrls];
  const parsed = parseInitialCluster(text);
  if (!parsed.ok) throw new DiscoveryError("invalidUrl");
  return [...parsed.value.values()].flat().sort();
}

type Handler = ReturnType<typeof proxyApp>;

function httpsOptions(files: TlsFiles | undefined, raw: string) {
  // Config refuses an https listen URL without a certificate and key (or auto TLS).
  assert(files !== undefined, `no TLS files for ${raw}`);
  // A proxy makes no certificate of its own (etcd's neither): auto TLS only skips verifying
  // the members' certificates.
  if (files.certFile === "" || files.keyFile === "")
    throw new TlsFileError(
      `TLS key/cert (--cert-file, --key-file) must be provided for client url ${raw} with HTTPS scheme`,
    );
  // A member checks it through a TLS gate (member/listeners.ts); a proxy does not have one yet.
  if ((files.allowedHostname ?? "") !== "")
    throw new TlsFileError("--client-cert-allowed-hostname is not supported for a proxy yet");
  return serverTls(files);
}

async function bindClients(
  urls: readonly string[],
  handler: Handler,
  log: Log,
  options: { readonly tlsFiles: TlsFiles | undefined; readonly hostWhitelist: readonly string[] },
) {
  const tlsFiles = options.tlsFiles;
  const bound: BoundListener[] = [];
  // A broken invariant ends the process; anything else unexpected is a logged 500, as Go's
  // net/http recovers a handler's panic.
  const error = (e: Error) => {
    if (e instanceof AssertionError) endProxy(e, true);
    log(`proxy: handler error: ${e.stack ?? e.message}`);
    return new Response("Internal Server Error\n", { status: 500 });
  };
  // A watch may wait long: Bun's idle timeout would cut it. Other requests end within the
  // members' request timeout, and the call costs (a fifth of a proxied GET, measured).
  const routing = rawTargetRouting((request: Request, server: Server<unknown>, raw?: RawTarget) => {
    if (waitsForChange(request.url)) server.timeout(request, 0);
    return handler(request, server, raw);
  });
  // Plain-HTTP listeners answer a Host outside --host-whitelist before anything else.
  const check = hostCheck(options.hostWhitelist);
  const plainRouting =
    check === undefined
      ? routing
      : rawTargetRouting((request: Request, server: Server<unknown>, raw?: RawTarget) => {
          const refused = check(request);
          if (refused !== undefined) return refused;
          if (waitsForChange(request.url)) server.timeout(request, 0);
          return handler(request, server, raw);
        });
  try {
    for (const raw of urls) {
      const https = raw.startsWith("https:") || raw.startsWith("unixs:");
      // TLS listeners share their port so a certificate rotation can take it over.
      const tcp = (hostname: string, port: number, tls: ServerTls | undefined) =>
        Bun.serve({
          ...(tls === undefined ? plainRouting : routing),
          ...(tls === undefined ? {} : { tls, reusePort: true }),
          error,
          hostname,
          port,
        }) as Server<unknown>;
      // Read before binding: an unreadable file is its own error, not a bind error.
      const tls = https ? httpsOptions(tlsFiles, raw) : undefined;
      const first = await bindOne(
        raw,
        (t) =>
          t.kind === "unix"
            ? Bun.serve({
                ...(tls ? routing : plainRouting),
                ...(tls && { tls }),
                error,
                unix: t.path,
              })
            : tcp(t.hostname, t.port, tls),
        { shared: https },
      );
      const target = first.target;
      bound.push(
        https && tlsFiles !== undefined && target.kind === "tcp"
          ? rotating(first, {
              files: tlsFiles,
              log: (line) => log(`proxy: ${line}`),
              rebind: (tls, port) => tcp(target.hostname, port, tls),
            })
          : first,
      );
    }
  } catch (e) {
    for (const l of bound) void l.stop(true);
    throw e;
  }
  return bound;
}

/** How long a signalled proxy may take to stop before it exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 5000;

/** The proxy's one way to end on an unexpected error: one fatal line, exit 1. */
function endProxy(error: unknown, stack: boolean): never {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`etcd-bun: fatal: ${message}`);
  if (stack && error instanceof Error) console.error(error.stack);
  process.exit(1);
}

/** Runs the proxy role until SIGINT/SIGTERM (exit 0); one line and exit 1 if it cannot start. */
export async function runProxy(config: Config): Promise<void> {
  const log: Log = processLog(config);
  const fail = (error: unknown) => endProxy(error, config.debug);
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
  let proxy: RunningProxy;
  try {
    proxy = await startProxy(proxySettingsOf(config), log);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`etcd-bun: cannot start proxy: ${message}`);
    process.exit(1);
  }
  const shutdown = async (signal: string) => {
    log(`received ${signal}, shutting down`);
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
    await proxy.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}
