/**
 * The peer listener. A one-member cluster only needs `GET /members` (used by joining members
 * and tools) and `/version`; the Raft message stream arrives with the peer transport.
 */
import { requestUrl } from "../util/request-url.ts";
import type { MemberApi } from "./member-api.ts";
import { handleVersion } from "./misc-handlers.ts";
import { JSON_TYPE, methodNotAllowed, notFound } from "./responses.ts";

/** Peer `/members` carries ids as JSON numbers (uint64), so they are written unquoted. */
function membersNumericJson(server: MemberApi): string {
  const parts = server.members().map((m) => {
    const rest = JSON.stringify({ name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs });
    return `{"id":${BigInt(`0x${m.id}`).toString()},${rest.slice(1)}`;
  });
  return `[${parts.join(",")}]\n`;
}

export function peerFetch(server: MemberApi) {
  return (request: Request): Response => {
    const path = requestUrl(request).pathname;
    if (path === "/version") return handleVersion(request);
    if (path !== "/members") return notFound();
    if (request.method !== "GET") return methodNotAllowed("GET");
    return new Response(membersNumericJson(server), {
      headers: { "Content-Type": JSON_TYPE, "X-Etcd-Cluster-Id": server.clusterId },
    });
  };
}
