/**
 * Keeps the peer network's list of members in step with the membership in the store (plus the
 * members learned when joining, until the store has them): new members are added, members gone
 * are removed, and removed members are marked so their messages are refused.
 */
import type { Store } from "../store/store.ts";
import { listMembers, type MemberInfo, removedMembersDir } from "./membership.ts";

export interface PeerDirectory {
  addPeer(id: string, peerUrls: string[]): void;
  removePeer(id: string): void;
  markRemoved(id: string): void;
}

export class PeerSet {
  private network: PeerDirectory | undefined;
  private bootPeers: readonly MemberInfo[] = [];
  private known = new Set<string>();

  constructor(private readonly selfId: string) {}

  attach(network: PeerDirectory, bootPeers: readonly MemberInfo[]): void {
    this.network = network;
    this.bootPeers = bootPeers;
  }

  /** Tells the network about every member now in `store` (and the boot peers). */
  sync(store: Store): void {
    const network = this.network;
    if (network === undefined) return;
    const isRemoved = (id: string) => store.has(`${removedMembersDir}/${id}`);
    const current = new Map<string, readonly string[]>();
    for (const m of [...this.bootPeers, ...listMembers(store)]) {
      if (m.id !== this.selfId && !isRemoved(m.id)) current.set(m.id, m.peerURLs);
    }
    for (const [id, urls] of current) network.addPeer(id, [...urls]);
    for (const id of this.known) {
      if (current.has(id)) continue;
      network.removePeer(id);
      if (isRemoved(id)) network.markRemoved(id);
    }
    this.known = new Set(current.keys());
  }
}
