/**
 * Everything the client and peer HTTP APIs need from the member, and nothing more: reads,
 * proposals, watches, membership and the figures the stats endpoints show. Declared here, by
 * its user, so `http/` depends on this interface only (the member's edge builds it from the
 * server); no handler reaches into the mutable store or the Raft node.
 */
import type { Access } from "../auth/access.ts";
import type { EtcdError } from "../store/errors.ts";
import type { Event } from "../store/event.ts";
import type { StoreStats } from "../store/stats.ts";
import type { V2Request } from "../store/v2-apply.ts";
import type { OnEvent, OnRemoved, Watcher } from "../store/watcher-hub.ts";
import type { LatencySummary } from "../transport/latency.ts";

/** A member as the members API shows it (ids are hex). */
export interface MemberRecord {
  readonly id: string;
  readonly name: string;
  readonly peerURLs: string[];
  readonly clientURLs: string[];
}

/** The outcome of a v2 write once applied, with the Raft position it was applied at. */
export interface WriteResult {
  readonly event: Event | undefined;
  readonly error: EtcdError | undefined;
  readonly raftIndex: number;
  readonly raftTerm: number;
}

/** A rate of append requests: requests per second and bytes per second. */
export interface Rates {
  readonly pkg: number;
  readonly bandwidth: number;
}

export interface MemberApi {
  /** The member's log (request errors that are not etcd errors are written there). */
  log(line: string): void;
  readonly memberId: string;
  readonly clusterId: string;
  readonly name: string;
  readonly startTime: Date;
  readonly leaderSince: Date;
  /** The leader's id, "" while there is none. */
  readonly leader: string;
  readonly state: "follower" | "preCandidate" | "candidate" | "leader";
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly appendCounts: { readonly received: number; readonly sent: number };
  /** Append requests per second and bytes per second, each way, as etcd's stats queue. */
  appendRates(): { readonly received: Rates; readonly sent: Rates };
  /** Per follower: messages sent and failed, and round-trip latency in ms. */
  peerFigures(): Record<
    string,
    { readonly sent: number; readonly failed: number; readonly latencyMs: LatencySummary }
  >;

  /** The store's current index (for error bodies and headers). */
  storeIndex(): number;
  storeStats(): StoreStats;
  /** A read of the local store (not linearizable). Throws EtcdError. */
  localGet(req: V2Request): Event;
  /** Resolves once the local store has caught up with the leader's commit index. */
  linearizableRead(): Promise<void>;
  /** A write through Raft; resolves once applied here. */
  proposeV2(req: V2Request): Promise<WriteResult>;
  /** A write of the auth data (`req.path` relative to `/2`) through Raft. */
  proposeAuth(req: V2Request): Promise<WriteResult>;
  /** A local read of the auth data (`path` relative to `/2`). Throws EtcdError. */
  authGet(path: string): Event;
  /** Changes whenever the auth data may have changed (cache key for what was parsed from it). */
  authRevision(): number;
  watch(
    opts: { key: string; recursive: boolean; stream: boolean; sinceIndex: number },
    onEvent: OnEvent,
    onRemoved: OnRemoved,
  ): Watcher;
  /** Raft's status in etcd's `raft.status` JSON shape (for `/debug/vars`). */
  raftStatus(): Record<string, unknown>;
  /** A Raft round trip to a quorum within `timeoutMs` (for `/health`). */
  probeQuorum(timeoutMs: number): Promise<boolean>;

  members(): MemberRecord[];
  addMember(peerURLs: string[]): Promise<Reconfigured<MemberRecord>>;
  updateMember(id: string, peerURLs: string[]): Promise<Reconfigured<void>>;
  removeMember(id: string): Promise<Reconfigured<void>>;
}

/** A membership change done, or refused with the HTTP status and etcd's message. */
export type Reconfigured<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly status: number; readonly message: string };

/** What the keys and members handlers carry from request to request. */
export interface KeysContext {
  readonly server: MemberApi;
  readonly access: Access;
  readonly metrics?: KeysMetrics;
}

/** etcd's v2 keys request metrics (watches are not counted), by the request's v2 method. */
export interface KeysMetrics {
  received(method: string): void;
  failed(method: string, code: number): void;
  succeeded(method: string, seconds: number): void;
}
