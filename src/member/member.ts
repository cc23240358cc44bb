/**
 * The member role: opens the data dir, starts the Raft loop, publishes this member's name and
 * client URLs through Raft, and serves the client and peer listeners until stopped.
 */

import type { Config } from "../config/config.ts";
import { clusterIdFor, initialMembers } from "../config/ids.ts";
import { tuning } from "../config/tuning.ts";
import { formatUrl } from "../config/values.ts";
import { dashboardHandler } from "../dashboard/routes.ts";
import { DiscoveryError } from "../discovery/discovery.ts";
import { clientApp, withClientLayers } from "../http/client-app.ts";
import { corsPolicy } from "../http/cors.ts";
import type { MemberApi } from "../http/member-api.ts";
import { CLUSTER_VERSION, handleHealth } from "../http/misc-handlers.ts";
import { peerFetch } from "../http/peer-app.ts";
import { notFound } from "../http/responses.ts";
import { clientTls, type FetchTls } from "../net/tls.ts";
import { BootstrapError, openMember } from "../server/bootstrap.ts";
import { EtcdServer } from "../server/etcd-server.ts";
import {
  clusterVersionPath,
  listMembers,
  type MemberInfo,
  membersDir,
} from "../server/membership.ts";
import type { MemberSettings } from "../server/settings.ts";
import { EtcdError } from "../store/errors.ts";
import type { TransportObserver } from "../transport/observer.ts";
import { Transport } from "../transport/transport.ts";
import { AssertionError } from "../util/assert.ts";
import type { LogLevel } from "../util/log.ts";
import { processLogger } from "../util/log-outputs.ts";
import { requestUrl } from "../util/request-url.ts";
import { withAutoTls } from "./auto-tls.ts";
import { memberDashboardSource } from "./dashboard-source.ts";
import { type HeldLock, lockDir } from "./data-dir-lock.ts";
import { bootstrapCluster } from "./discover.ts";
import { fatal, installFatalHandlers, setFatalMemberId } from "./fatal.ts";
import { bindListeners, type MemberListeners } from "./listeners.ts";
import { memberApiOf } from "./member-api.ts";
import { type MemberMetrics, memberMetrics } from "./metrics.ts";
import { realDisk } from "./real-disk.ts";
import { fetchMembersOverHttp } from "./real-peers.ts";
import { realTime } from "./real-time.ts";

export interface RunningMember {
  readonly server: EtcdServer;
  /** Bound client URLs (ports resolved when a listen URL asked for port 0). */
  readonly clientUrls: string[];
  readonly peerUrls: string[];
  stop(): Promise<void>;
}

type Log = (line: string) => void;
/**
 * Idle client connections are closed after this long (slowloris protection); watches lift it
 * for their own request. ETCDBUN_CLIENT_IDLE_TIMEOUT_S lowers it for tests.
 */
const CLIENT_IDLE_TIMEOUT_S = tuning().clientIdleTimeoutS;
/** How long a removed member keeps its listeners open so pending responses are delivered. */
const REMOVED_EXIT_DELAY_MS = 300;
const defaultLog: Log = (line) => console.error(`etcd-bun: ${line}`);

/**
 * Starts a member: binds every listener (nothing on disk yet, so a taken port changes nothing),
 * locks the data dir (and a dedicated WAL dir), opens or creates the member's state, serves
 * peers, publishes this member's attributes through Raft, then serves clients.
 */
export async function startMember(
  given: MemberSettings,
  log: Log = defaultLog,
  /** The process logger's level control, for `PUT /config/local/log`. */
  setLogLevel?: (level: LogLevel) => void,
  /** Told of the server as soon as it runs, before the start completes (to stop it early). */
  serverRunning?: (server: EtcdServer) => void,
): Promise<RunningMember> {
  const { settings, saveCertificates } = await withAutoTls(given, log);
  const listeners = await bindListeners({
    listenClientUrls: settings.listenClientUrls,
    listenPeerUrls: settings.listenPeerUrls,
    listenMetricsUrls: settings.listenMetricsUrls ?? [],
    clientIdleTimeoutS: CLIENT_IDLE_TIMEOUT_S,
    hostWhitelist: settings.hostWhitelist ?? ["*"],
    log,
    ...(settings.clientTls === undefined ? {} : { clientTls: settings.clientTls }),
    ...(settings.peerTls === undefined ? {} : { peerTls: settings.peerTls }),
  });
  const locks: HeldLock[] = [];
  const unlock = () => {
    for (const l of locks) l.release();
  };
  // A new WAL is made in a temporary dir renamed into place, which replaces an empty dedicated
  // WAL dir: that one is locked again once open.
  const lockWalDir = () => {
    if (settings.walDir === "") return;
    const held = locks.find((l) => l.dir === settings.walDir);
    if (held?.covers()) return;
    held?.release();
    locks.push(lockDir(settings.walDir, "wal dir"));
  };
  try {
    locks.push(lockDir(settings.dataDir, "data dir"));
    lockWalDir();
    saveCertificates();
    return await startOn(
      listeners,
      settings,
      log,
      { unlock, lockWalDir },
      setLogLevel,
      serverRunning,
    );
  } catch (error) {
    await listeners.stop(true);
    unlock();
    throw error;
  }
}

/** An fdatasync slower than this is logged as a warning (etcd's `warnSyncDuration`). */
const SLOW_SYNC_S = 1;

/** How long in-flight requests get to finish once a member stops accepting new ones. */
const DRAIN_MS = 200;

async function startOn(
  listeners: MemberListeners,
  settings: MemberSettings,
  log: Log,
  dirs: { unlock: () => void; lockWalDir: () => void },
  setLogLevel: ((level: LogLevel) => void) | undefined,
  serverRunning: ((server: EtcdServer) => void) | undefined,
): Promise<RunningMember> {
  const startedMs = performance.now();
  const metrics = memberMetrics();
  const disk = realDisk(settings, {
    onWrite: metrics.walWritten,
    onSync: (seconds) => {
      metrics.walSynced(seconds);
      // etcd's warning for a disk too slow for Raft's heartbeats.
      if (seconds > SLOW_SYNC_S)
        log(`warning: wal: sync duration of ${seconds.toFixed(3)}s, expected less than 1s`);
    },
    onSnapshotSaved: metrics.snapshotSaved,
  });
  if (!disk.logExists()) settings = await bootstrapCluster(settings, log);
  const peerTls = settings.peerTls === undefined ? undefined : clientTls(settings.peerTls);
  const opened = await openMember(settings, disk, fetchMembersOverHttp(peerTls));
  setFatalMemberId(opened.memberId);
  dirs.lockWalDir();
  const server = new EtcdServer(opened, {
    memberId: opened.memberId,
    clusterId: opened.clusterId,
    name: settings.name,
    heartbeatMs: settings.heartbeatMs,
    electionMs: settings.electionMs,
    snapshotCount: settings.snapshotCount,
    snapshotCatchUpEntries: tuning().snapshotCatchUpEntries,
    maxSnapshots: settings.maxSnapshots,
    maxWals: settings.maxWals,
    strictReconfigCheck: settings.strictReconfigCheck,
    // etcd fast-forwards a fresh one-member start whatever the flag says (measured, 3.4.23).
    electionTickAdvance: settings.initialElectionTickAdvance !== false || !opened.restarted,
    log,
    time: realTime,
    onRemoved: () => {
      log("this member has been permanently removed from the cluster. Exiting.");
      // A moment for in-flight responses (such as the DELETE that removed it) to go out.
      setTimeout(() => process.exit(0), REMOVED_EXIT_DELAY_MS);
    },
  });
  await server.replayCommitted();
  checkIdentity(server, settings);
  metrics.attach(server);
  server.start(fatal);
  serverRunning?.(server);
  const replayed = Math.max(0, opened.hardState.commit - opened.appliedIndex);
  const restart = opened.restarted
    ? `; snapshot at index ${opened.appliedIndex}, WAL to index ${opened.storage.lastIndex()}, ${replayed} committed entries replayed`
    : "";
  log(
    `member ${server.memberId} of cluster ${server.clusterId} (${opened.restarted ? "restarted" : "new"}): data dir ${settings.dataDir}${restart}, ready in ${Math.round(performance.now() - startedMs)} ms`,
  );
  // Like etcd, serve clients only once this member's attributes are published, so the first
  // client request already sees the member in /v2/members.
  const transport = servePeers(listeners, server, settings, log, opened, {
    peerTls,
    observer: metrics.transport,
  });
  await publishAttributes(server, settings, log);
  serveClients(listeners, server, settings, log, metrics, setLogLevel);
  listeners.serveMetrics(metricsApp(metrics, memberApiOf(server, log)));
  let stopping: Promise<void> | undefined;
  return {
    server,
    clientUrls: listeners.client.map((l) => l.url),
    peerUrls: listeners.peer.map((l) => l.url),
    stop() {
      stopping ??= (async () => {
        // Stop accepting; requests already in flight finish (or fail once the loop stops).
        const closed = listeners.stop(false);
        await server.stop();
        await Promise.race([closed, Bun.sleep(DRAIN_MS)]);
        await listeners.stop(true);
        await transport.stop();
        dirs.unlock();
      })();
      return stopping;
    },
  };
}

/** The client side: the v2 API, `/metrics` and (unless turned off) the dashboard. */
function serveClients(
  listeners: MemberListeners,
  server: EtcdServer,
  settings: MemberSettings,
  log: Log,
  metrics: MemberMetrics,
  setLogLevel: ((level: LogLevel) => void) | undefined,
): void {
  const cors = corsPolicy(settings.cors);
  const dashboard =
    settings.dashboard === false
      ? undefined
      : dashboardHandler(memberDashboardSource(server, metrics.walSyncs, dashboardTls(settings)));
  listeners.serveClients(
    withClientLayers(
      cors,
      clientApp({
        server: memberApiOf(server, log),
        cors,
        metrics: {
          keys: metrics.keys,
          healthChecked: metrics.healthChecked,
          scrape: metrics.scrape,
        },
        ...(dashboard === undefined ? {} : { dashboard }),
        ...(setLogLevel === undefined ? {} : { setLogLevel }),
      }),
      (request, response) => {
        if (response.status >= 400)
          log(`debug: client request ${request.method} ${request.url} answered ${response.status}`);
      },
    ),
  );
}

/**
 * How the dashboard asks other members (https client URLs): this member's client certificate
 * and CA, as an etcd gateway would (self-signed auto TLS members are not verified).
 */
function dashboardTls(settings: MemberSettings): FetchTls | undefined {
  return settings.clientTls === undefined ? undefined : clientTls(settings.clientTls);
}

/** A `--listen-metrics-urls` listener: `/metrics` and `/health` only, as etcd's. */
function metricsApp(metrics: MemberMetrics, api: MemberApi) {
  return async (request: Request): Promise<Response> => {
    const path = requestUrl(request).pathname;
    if (path === "/health") return handleHealth(api, request, metrics.healthChecked);
    if (path !== "/metrics") return notFound();
    return metrics.scrape();
  };
}

/** The peer side: Raft streams and snapshots (transport), plus `/members` and `/version`. */
function servePeers(
  listeners: MemberListeners,
  server: EtcdServer,
  settings: MemberSettings,
  log: Log,
  opened: { readonly bootPeers: readonly MemberInfo[]; readonly restarted: boolean },
  dial: {
    /** The peer certificate and CA to dial other members with (https peer URLs). */
    readonly peerTls: FetchTls | undefined;
    readonly observer: TransportObserver;
  },
): Transport {
  const { peerTls } = dial;
  const freshStart = !opened.restarted;
  // A brand-new member whose peers belong to another cluster: almost always a member added
  // with `member add` but started with --initial-cluster-state new. Seen from either side of
  // a peer link (our dial refused, or their dial refused by us).
  const refuseForeignCluster = (status: number, reason: string) => {
    if (status !== 412 || reason !== "cluster ID mismatch" || !freshStart || server.leader !== "") {
      return;
    }
    log(
      `fatal: a peer belongs to a different cluster than ${server.clusterId}; if this member was added to an existing cluster, remove ${settings.dataDir} and start it with --initial-cluster-state existing`,
    );
    process.exit(1);
  };
  const transport = new Transport({
    ...(peerTls === undefined ? {} : { tls: peerTls }),
    observer: dial.observer,
    memberId: server.memberId,
    clusterId: server.clusterId,
    onMessages: (msgs) => server.receive(msgs),
    onUnreachable: (id) => server.reportUnreachable(id),
    onSnapshotStatus: (id, ok) => server.reportSnapshot(id, ok),
    onPeerRejected: (id, reason, status) => {
      if (status === 410) {
        log(`this member has been permanently removed from the cluster (peer ${id}). Exiting.`);
        process.exit(0);
      }
      log(`peer ${id} rejected this member (${status}): ${reason}`);
      refuseForeignCluster(status, reason);
    },
    onInboundRejected: refuseForeignCluster,
    log,
  });
  const raftRoutes = transport.upgradeHandler();
  const otherRoutes = peerFetch(memberApiOf(server, log));
  listeners.servePeers((request, srv) => {
    const path = requestUrl(request).pathname;
    if (path.startsWith(raftRoutes.path)) return raftRoutes.fetch(request, srv);
    return otherRoutes(request);
  }, raftRoutes.websocket);
  server.attachNetwork(transport, opened.bootPeers);
  return transport;
}

/** Refuses a data dir that belongs to a member with another name (a data dir mix-up). */
function checkIdentity(server: EtcdServer, settings: MemberSettings): void {
  const self = listMembers(server.store).find((m) => m.id === server.memberId);
  if (self === undefined || self.name === "" || self.name === settings.name) return;
  throw new BootstrapError(
    `data dir ${settings.dataDir} belongs to member "${self.name}" (${server.memberId}) of cluster ${server.clusterId}; refusing to start it as "${settings.name}" (use --name ${self.name} or another --data-dir)`,
  );
}

/** Publishes name and client URLs (and, as leader, the cluster version) until applied. */
async function publishAttributes(server: EtcdServer, settings: MemberSettings, log: Log) {
  const attributes = JSON.stringify({
    name: settings.name,
    clientURLs: settings.advertiseClientUrls,
  });
  const path = `${membersDir}/${server.memberId}/attributes`;
  for (;;) {
    if (server.stopped) return;
    try {
      const result = await server.proposeInternal(path, attributes);
      if (result.error === undefined) break;
    } catch (error) {
      if (!(error instanceof EtcdError)) throw error;
      if (server.stopped) return;
      log("publishing member attributes timed out; retrying");
    }
  }
  log(`published ${attributes} to cluster ${server.clusterId}`);
  if (server.state === "leader" && !server.hasKey(clusterVersionPath)) {
    // A timeout here is harmless: the next leader publishes the version.
    await server.proposeInternal(clusterVersionPath, CLUSTER_VERSION).catch((error: unknown) => {
      if (!(error instanceof EtcdError)) throw error;
    });
  }
}

/** Settings for the member role from the validated CLI configuration. */
export function settingsFromConfig(config: Config): MemberSettings {
  const members = initialMembers(config);
  const self = members.find((m) => m.name === config.name);
  return {
    name: config.name,
    dataDir: config.dataDir,
    walDir: config.dedicatedWalDir ? config.walDir : "",
    snapshotCount: config.snapshotCount,
    heartbeatMs: config.heartbeatIntervalMs,
    electionMs: config.electionTimeoutMs,
    maxSnapshots: config.maxSnapshots,
    maxWals: config.maxWals,
    initialClusterState: config.initialClusterState,
    initialMembers: members,
    memberId: self?.id ?? "",
    clusterId: members.length > 0 ? clusterIdFor(members.map((m) => m.id)) : "",
    forceNewCluster: config.forceNewCluster,
    listenClientUrls: config.listenClientUrls.map(formatUrl),
    listenMetricsUrls: config.listenMetricsUrls.map(formatUrl),
    dashboard: config.dashboard,
    ...(config.clientTls.certFile !== "" || config.clientTls.auto
      ? { clientTls: config.clientTls }
      : {}),
    ...(config.peerTls.certFile !== "" || config.peerTls.trustedCaFile !== "" || config.peerTls.auto
      ? { peerTls: config.peerTls }
      : {}),
    advertiseClientUrls: config.advertiseClientUrls.map(formatUrl),
    listenPeerUrls: config.listenPeerUrls.map(formatUrl),
    cors: config.cors,
    hostWhitelist: config.hostWhitelist,
    strictReconfigCheck: config.strictReconfigCheck,
    preVote: config.preVote,
    initialElectionTickAdvance: config.initialElectionTickAdvance,
    raftSeed: realTime.now(),
    advertisePeerUrls: config.initialAdvertisePeerUrls.map(formatUrl),
    ...(config.discovery !== ""
      ? { discovery: { url: config.discovery, proxy: config.discoveryProxy } }
      : {}),
    ...(config.discoverySrv !== ""
      ? {
          discoverySrv: {
            domain: config.discoverySrv,
            serviceName: config.discoverySrvName,
            token: config.initialClusterToken,
          },
        }
      : {}),
  };
}

/** How long a signalled member may take to stop cleanly before it exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Runs the member role until SIGINT/SIGTERM: then it stops accepting, lets in-flight requests
 * finish or fails them, syncs and closes the WAL, and exits 0. A member that cannot start
 * (port taken, data dir locked or unusable) exits 1 with one line.
 */
export async function runMember(config: Config): Promise<undefined | "proxy"> {
  let member: RunningMember | undefined;
  installFatalHandlers({
    dataDir: config.dataDir,
    name: config.name,
    log: defaultLog,
    debug: config.debug,
  });
  let shuttingDown = false;
  let starting: EtcdServer | undefined;
  const settings = settingsFromConfig(config);
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    defaultLog(`received ${signal}, shutting down`);
    setTimeout(() => {
      defaultLog(`could not stop within ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    if (member === undefined) {
      // A server waiting for its cluster (to publish its attributes) is stopped: its start
      // then ends, and the start path stops the rest (below).
      if (starting !== undefined) return void (await starting.stop());
      // Still bootstrapping (discovery, DNS, a join): nothing durable is written yet, so
      // there is nothing to stop cleanly; etcd exits at once too.
      if (!realDisk(settings).logExists()) {
        defaultLog("stopped before the member started");
        process.exit(0);
      }
      // Otherwise (a WAL being replayed) the start path stops the member once it is up.
      return;
    }
    await member.stop();
    process.exit(0);
  };
  // Installed before the start so a signal during a slow start (a long WAL replay) also stops
  // the member cleanly rather than killing it halfway.
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  try {
    // Every line the member logs is informational; warn and above keep only failures,
    // which are written directly (fatal, cannot start).
    const logger = processLogger(config);
    member = await startMember(settings, logger.info, logger.setLevel, (server) => {
      starting = server;
      if (shuttingDown) void server.stop();
    });
  } catch (error) {
    // A data dir that cannot be used (corrupt WAL or snapshot, wrong member, locked) or a
    // listener that cannot bind: one clear line, exit 1, nothing served.
    if (error instanceof AssertionError) fatal(error);
    if (error instanceof DiscoveryError) {
      if (error.kind === "fullCluster" && config.discoveryFallback === "proxy") {
        defaultLog("discovery cluster full, falling back to proxy");
        return "proxy";
      }
      for (const line of discoveryFailure(error, config)) console.error(`etcd-bun: ${line}`);
      process.exit(1);
    }
    const message = error instanceof Error ? error.message : String(error);
    console.error(`etcd-bun: cannot start member: ${message}`);
    if (config.debug && error instanceof Error) console.error(error.stack);
    process.exit(1);
  }
  if (shuttingDown) {
    await member.stop();
    process.exit(0);
  }
  return undefined;
}

/** etcd's words for a discovery that failed, with what to do about it. */
function discoveryFailure(error: DiscoveryError, config: Config): string[] {
  switch (error.kind) {
    case "duplicateId":
      return [
        `member "${config.name}" has previously registered with discovery service token (${config.discovery}).`,
        `But etcd could not find valid cluster configuration in the given data dir (${config.dataDir}).`,
        "Please check the given data dir path if the previous bootstrap succeeded",
        "or use a new discovery token if the previous bootstrap failed.",
      ];
    case "duplicateName":
      return [
        `member with duplicated name has registered with discovery service token(${config.discovery}).`,
        "please check (cURL) the discovery token for more information.",
        "please do not reuse the discovery token and generate a new one to bootstrap the cluster.",
      ];
    default:
      return [
        `failed to join discovery cluster (${error.message})`,
        `discovery token ${config.discovery} was used, but failed to bootstrap the cluster.`,
        "please generate a new discovery token and try to bootstrap again.",
      ];
  }
}
