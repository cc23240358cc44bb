/**
 * A member's Prometheus metrics with etcd 3.4's names, types, labels and buckets wherever the
 * concept exists here, through prom-client (the Prometheus text format, the process_* and
 * runtime metrics). Figures the server already keeps are read at each scrape; events are fed
 * as they happen: WAL fdatasyncs, peer frames and round trips, v2 keys requests.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { KeysMetrics } from "../http/member-api.ts";
import { CLUSTER_VERSION, SERVER_VERSION } from "../http/misc-handlers.ts";
import type { EtcdServer, ServerFigures } from "../server/etcd-server.ts";
import type { StoreStats } from "../store/stats.ts";
import type { TransportObserver } from "../transport/observer.ts";
import { exponentialBuckets } from "../util/buckets.ts";
import { exposition } from "../util/exposition.ts";

/** WAL fdatasyncs so far, and the seconds they took in all (the dashboard charts their rate). */
export interface SyncTotals {
  readonly count: number;
  readonly seconds: number;
}

export interface MemberMetrics {
  readonly walSynced: (seconds: number) => void;
  readonly walWritten: (bytes: number) => void;
  /** A `/health` check's outcome. */
  readonly healthChecked: (healthy: boolean) => void;
  walSyncs(): SyncTotals;
  /** A snapshot became durable (etcd's backend commit: its v3 store's commit to disk). */
  readonly snapshotSaved: (seconds: number) => void;
  readonly transport: TransportObserver;
  readonly keys: KeysMetrics;
  /** Reads the server's figures at each scrape from now on. */
  attach(server: EtcdServer): void;
  /** `/metrics`: the exposition text. */
  scrape(): Promise<Response>;
}

/** etcd's v2 store counters by action, from the store's success/fail pairs. */
const STORE_READS: Record<string, readonly (keyof StoreStats)[]> = {
  get: ["getsSuccess", "getsFail"],
};
export const STORE_WRITES: Record<string, readonly (keyof StoreStats)[]> = {
  set: ["setsSuccess", "setsFail"],
  update: ["updateSuccess", "updateFail"],
  create: ["createSuccess", "createFail"],
  compareAndSwap: ["compareAndSwapSuccess", "compareAndSwapFail"],
  delete: ["deleteSuccess", "deleteFail"],
  compareAndDelete: ["compareAndDeleteSuccess", "compareAndDeleteFail"],
};

export function memberMetrics(): MemberMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let server: EtcdServer | undefined;

  serverMetrics(registers, () => server);
  storeMetrics(registers, () => server?.store.stats);
  figureCounter(
    registers,
    "etcd_debugging_store_watch_requests_total",
    "Total number of incoming watch requests (new or reestablished).",
    () => server?.store.watchRequests ?? 0,
  );
  const walFsync = new Histogram({
    name: "etcd_disk_wal_fsync_duration_seconds",
    help: "The latency distributions of fsync called by WAL.",
    buckets: exponentialBuckets(0.001, 2, 14),
    registers,
  });
  const snapshotCommit = new Histogram({
    name: "etcd_disk_backend_commit_duration_seconds",
    help: "The latency distributions of commit called by backend.",
    buckets: exponentialBuckets(0.001, 2, 14),
    registers,
  });
  const snapshotSave = new Histogram({
    name: "etcd_debugging_snap_save_total_duration_seconds",
    help: "The total latency distributions of save called by snapshot.",
    buckets: exponentialBuckets(0.001, 2, 14),
    registers,
  });
  // A gauge in etcd 3.4 despite its name.
  const walWriteBytes = new Gauge({
    name: "etcd_disk_wal_write_bytes_total",
    help: "Total number of bytes written in WAL.",
    registers,
  });
  const health = {
    success: new Counter({
      name: "etcd_server_health_success",
      help: "The total number of successful health checks",
      registers,
    }),
    failures: new Counter({
      name: "etcd_server_health_failures",
      help: "The total number of failed health checks",
      registers,
    }),
  };
  const transport = peerMetrics(registers, () => server?.peerStats());
  new Gauge({
    name: "etcd_network_active_peers",
    help: "The current number of active peer connections.",
    labelNames: ["Local", "Remote"],
    registers,
    collect() {
      this.reset();
      const local = server?.memberId ?? "";
      for (const [remote, s] of Object.entries(server?.peerStats() ?? {}))
        if (s.active === true) this.set({ Local: local, Remote: remote }, 1);
    },
  });
  const keys = keysMetrics(registers);
  const syncs = { count: 0, seconds: 0 };
  return {
    walSynced: (seconds) => {
      walFsync.observe(seconds);
      syncs.count++;
      syncs.seconds += seconds;
    },
    walWritten: (bytes) => walWriteBytes.inc(bytes),
    healthChecked: (healthy) => (healthy ? health.success : health.failures).inc(),
    walSyncs: () => ({ ...syncs }),
    snapshotSaved: (seconds) => {
      snapshotCommit.observe(seconds);
      snapshotSave.observe(seconds);
    },
    transport,
    keys,
    attach: (s) => {
      server = s;
    },
    scrape: () => exposition(registry),
  };
}

/** The server's figures etcd exports, by name: [type, help, the figure]. */
const SERVER_FIGURES: readonly (readonly [
  string,
  "counter" | "gauge",
  string,
  (f: ServerFigures) => number,
])[] = [
  [
    "etcd_server_leader_changes_seen_total",
    "counter",
    "The number of leader changes seen.",
    (f) => f.leaderChanges,
  ],
  [
    "etcd_server_slow_apply_total",
    "counter",
    "The total number of slow apply requests (likely overloaded from slow disk).",
    (f) => f.slowApplies,
  ],
  [
    "etcd_server_heartbeat_send_failures_total",
    "counter",
    "The total number of leader heartbeat send failures (likely overloaded from slow disk).",
    (f) => f.lateHeartbeats,
  ],
  [
    "etcd_server_read_indexes_failed_total",
    "counter",
    "The total number of failed read indexes seen.",
    (f) => f.failedReadIndexes,
  ],
  // Gauges in etcd 3.4, despite the names.
  [
    "etcd_server_proposals_committed_total",
    "gauge",
    "The total number of consensus proposals committed.",
    (f) => f.commitIndex,
  ],
  [
    "etcd_server_proposals_applied_total",
    "gauge",
    "The total number of consensus proposals applied.",
    (f) => f.appliedIndex,
  ],
  [
    "etcd_server_proposals_pending",
    "gauge",
    "The current number of pending proposals to commit.",
    (f) => f.pendingProposals,
  ],
  [
    "etcd_server_proposals_failed_total",
    "counter",
    "The total number of failed proposals seen.",
    (f) => f.failedProposals,
  ],
];

/** etcd_server_*: leadership, versions and proposals, read from the server at each scrape. */
function serverMetrics(registers: Registry[], current: () => EtcdServer | undefined): void {
  figureGauge(
    registers,
    "etcd_server_has_leader",
    "Whether or not a leader exists. 1 is existence, 0 is not.",
    () => ((current()?.leader ?? "") !== "" ? 1 : 0),
  );
  figureGauge(
    registers,
    "etcd_server_is_leader",
    "Whether or not this member is a leader. 1 if is, 0 otherwise.",
    () => (current()?.state === "leader" ? 1 : 0),
  );
  versionGauge(registers, "etcd_server_version", "server_version", SERVER_VERSION);
  versionGauge(
    registers,
    "etcd_cluster_version",
    "cluster_version",
    CLUSTER_VERSION.split(".").slice(0, 2).join("."),
  );
  new Gauge({
    name: "etcd_server_id",
    help: "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
    labelNames: ["server_id"],
    registers,
    collect() {
      this.reset();
      const id = current()?.memberId;
      if (id !== undefined) this.set({ server_id: id }, 1);
    },
  });
  for (const [name, type, help, pick] of SERVER_FIGURES) {
    const read = () => {
      const server = current();
      return server === undefined ? 0 : pick(server.figures());
    };
    if (type === "counter") figureCounter(registers, name, help, read);
    else figureGauge(registers, name, help, read);
  }
}

/** etcd's version gauges: 1, with the version as a label. */
function versionGauge(registers: Registry[], name: string, label: string, version: string): void {
  const gauge = new Gauge({
    name,
    help: `Which version is running. 1 for '${label}' label with current version.`,
    labelNames: [label],
    registers,
  });
  gauge.set({ [label]: version }, 1);
}

function storeMetrics(registers: Registry[], stats: () => StoreStats | undefined): void {
  const byAction = (
    counter: Counter<"action">,
    table: Record<string, readonly (keyof StoreStats)[]>,
  ) => {
    counter.reset();
    const s = stats();
    if (s === undefined) return;
    for (const [action, keys] of Object.entries(table))
      counter.inc(
        { action },
        keys.reduce((n, k) => n + (s[k] ?? 0), 0),
      );
  };
  new Counter({
    name: "etcd_debugging_store_reads_total",
    help: "Total number of reads action by (get/getRecursive), local to this member.",
    labelNames: ["action"],
    registers,
    collect() {
      byAction(this, STORE_READS);
    },
  });
  new Counter({
    name: "etcd_debugging_store_writes_total",
    help: "Total number of writes (e.g. set/compareAndDelete) seen by this member.",
    labelNames: ["action"],
    registers,
    collect() {
      byAction(this, STORE_WRITES);
    },
  });
  figureCounter(
    registers,
    "etcd_debugging_store_expires_total",
    "Total number of expired keys.",
    () => stats()?.expireCount ?? 0,
  );
  figureGauge(
    registers,
    "etcd_debugging_store_watchers",
    "Count of currently active watchers.",
    () => stats()?.watchers ?? 0,
  );
}

function peerMetrics(
  registers: Registry[],
  peerStats: () => Record<string, { readonly failed: number }> | undefined,
): TransportObserver {
  const sent = new Counter({
    name: "etcd_network_peer_sent_bytes_total",
    help: "The total number of bytes sent to peers.",
    labelNames: ["To"],
    registers,
  });
  const received = new Counter({
    name: "etcd_network_peer_received_bytes_total",
    help: "The total number of bytes received from peers.",
    labelNames: ["From"],
    registers,
  });
  const roundTrip = new Histogram({
    name: "etcd_network_peer_round_trip_time_seconds",
    help: "Round-Trip-Time histogram between peers.",
    labelNames: ["To"],
    buckets: exponentialBuckets(0.0001, 2, 16),
    registers,
  });
  new Counter({
    name: "etcd_network_peer_sent_failures_total",
    help: "The total number of send failures from peers.",
    labelNames: ["To"],
    registers,
    collect() {
      this.reset();
      for (const [to, s] of Object.entries(peerStats() ?? {})) this.inc({ To: to }, s.failed);
    },
  });
  return {
    sent: (to, bytes) => sent.inc({ To: to }, bytes),
    received: (from, bytes) => received.inc({ From: from }, bytes),
    roundTrip: (to, seconds) => roundTrip.observe({ To: to }, seconds),
  };
}

/** A counter whose total is read from a figure kept elsewhere, at each scrape. */
function figureCounter(registers: Registry[], name: string, help: string, read: () => number) {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A gauge read from a figure kept elsewhere, at each scrape. */
function figureGauge(registers: Registry[], name: string, help: string, read: () => number) {
  new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
}

function childOf<C>(children: Map<string, C>, key: string, make: () => C): C {
  let child = children.get(key);
  if (child === undefined) {
    child = make();
    children.set(key, child);
  }
  return child;
}

/** etcd's v2http metrics: received, failed by code, and the latency of successes, by method. */
function keysMetrics(registers: Registry[]): KeysMetrics {
  const received = new Counter({
    name: "etcd_http_received_total",
    help: "Counter of requests received into the system (successfully parsed and authd).",
    labelNames: ["method"],
    registers,
  });
  const failed = new Counter({
    name: "etcd_http_failed_total",
    help: "Counter of handle failures of requests (non-watches), by method (GET/PUT etc.) and code (400, 500 etc.).",
    labelNames: ["method", "code"],
    registers,
  });
  const succeeded = new Histogram({
    name: "etcd_http_successful_duration_seconds",
    help: "Bucketed histogram of processing time (s) of successfully handled requests (non-watches), by method (GET/PUT etc.).",
    labelNames: ["method"],
    buckets: exponentialBuckets(0.0005, 2, 13),
    registers,
  });
  // Children per method: their updates skip label hashing on the request path.
  const receivedBy = new Map<string, Counter.Internal>();
  const succeededBy = new Map<string, Histogram.Internal<"method">>();
  return {
    received: (method) => childOf(receivedBy, method, () => received.labels({ method })).inc(),
    failed: (method, code) => failed.inc({ method, code: String(code) }),
    succeeded: (method, seconds) =>
      childOf(succeededBy, method, () => succeeded.labels({ method })).observe(seconds),
  };
}
