/**
 * `/v2/members` (GET list, GET leader). Membership changes arrive with runtime
 * reconfiguration; until then they answer 405 like any other unsupported method.
 */
import type { EtcdServer } from "../server/etcd-server.ts";
import { listMembers, memberJson } from "../server/membership.ts";
import { JSON_TYPE, messageResponse, methodNotAllowed } from "./responses.ts";

export function handleMembers(server: EtcdServer, request: Request, sub: string): Response {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return methodNotAllowed("GET,POST,DELETE,PUT");
  }
  const members = listMembers(server.store);
  const headers = { "Content-Type": JSON_TYPE, "X-Etcd-Cluster-Id": server.clusterId };
  if (sub === "") {
    const body = `{"members":[${members.map(memberJson).join(",")}]}\n`;
    return new Response(body, { status: 200, headers });
  }
  if (sub === "leader") {
    const leader = members.find((m) => m.id === server.leader);
    if (leader === undefined) return messageResponse(503, "During election", server.clusterId);
    return new Response(`${memberJson(leader)}\n`, { status: 200, headers });
  }
  return messageResponse(404, "Not found", server.clusterId);
}
