/**
 * What the dashboard shows of one member, as that member sees itself: its Raft position, its
 * view of the leader, round trips to its peers, and running counters the page turns into rates.
 * Members serve it at `/dashboard/api/status`; the page's cluster view gathers it from each.
 * Plain data types only: the page's code (ui/) shares them.
 */

export interface MemberStatus {
  readonly id: string;
  readonly name: string;
  readonly state: "follower" | "preCandidate" | "candidate" | "leader";
  /** The leader's id as this member knows it, "" while there is none. */
  readonly leader: string;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  /** The v2 store's index (what `X-Etcd-Index` says here now). */
  readonly storeIndex: number;
  /** ISO time this member started. */
  readonly startTime: string;
  /** Round trips to peers as this member measures them (the leader: to each follower). */
  readonly peers: Readonly<Record<string, PeerLink>>;
  /** Running totals since start (the page charts their rates). */
  readonly counters: StatusCounters;
}

export interface PeerLink {
  /** The last round-trip time in ms; 0 before the first. */
  readonly rttMs: number;
  /** A stream to the peer is open. */
  readonly active: boolean;
}

export interface StatusCounters {
  /** Store writes applied (set, create, update, delete, compare-and-swap/delete). */
  readonly writes: number;
  /** WAL fdatasyncs, and the seconds they took in all. */
  readonly fsyncs: number;
  readonly fsyncSeconds: number;
  readonly leaderChanges: number;
}

export interface ClusterMember {
  readonly id: string;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}

export interface MemberView extends ClusterMember {
  readonly status?: MemberStatus;
  /** Why the member's status is missing (unreachable, timed out, not a member's answer). */
  readonly error?: string;
}

export interface ClusterView {
  /** What serves the page: a member (its id) or a proxy. */
  readonly servedBy: { readonly role: "member" | "proxy"; readonly id?: string };
  readonly members: readonly MemberView[];
  /** Why there is no member list (a proxy that reaches no member). */
  readonly error?: string;
}

/** Whether `value` has the fields the page relies on (a peer's answer is checked, not trusted). */
export function isMemberStatus(value: unknown): value is MemberStatus {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  const counters = v.counters as Record<string, unknown> | undefined;
  return (
    typeof v.id === "string" &&
    typeof v.name === "string" &&
    typeof v.state === "string" &&
    typeof v.leader === "string" &&
    typeof v.term === "number" &&
    typeof v.commit === "number" &&
    typeof v.applied === "number" &&
    typeof v.storeIndex === "number" &&
    typeof v.peers === "object" &&
    v.peers !== null &&
    typeof counters === "object" &&
    counters !== null &&
    typeof counters.writes === "number" &&
    typeof counters.fsyncs === "number" &&
    typeof counters.fsyncSeconds === "number" &&
    typeof counters.leaderChanges === "number"
  );
}
