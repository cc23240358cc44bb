/**
 * The member role: opens the data dir, starts the Raft loop, publishes this member's name and
 * client URLs through Raft, and serves the client and peer listeners until stopped.
 */
import type { Server } from "bun";
import type { Config } from "../config/config.ts";
import { clusterIdFor, initialMembers } from "../config/ids.ts";
import { formatUrl } from "../config/values.ts";
import { clientApp, withClientLayers } from "../http/client-app.ts";
import { corsPolicy } from "../http/cors.ts";
import { CLUSTER_VERSION } from "../http/misc-handlers.ts";
import { peerFetch } from "../http/peer-app.ts";
import { DEFAULT_LIMITS, type StreamSocketData, Transport } from "../transport/transport.ts";
import { WalError } from "../wal/errors.ts";
import { BootstrapError, openMember } from "./bootstrap.ts";
import { EtcdServer } from "./etcd-server.ts";
import { clusterVersionPath, listMembers, type MemberInfo, membersDir } from "./membership.ts";
import type { MemberSettings } from "./settings.ts";

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
const CLIENT_IDLE_TIMEOUT_S = Number(process.env.ETCDBUN_CLIENT_IDLE_TIMEOUT_S ?? 120);
/** How long a removed member keeps its listeners open so pending responses are delivered. */
const REMOVED_EXIT_DELAY_MS = 300;
const defaultLog: Log = (line) => console.error(`etcd-bun: ${line}`);

export async function startMember(
  settings: MemberSettings,
  log: Log = defaultLog,
): Promise<RunningMember> {
  const opened = await openMember(settings);
  const server = new EtcdServer(opened, {
    memberId: opened.memberId,
    clusterId: opened.clusterId,
    name: settings.name,
    heartbeatMs: settings.heartbeatMs,
    electionMs: settings.electionMs,
    snapshotCount: settings.snapshotCount,
    maxSnapshots: settings.maxSnapshots,
    maxWals: settings.maxWals,
    strictReconfigCheck: settings.strictReconfigCheck,
    log,
    onRemoved: () => {
      log("this member has been permanently removed from the cluster. Exiting.");
      // A moment for in-flight responses (such as the DELETE that removed it) to go out.
      setTimeout(() => process.exit(0), REMOVED_EXIT_DELAY_MS);
    },
  });
  await server.replayCommitted();
  checkIdentity(server, settings);
  let fatalSeen = false;
  server.start((error) => {
    if (fatalSeen) return;
    fatalSeen = true;
    log(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  });
  log(
    `member ${server.memberId} of cluster ${server.clusterId} (${opened.restarted ? "restarted" : "new"})`,
  );
  // Like etcd, serve clients only once this member's attributes are published, so the first
  // client request already sees the member in /v2/members.
  const peer = listenPeers(server, settings, log, opened.bootPeers, !opened.restarted);
  await publishAttributes(server, settings, log);
  const listeners = { client: listenClients(server, settings), peer: peer.servers };
  return {
    server,
    clientUrls: listeners.client.map((s) => urlOf(s)),
    peerUrls: listeners.peer.map((s) => urlOf(s)),
    async stop() {
      for (const s of [...listeners.client, ...listeners.peer]) s.stop(true);
      await peer.transport.stop();
      await server.stop();
    },
  };
}

function urlOf(s: Server<unknown>): string {
  return `http://${s.hostname}:${s.port}`;
}

function listenClients(server: EtcdServer, settings: MemberSettings) {
  const cors = corsPolicy(settings.cors);
  const fetch = withClientLayers(cors, clientApp({ server, cors }));
  return settings.listenClientUrls.map((raw) => {
    const url = new URL(raw);
    return Bun.serve({
      hostname: url.hostname,
      port: Number(url.port),
      fetch,
      idleTimeout: CLIENT_IDLE_TIMEOUT_S,
    });
  });
}

/** The peer side: Raft streams and snapshots (transport), plus `/members` and `/version`. */
function listenPeers(
  server: EtcdServer,
  settings: MemberSettings,
  log: Log,
  bootPeers: readonly MemberInfo[],
  freshStart: boolean,
) {
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
  const otherRoutes = peerFetch(server);
  const servers = settings.listenPeerUrls.map((raw) => {
    const url = new URL(raw);
    return Bun.serve<StreamSocketData>({
      hostname: url.hostname,
      port: Number(url.port),
      maxRequestBodySize: DEFAULT_LIMITS.snapshotBytesMax,
      websocket: raftRoutes.websocket,
      fetch: (request, srv) => {
        const path = new URL(request.url).pathname;
        if (path.startsWith(raftRoutes.path)) return raftRoutes.fetch(request, srv);
        return otherRoutes(request);
      },
    });
  });
  server.attachNetwork(transport, bootPeers);
  return { servers, transport };
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
    } catch {
      log("publishing member attributes timed out; retrying");
    }
  }
  log(`published ${attributes} to cluster ${server.clusterId}`);
  if (server.state === "leader" && !server.hasKey(clusterVersionPath)) {
    await server.proposeInternal(clusterVersionPath, CLUSTER_VERSION).catch(() => undefined);
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
    advertiseClientUrls: config.advertiseClientUrls.map(formatUrl),
    listenPeerUrls: config.listenPeerUrls.map(formatUrl),
    cors: config.cors,
    strictReconfigCheck: config.strictReconfigCheck,
    advertisePeerUrls: config.initialAdvertisePeerUrls.map(formatUrl),
  };
}

/** Runs the member role until SIGINT/SIGTERM; a data dir that cannot be used exits 1. */
export async function runMember(config: Config): Promise<void> {
  let member: RunningMember;
  try {
    member = await startMember(settingsFromConfig(config));
  } catch (error) {
    // A data dir that cannot be used (corrupt WAL or snapshot, wrong member) or a listener
    // that cannot bind: one clear line, exit 1, nothing served.
    const known = error instanceof BootstrapError || error instanceof WalError;
    const message = error instanceof Error ? error.message : String(error);
    console.error(`etcd-bun: cannot start member: ${message}`);
    if (!known && config.debug && error instanceof Error) console.error(error.stack);
    process.exit(1);
  }
  const shutdown = async (signal: string) => {
    defaultLog(`received ${signal}, shutting down`);
    await member.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}
