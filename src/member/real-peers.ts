/** `GET /members` on a peer URL, for joining a cluster (server/join.ts FetchMembers). */
import { type FetchMembers, parsePeerMembers } from "../server/join.ts";

/** How long one peer may take to answer `GET /members`. */
const FETCH_TIMEOUT_MS = 2000;

export const fetchMembersOverHttp: FetchMembers = async (url) => {
  const res = await fetch(`${url}/members`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (res.status !== 200) throw new Error(`${url}/members answered ${res.status}`);
  const clusterId = res.headers.get("x-etcd-cluster-id") ?? "";
  return { clusterId, members: parsePeerMembers(await res.text()) };
};
