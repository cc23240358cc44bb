/**
 * The cluster as the page's overview shows it: every member of the member list with the status
 * it reports about itself, or why it could not be asked. Members are asked in parallel, each
 * within a short timeout, so one member down costs the page a timeout, not a hang.
 */
import { isTransportError } from "../net/fetch-error.ts";
import type { FetchTls } from "../net/tls.ts";
import {
  type ClusterMember,
  type ClusterView,
  isMemberStatus,
  type MemberStatus,
  type MemberView,
} from "./status.ts";

/** The member list could not be had (ClusterSource.members). */
export class MembersUnavailable extends Error {
  override name = "MembersUnavailable";
}

export interface ClusterSource {
  readonly role: "member" | "proxy";
  /** The serving member's own id and status (a member only; it is not asked over HTTP). */
  readonly self?: { readonly id: string; status(): MemberStatus };
  /** The member list (a member: its own; a proxy: asked of the cluster). */
  members(): Promise<readonly ClusterMember[]>;
  /** For https client URLs: the CA to trust and the certificate to show. */
  readonly tls?: FetchTls;
}

/** How long one member gets to answer. */
const STATUS_TIMEOUT_MS = 1000;

export async function clusterView(source: ClusterSource): Promise<ClusterView> {
  const self = source.self;
  const servedBy = { role: source.role, ...(self === undefined ? {} : { id: self.id }) };
  let listed: readonly ClusterMember[];
  try {
    listed = await source.members();
  } catch (error) {
    if (!(error instanceof MembersUnavailable)) throw error;
    return { servedBy, members: [], error: error.message };
  }
  const members = [...listed].sort((a, b) => a.name.localeCompare(b.name));
  const views = await Promise.all(
    members.map(async (m): Promise<MemberView> => {
      if (self !== undefined && m.id === self.id) return { ...m, status: self.status() };
      const asked = await askStatus(m.clientURLs, source.tls);
      return typeof asked === "string" ? { ...m, error: asked } : { ...m, status: asked };
    }),
  );
  return { servedBy, members: views };
}

/** The status from the first client URL that gives one, or why none did. */
async function askStatus(urls: readonly string[], tls?: FetchTls): Promise<MemberStatus | string> {
  if (urls.length === 0) return "not started yet (no client URLs published)";
  let why = "";
  for (const url of urls) {
    try {
      const res = await fetch(`${url}/dashboard/api/status`, {
        signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
        ...(tls === undefined ? {} : { tls }),
      });
      const body: unknown =
        res.status === 200 ? await res.json().catch(() => undefined) : undefined;
      if (isMemberStatus(body)) return body;
      why = `${url} answered ${res.status} without a member status (dashboard turned off?)`;
    } catch (error) {
      if (!isTransportError(error)) throw error;
      const name = (error as Error).name;
      why = name === "TimeoutError" ? `${url} did not answer within 1 s` : `${url} unreachable`;
    }
  }
  return why;
}
