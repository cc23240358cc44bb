/**
 * Where the proxy learns the cluster: `GET <peer URL>/members` on the members' peer port, the
 * first peer that answers wins (etcd's GetClusterFromRemotePeers). The client URLs become the
 * proxy's endpoints; the peer URLs are where it asks next time (and what the cluster file keeps).
 */
import { isTransportError } from "../net/fetch-error.ts";
import type { FetchTls } from "../net/tls.ts";

export interface ClusterView {
  /** Every member's client URLs, sorted. */
  readonly clientUrls: string[];
  /** Every member's peer URLs, sorted. */
  readonly peerUrls: string[];
}

export type FetchCluster = (peerUrls: readonly string[]) => Promise<ClusterView>;

/** No peer answered with a member list. */
export class ClusterUnreachable extends Error {
  override name = "ClusterUnreachable";
}

/**
 * Reads `/members` from each peer URL in turn, each bounded by `timeoutMs`; `tls` (the peer
 * TLS files' CA and certificate) for https peers.
 */
export function fetchClusterOverHttp(timeoutMs: number, tls?: FetchTls): FetchCluster {
  return async (peerUrls) => {
    for (const url of peerUrls) {
      try {
        const res = await fetch(`${url}/members`, {
          signal: AbortSignal.timeout(timeoutMs),
          ...(tls === undefined ? {} : { tls }),
        });
        if (res.status !== 200) continue;
        const view = parseMembers(await res.text());
        if (view !== undefined) return view;
      } catch (error) {
        if (!isTransportError(error)) throw error;
      }
    }
    throw new ClusterUnreachable("could not retrieve cluster information from the given URLs");
  };
}

/** The member list a peer serves, or undefined when it is not one. */
export function parseMembers(text: string): ClusterView | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return undefined;
  }
  if (!Array.isArray(raw)) return undefined;
  const clientUrls: string[] = [];
  const peerUrls: string[] = [];
  for (const m of raw) {
    const member = m as { clientURLs?: unknown; peerURLs?: unknown } | null;
    if (member === null || typeof member !== "object") return undefined;
    const clients = member.clientURLs ?? [];
    const peers = member.peerURLs ?? [];
    if (!isStringList(clients) || !isStringList(peers)) return undefined;
    clientUrls.push(...clients);
    peerUrls.push(...peers);
  }
  return { clientUrls: clientUrls.sort(), peerUrls: peerUrls.sort() };
}

const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string");
