/**
 * `/v2/members`: list (GET), leader (GET /leader), add (POST), update peer URLs (PUT /<id>) and
 * remove (DELETE /<id>), with etcd's status codes and `{"message":..}` error bodies.
 */
import { parseUrlList } from "../config/values.ts";
import type { EtcdServer } from "../server/etcd-server.ts";
import { listMembers, memberJson } from "../server/membership.ts";
import { addMember, MembersError, removeMember, updateMember } from "../server/reconfigure.ts";
import { AssertionError } from "../util/assert.ts";
import { JSON_TYPE, messageResponse, methodNotAllowed } from "./responses.ts";

const ALLOWED = "GET,POST,DELETE,PUT";
const HEX_ID = /^[0-9a-f]{1,16}$/;

export async function handleMembers(server: EtcdServer, request: Request, sub: string) {
  const method = request.method;
  try {
    if (method === "GET" || method === "HEAD") return listResponse(server, sub);
    if (method === "POST" && sub === "") {
      const peerURLs = await readPeerUrls(request);
      const member = await addMember(server, peerURLs);
      return new Response(`${memberJson(member)}\n`, { status: 201, headers: headers(server) });
    }
    if ((method === "PUT" || method === "DELETE") && sub !== "") {
      const id = memberIdParam(sub);
      if (method === "PUT") await updateMember(server, id, await readPeerUrls(request));
      else await removeMember(server, id);
      return new Response(null, {
        status: 204,
        headers: { "X-Etcd-Cluster-Id": server.clusterId },
      });
    }
    return methodNotAllowed(ALLOWED);
  } catch (error) {
    if (error instanceof MembersError) {
      return messageResponse(error.status, error.message, server.clusterId);
    }
    if (error instanceof AssertionError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    return messageResponse(500, message, server.clusterId);
  }
}

function headers(server: EtcdServer) {
  return { "Content-Type": JSON_TYPE, "X-Etcd-Cluster-Id": server.clusterId };
}

function listResponse(server: EtcdServer, sub: string): Response {
  const members = listMembers(server.store);
  if (sub === "") {
    const body = `{"members":[${members.map(memberJson).join(",")}]}\n`;
    return new Response(body, { status: 200, headers: headers(server) });
  }
  if (sub === "leader") {
    const leader = members.find((m) => m.id === server.leader);
    if (leader === undefined) return messageResponse(503, "During election", server.clusterId);
    return new Response(`${memberJson(leader)}\n`, { status: 200, headers: headers(server) });
  }
  return messageResponse(404, "Not found", server.clusterId);
}

/** A member id from the path: hex uint64; anything else is "No such member" as in etcd. */
function memberIdParam(sub: string): string {
  const id = sub.toLowerCase().replace(/^0+(?=.)/, "");
  if (!HEX_ID.test(id)) throw new MembersError(404, `No such member: ${sub}`);
  return id;
}

/** The `{"peerURLs":[..]}` body of POST and PUT: JSON only, URLs validated like etcd's. */
async function readPeerUrls(request: Request): Promise<string[]> {
  const contentType = request.headers.get("content-type") ?? "";
  if (contentType !== "application/json") {
    throw new MembersError(415, `Bad Content-Type ${contentType}, accept application/json`);
  }
  let body: unknown;
  try {
    body = JSON.parse(await request.text());
  } catch (error) {
    throw new MembersError(400, error instanceof Error ? error.message : "invalid JSON");
  }
  const urls = (body as { peerURLs?: unknown } | null)?.peerURLs;
  if (!Array.isArray(urls) || !urls.every((u): u is string => typeof u === "string")) {
    throw new MembersError(400, "peerURLs must be a list of URLs");
  }
  const parsed = parseUrlList(urls.join(","));
  if (!parsed.ok) throw new MembersError(400, parsed.reason);
  if (parsed.value.length === 0) throw new MembersError(400, "peerURLs must not be empty");
  return parsed.value;
}
