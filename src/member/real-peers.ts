/** `GET /members` on a peer URL, for joining a cluster (server/join.ts FetchMembers). */
import type { FetchTls } from "../net/tls.ts";
import { type FetchMembers, parsePeerMembers } from "../server/join.ts";

/** How long one peer may take to answer `GET /members`. */
const FETCH_TIMEOUT_MS = 2000;

/** With `tls`, https peers are asked with that CA and client certificate. */
export const fetchMembersOverHttp =
  (tls?: FetchTls): FetchMembers =>
  async (url) => {
    const res = await fetch(`${url}/members`, {
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      ...(tls === undefined ? {} : { tls }),
    });
    if (res.status !== 200) throw new Error(`${url}/members answered ${res.status}`);
    const clusterId = res.headers.get("x-etcd-cluster-id") ?? "";
    return { clusterId, members: parsePeerMembers(await res.text()) };
  };
