/**
 * `/v2/members`: list (GET), leader (GET /leader), add (POST), update peer URLs (PUT /<id>) and
 * remove (DELETE /<id>), with etcd's status codes and `{"message":..}` error bodies.
 */
import { parseOneUrl } from "../config/values.ts";
import type { EtcdServer } from "../server/etcd-server.ts";
import { listMembers, memberJson } from "../server/membership.ts";
import { addMember, MembersError, removeMember, updateMember } from "../server/reconfigure.ts";
import { AssertionError } from "../util/assert.ts";
import { decodePeerUrls } from "./go-json.ts";
import { JSON_TYPE, messageResponse, methodNotAllowed, textResponse } from "./responses.ts";

const ALLOWED = "GET,POST,DELETE,PUT";
const HEX_ID = /^[0-9a-fA-F]+$/;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * etcd's order of checks: the method (HEAD included) against ALLOWED, then per method. POST
 * adds a member whatever follows `/v2/members`; PUT and DELETE need an id, and PUT checks it
 * before reading the body.
 */
export async function handleMembers(server: EtcdServer, request: Request, sub: string) {
  const method = request.method;
  if (!ALLOWED.split(",").includes(method)) return methodNotAllowed(ALLOWED);
  try {
    if (method === "GET") return listResponse(server, sub);
    if (method === "POST") {
      const peerURLs = await readPeerUrls(request);
      const member = await addMember(server, peerURLs);
      return new Response(`${memberJson(member)}\n`, { status: 201, headers: headers(server) });
    }
    if (sub === "") {
      return textResponse(405, "Method Not Allowed\n", {
        "X-Content-Type-Options": "nosniff",
        "X-Etcd-Cluster-Id": server.clusterId,
      });
    }
    const id = memberIdParam(sub);
    if (method === "PUT") await updateMember(server, id, await readPeerUrls(request));
    else await removeMember(server, id);
    return new Response(null, { status: 204, headers: { "X-Etcd-Cluster-Id": server.clusterId } });
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

/** A member id from the path: Go's ParseUint(s, 16, 64); anything else is "No such member". */
function memberIdParam(sub: string): string {
  if (!HEX_ID.test(sub)) throw new MembersError(404, `No such member: ${sub}`);
  const id = BigInt(`0x${sub}`);
  if (id > UINT64_MAX) throw new MembersError(404, `No such member: ${sub}`);
  return id.toString(16);
}

/**
 * The `{"peerURLs":[..]}` body of POST and PUT, with etcd's checks and texts: the media type
 * before any `;` (lower-cased only then, as etcd does), Go's JSON errors, then types.NewURLs.
 */
async function readPeerUrls(request: Request): Promise<string[]> {
  let contentType = request.headers.get("content-type") ?? "";
  const semicolon = contentType.indexOf(";");
  if (semicolon >= 0) contentType = contentType.slice(0, semicolon).trim().toLowerCase();
  if (contentType !== "application/json") {
    throw new MembersError(415, `Bad Content-Type ${contentType}, accept application/json`);
  }
  const decoded = decodePeerUrls(new Uint8Array(await request.arrayBuffer()));
  if ("error" in decoded) throw new MembersError(400, decoded.error);
  if (decoded.urls.length === 0) throw new MembersError(400, "no valid URLs given");
  const urls: string[] = [];
  for (const text of decoded.urls) {
    const parsed = parseOneUrl(text);
    if (!parsed.ok) throw new MembersError(400, parsed.reason);
    urls.push(parsed.value);
  }
  return urls.sort();
}
