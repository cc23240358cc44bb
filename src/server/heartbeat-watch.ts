/**
 * etcd's check that a leader's heartbeats leave on time: one sent to a peer more than two
 * heartbeat intervals after the previous one means this member is overloaded (a slow disk, or
 * a stalled process), and the followers may soon start an election. It is logged with etcd's
 * words and counted (etcd_server_heartbeat_send_failures_total).
 */
import { goDuration } from "../util/go-format.ts";

export class HeartbeatWatch {
  private readonly lastSent = new Map<string, number>();
  private term = -1;
  /** Heartbeats that left late. */
  late = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
    private readonly log: (line: string) => void,
  ) {}

  sent(to: string, term: number): void {
    // A new term is a new leadership: earlier sends say nothing about this one.
    if (term !== this.term) {
      this.term = term;
      this.lastSent.clear();
    }
    const now = this.now();
    const previous = this.lastSent.get(to);
    this.lastSent.set(to, now);
    if (previous === undefined) return;
    const exceeded = now - previous - 2 * this.intervalMs;
    if (exceeded <= 0) return;
    this.late++;
    this.log(
      `warning: failed to send out heartbeat on time (exceeded the ${goDuration(this.intervalMs)} timeout for ${goDuration(exceeded)}, to ${to})`,
    );
    this.log("warning: server is likely overloaded");
  }
}
