/**
 * Proposing a membership change through Raft and waiting until it is applied here. Raft drops a
 * conf change while there is no leader or a leader transfer is under way: it is retried until
 * the request's own deadline. A leader about to remove itself first hands leadership to the
 * most up-to-date follower, so the cluster keeps a leader through the change (etcd does too).
 */
import type { RawNode } from "../raft/raw-node.ts";
import { type ConfChange, ProposalDroppedError } from "../raft/types.ts";
import type { ConfChangeRejected } from "./apply.ts";
import { MembersError } from "./members-error.ts";
import type { Time } from "./time.ts";

/** Pause between attempts to propose a membership change that Raft dropped. */
const CONF_CHANGE_RETRY_MS = 20;

export interface ConfChangeHost {
  readonly time: Time;
  readonly raft: RawNode;
  readonly memberId: string;
  readonly electionMs: number;
  isLeader(): boolean;
  leader(): string;
  stopping(): boolean;
  requestTimeoutMs(): number;
  /** Registers a waiter for the entry carrying `requestId`; resolves once it is applied. */
  newRequest(): { id: string; applied: Promise<{ confError?: ConfChangeRejected }> };
  failRequest(id: string, error: unknown): void;
  schedule(): void;
  log(line: string): void;
}

export async function proposeConfChange(
  host: ConfChangeHost,
  type: ConfChange["type"],
  nodeId: string,
  peerURLs: string[],
): Promise<void> {
  if (type === "removeNode" && nodeId === host.memberId && host.isLeader()) {
    await transferLeadershipAway(host);
  }
  const { id, applied } = host.newRequest();
  // Observed from the start: the waiter may time out while Raft still drops the proposal, and
  // a rejection nobody handles yet would reach the process's fatal handler.
  const outcome = applied.then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  const context = new TextEncoder().encode(JSON.stringify({ id: nodeId, peerURLs, requestId: id }));
  const deadline = host.time.now() + host.requestTimeoutMs();
  for (;;) {
    try {
      host.raft.proposeConfChange({ type, nodeId, context });
      break;
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
      if (host.time.now() > deadline || host.stopping()) {
        host.failRequest(id, new MembersError(500, "etcdserver: unhealthy cluster"));
        break;
      }
      await host.time.sleep(CONF_CHANGE_RETRY_MS);
    }
  }
  host.schedule();
  const settled = await settledOrAskedAgain(host, outcome, () =>
    host.raft.proposeConfChange({ type, nodeId, context }),
  );
  if ("error" in settled) throw settled.error;
  const { result } = settled;
  if (result.confError !== undefined) {
    throw new MembersError(result.confError.status, result.confError.message);
  }
}

/**
 * Waits for the change's outcome. A follower's proposal goes to the leader, which drops a conf
 * change it cannot take yet (its own first entry or another change not yet applied) without a
 * word: unless the outcome came, the follower asks again after each election timeout, until
 * the waiter's own deadline settles it. A copy applied after the first answers nobody: an add or
 * a removal is refused by the apply checks (the member exists, or is gone), an update sets the
 * same peer URLs again.
 */
async function settledOrAskedAgain<T extends object>(
  host: ConfChangeHost,
  outcome: Promise<T>,
  proposeAgain: () => void,
): Promise<T> {
  for (;;) {
    // `outcome` never settles to undefined: undefined is the election timeout passing.
    const settled = await Promise.race([outcome, host.time.sleep(host.electionMs)]);
    if (settled !== undefined) return settled;
    if (host.isLeader() || host.stopping()) continue;
    try {
      proposeAgain();
      host.schedule();
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
    }
  }
}

/** Transfers leadership to the follower with the longest log; waits up to two elections. */
async function transferLeadershipAway(host: ConfChangeHost): Promise<void> {
  const progress = host.raft.status().progress ?? {};
  let best = "";
  let bestMatch = -1;
  for (const [id, p] of Object.entries(progress)) {
    if (id !== host.memberId && p.match > bestMatch) {
      best = id;
      bestMatch = p.match;
    }
  }
  if (best === "") return;
  // The new leader's first entry comes after every entry here (it was caught up to them).
  const firstOfNewTerm = host.raft.status().lastIndex + 1;
  host.raft.transferLeader(best);
  host.schedule();
  const deadline = host.time.now() + 2 * host.electionMs;
  while (host.leader() !== best && host.time.now() < deadline) await host.time.sleep(10);
  host.log(`transferred leadership to ${best} before removing this member`);
  // A new leader takes no conf change before it applied its first entry; one forwarded to it
  // sooner is dropped there without a word, and the request would wait out its deadline.
  while (host.raft.status().applied < firstOfNewTerm && host.time.now() < deadline) {
    await host.time.sleep(10);
  }
}
