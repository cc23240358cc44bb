/**
 * What a member needs from its configuration, already validated. Kept separate from the CLI's
 * Config so the server can be started (and tested) without flag parsing.
 */
import type { TlsConfig } from "../config/config.ts";

export interface InitialMember {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
}

/** One side's TLS flags, plus the self-signed certificate auto TLS made (the member's edge). */
export type TlsFileSettings = TlsConfig & {
  readonly selfSigned?: { readonly cert: string; readonly key: string };
};

export interface MemberSettings {
  readonly name: string;
  readonly dataDir: string;
  /** Empty: `<dataDir>/member/wal`. */
  readonly walDir: string;
  readonly snapshotCount: number;
  readonly heartbeatMs: number;
  readonly electionMs: number;
  readonly maxSnapshots: number;
  readonly maxWals: number;
  readonly initialClusterState: "new" | "existing";
  readonly initialMembers: readonly InitialMember[];
  /** This member's id and the cluster's id as derived from the initial cluster and token. */
  readonly memberId: string;
  readonly clusterId: string;
  readonly forceNewCluster: boolean;
  readonly listenClientUrls: readonly string[];
  /** `--listen-metrics-urls`: listeners serving only `/metrics` and `/health`. */
  readonly listenMetricsUrls?: readonly string[];
  /** Serve the web dashboard at `/dashboard` (absent: served). */
  readonly dashboard?: boolean;
  /** For `https://` client listen URLs: certificate, key, trusted CA, client-cert rule. */
  readonly clientTls?: TlsFileSettings;
  /**
   * Peer TLS (`--peer-*`): for `https://` peer listen URLs, and as the client certificate and
   * trusted CA toward other members.
   */
  readonly peerTls?: TlsFileSettings;
  readonly advertiseClientUrls: readonly string[];
  readonly listenPeerUrls: readonly string[];
  readonly cors: readonly string[];
  /** `--host-whitelist`: Host headers plain-HTTP client listeners accept (`*`: any). */
  readonly hostWhitelist?: readonly string[];
  readonly strictReconfigCheck: boolean;
  /** Raft pre-vote (`--pre-vote`). */
  readonly preVote: boolean;
  /** `--initial-election-tick-advance` (absent: true; false matters on a restart only). */
  readonly initialElectionTickAdvance?: boolean;
  /**
   * Mixed with the member id into Raft's election-timeout randomness (the edge passes the start
   * time; a simulation, its seed), so members and restarts time out differently.
   */
  readonly raftSeed: number;
  /**
   * `--discovery` (and `--discovery-proxy`): a member without a WAL finds its initial cluster
   * there (member/discover.ts); `initialMembers` is then this member alone.
   */
  readonly discovery?: { readonly url: string; readonly proxy: string };
  /**
   * `--discovery-srv` (and `--discovery-srv-name`), with `--initial-cluster-token`: a member
   * without a WAL finds its initial cluster in DNS SRV records (member/discover.ts).
   */
  readonly discoverySrv?: {
    readonly domain: string;
    readonly serviceName: string;
    readonly token: string;
  };
  /** `--initial-advertise-peer-urls`: used to find this member when joining a cluster. */
  readonly advertisePeerUrls: readonly string[];
}
