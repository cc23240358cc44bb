/**
 * `/v2/members`: list (GET), leader (GET /leader), add (POST), update peer URLs (PUT /<id>) and
 * remove (DELETE /<id>), with etcd's status codes and `{"message":..}` error bodies.
 */
import { callerOf } from "../auth/access.ts";
import { parseOneUrl } from "../config/values.ts";
import { AssertionError } from "../util/assert.ts";
import { decodePeerUrls } from "./go-json.ts";
import type { KeysContext, MemberApi, MemberRecord, Reconfigured } from "./member-api.ts";
import {
  insufficientCredentials,
  JSON_TYPE,
  messageResponse,
  methodNotAllowed,
  textResponse,
} from "./responses.ts";

const ALLOWED = "GET,POST,DELETE,PUT";
const HEX_ID = /^[0-9a-fA-F]+$/;
const UINT64_MAX = (1n << 64n) - 1n;

/** A request the members API refuses before asking the member: status and etcd's message. */
class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * etcd's order of checks: the method (HEAD included) against ALLOWED, then per method. POST
 * adds a member whatever follows `/v2/members`; PUT and DELETE need an id, and PUT checks it
 * before reading the body.
 */
export async function handleMembers(ctx: KeysContext, request: Request, sub: string) {
  const { server } = ctx;
  const method = request.method;
  if (!ALLOWED.split(",").includes(method)) return methodNotAllowed(ALLOWED);
  if (!(await ctx.access.writeRoot(method, callerOf(request)))) return insufficientCredentials();
  try {
    if (method === "GET") return listResponse(server, sub);
    if (method === "POST") {
      const added = await server.addMember(await readPeerUrls(request));
      if (!added.ok) return refusal(server, added);
      return new Response(`${memberJson(added.value)}\n`, {
        status: 201,
        headers: headers(server),
      });
    }
    if (sub === "") {
      return textResponse(405, "Method Not Allowed\n", {
        "X-Content-Type-Options": "nosniff",
        "X-Etcd-Cluster-Id": server.clusterId,
      });
    }
    const id = memberIdParam(sub);
    const done =
      method === "PUT"
        ? await server.updateMember(id, await readPeerUrls(request))
        : await server.removeMember(id);
    if (!done.ok) return refusal(server, done);
    return new Response(null, { status: 204, headers: { "X-Etcd-Cluster-Id": server.clusterId } });
  } catch (error) {
    if (error instanceof Refused) {
      return messageResponse(error.status, error.message, server.clusterId);
    }
    if (error instanceof AssertionError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    return messageResponse(500, message, server.clusterId);
  }
}

function refusal(server: MemberApi, r: Reconfigured<unknown> & { ok: false }): Response {
  return messageResponse(r.status, r.message, server.clusterId);
}

function memberJson(m: MemberRecord): string {
  return JSON.stringify({ id: m.id, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs });
}

function headers(server: MemberApi) {
  return { "Content-Type": JSON_TYPE, "X-Etcd-Cluster-Id": server.clusterId };
}

function listResponse(server: MemberApi, sub: string): Response {
  const members = server.members();
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
  if (!HEX_ID.test(sub)) throw new Refused(404, `No such member: ${sub}`);
  const id = BigInt(`0x${sub}`);
  if (id > UINT64_MAX) throw new Refused(404, `No such member: ${sub}`);
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
    throw new Refused(415, `Bad Content-Type ${contentType}, accept application/json`);
  }
  const decoded = decodePeerUrls(new Uint8Array(await request.arrayBuffer()));
  if ("error" in decoded) throw new Refused(400, decoded.error);
  if (decoded.urls.length === 0) throw new Refused(400, "no valid URLs given");
  const urls: string[] = [];
  for (const text of decoded.urls) {
    const parsed = parseOneUrl(text);
    if (!parsed.ok) throw new Refused(400, parsed.reason);
    urls.push(parsed.value);
  }
  return urls.sort();
}
