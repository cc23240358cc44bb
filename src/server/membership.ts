/**
 * Cluster membership as recorded in the store under `/0/members/<id>/{raftAttributes,attributes}`
 * (etcd's layout, so snapshots carry it). Read-only helpers for the members and stats APIs.
 */
import { EtcdError } from "../store/errors.ts";
import type { NodeView } from "../store/event.ts";
import type { Store } from "../store/store.ts";

export const membersDir = "/0/members";
export const removedMembersDir = "/0/removed_members";
export const clusterVersionPath = "/0/version";

export interface MemberInfo {
  readonly id: string;
  readonly name: string;
  readonly peerURLs: string[];
  readonly clientURLs: string[];
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Members sorted by id, as etcd lists them. */
export function listMembers(store: Store): MemberInfo[] {
  let root: NodeView;
  try {
    root = store.get(membersDir, true, true).node;
  } catch (error: unknown) {
    if (error instanceof EtcdError && error.code === 100) return [];
    throw error;
  }
  const members: MemberInfo[] = [];
  for (const dir of root.nodes ?? []) {
    const id = dir.key.slice(membersDir.length + 1);
    let raft: { peerURLs?: string[] } = {};
    let attrs: { name?: string; clientURLs?: string[] } = {};
    for (const child of dir.nodes ?? []) {
      if (child.key.endsWith("/raftAttributes")) raft = parseJson(child.value, raft);
      if (child.key.endsWith("/attributes")) attrs = parseJson(child.value, attrs);
    }
    members.push({
      id,
      name: attrs.name ?? "",
      peerURLs: raft.peerURLs ?? [],
      clientURLs: attrs.clientURLs ?? [],
    });
  }
  return members.sort((a, b) => compareIds(a.id, b.id));
}

/** Orders hex member ids numerically (as etcd's uint64 ids), without BigInt. */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
