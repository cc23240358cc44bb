/** What a proxy gives its dashboard: the member list, asked of the members it forwards to. */
import { type ClusterSource, MembersUnavailable } from "../dashboard/cluster-view.ts";
import type { ClusterMember } from "../dashboard/status.ts";
import { isTransportError } from "../net/fetch-error.ts";
import type { FetchTls } from "../net/tls.ts";
import type { Endpoints } from "./endpoints.ts";

const MEMBERS_TIMEOUT_MS = 1000;

export function proxyDashboardSource(
  endpoints: Endpoints,
  tls: FetchTls | undefined,
): ClusterSource {
  return {
    role: "proxy",
    members: () => membersFrom(endpoints, tls),
    ...(tls === undefined ? {} : { tls }),
  };
}

async function membersFrom(
  endpoints: Endpoints,
  tls: FetchTls | undefined,
): Promise<ClusterMember[]> {
  for (const endpoint of endpoints.available()) {
    try {
      const res = await fetch(`${endpoint.url}/v2/members`, {
        signal: AbortSignal.timeout(MEMBERS_TIMEOUT_MS),
        ...(tls === undefined ? {} : { tls }),
      });
      if (res.status !== 200) continue;
      const body = (await res.json().catch(() => undefined)) as { members?: unknown } | undefined;
      const members = Array.isArray(body?.members) ? body.members.filter(isMember) : undefined;
      if (members !== undefined) return members;
    } catch (error) {
      if (!isTransportError(error)) throw error;
    }
  }
  throw new MembersUnavailable("no member of the cluster answered with its member list");
}

function isMember(value: unknown): value is ClusterMember {
  const m = value as Partial<Record<keyof ClusterMember, unknown>> | null;
  return (
    typeof m === "object" &&
    m !== null &&
    typeof m.id === "string" &&
    typeof m.name === "string" &&
    Array.isArray(m.peerURLs) &&
    Array.isArray(m.clientURLs)
  );
}
