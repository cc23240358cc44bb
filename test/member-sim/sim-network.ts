/**
 * The network between simulated members (the server's PeerNetwork): each message is delivered
 * after a random delay, or lost, or delivered twice; partitions cut pairs of members. Delivery
 * runs on the receiver's clock, so nothing reaches a crashed member.
 *
 * A forwarded proposal (MsgProp) is never duplicated: the real transport sends each frame once
 * over a stream and never retransmits one it has written, and Raft appends every copy of a
 * proposal it receives (etcd's does too), so a duplicate would apply a client's write twice.
 * Seed 101 found exactly that before this rule; every other message is duplicated freely.
 */
import type { Message } from "../../src/raft/types.ts";
import type { PeerNetwork } from "../../src/server/etcd-server.ts";
import type { Prng } from "../../src/util/prng.ts";

export interface NetworkFaults {
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** Delays are uniform in [1, delayMsMax]; messages may overtake each other. */
  readonly delayMsMax: number;
}

export interface Receiver {
  readonly alive: boolean;
  deliver(msgs: Message[]): void;
  /** Schedules on the receiver's clock (dropped if it crashes first). */
  after(ms: number, fn: () => void): void;
  reportSnapshot(from: string, ok: boolean): void;
}

export class SimNetwork {
  private readonly receivers = new Map<string, Receiver>();
  /** When each member's current process attached (its peers count it as connected since). */
  private readonly attachedAt = new Map<string, number>();
  private readonly cut = new Set<string>();
  delivered = 0;
  dropped = 0;

  constructor(
    private readonly prng: Prng,
    private readonly faults: NetworkFaults,
    private readonly now: () => number,
  ) {}

  attach(id: string, receiver: Receiver): void {
    this.receivers.set(id, receiver);
    this.attachedAt.set(id, this.now());
  }

  partition(a: string, b: string): void {
    this.cut.add(pairKey(a, b));
  }

  healAll(): void {
    this.cut.clear();
  }

  isCut(a: string, b: string): boolean {
    return this.cut.has(pairKey(a, b));
  }

  /** The PeerNetwork of member `self`. */
  endpoint(self: string, sender: Receiver): PeerNetwork {
    return {
      send: (msgs) => {
        if (!sender.alive) return; // a crashed process sends nothing
        for (const m of msgs) this.route(self, sender, m);
      },
      // Connected while both processes run and no partition cuts them, as the transport sees it.
      activeSince: (id) => {
        if (this.isCut(self, id) || !(this.receivers.get(id)?.alive ?? false)) return undefined;
        return Math.max(this.attachedAt.get(id) ?? 0, this.attachedAt.get(self) ?? 0);
      },
      stats: () => ({}),
      addPeer: () => {},
      removePeer: () => {},
      markRemoved: () => {},
    };
  }

  private route(from: string, sender: Receiver, m: Message): void {
    const to = this.receivers.get(m.to);
    const lost =
      to === undefined || this.isCut(from, m.to) || this.prng.chance(this.faults.dropRate);
    // A snapshot's sender learns its fate, as from the transport's POST.
    if (m.type === "MsgSnap") {
      const delay = 1 + this.prng.nextInt(this.faults.delayMsMax);
      sender.after(delay, () => sender.reportSnapshot(m.to, !lost && (to?.alive ?? false)));
    }
    if (lost || to === undefined) {
      this.dropped++;
      return;
    }
    const copies = m.type !== "MsgProp" && this.prng.chance(this.faults.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      to.after(1 + this.prng.nextInt(this.faults.delayMsMax), () => {
        if (this.isCut(from, m.to)) return;
        this.delivered++;
        to.deliver([m]);
      });
    }
  }
}

const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);
