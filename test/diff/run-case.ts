/**
 * Running a differential case: its requests sent raw, in order, to one server, each answer
 * normalised (index values relative to the store index before the case).
 */
import type { MemberProcess } from "../support/cluster-process.ts";
import { rawRequest } from "../support/raw-http.ts";
import type { DiffRequest } from "./cases.ts";
import { type Normalized, normalizeResponse } from "./normalize.ts";

/** Sent raw, so unclean targets (`/./`, `/../`, `%2e`) reach the server as written. */
async function send(member: MemberProcess, req: DiffRequest, prefix: string): Promise<Response> {
  const headers: Record<string, string> = { ...req.headers };
  if (req.body !== undefined && req.headers === undefined)
    headers["content-type"] = "application/x-www-form-urlencoded";
  if (req.method === "OPTIONS") headers.origin = "http://example.test";
  return rawRequest(member.clientUrl, {
    method: req.method,
    target: req.path.replaceAll("$", prefix),
    headers,
    ...(req.body !== undefined && { body: req.body.replaceAll("$", prefix) }),
  });
}

/** The store index before a case (read with `authorization` when auth may be on). */
async function baseIndex(member: MemberProcess, authorization?: string): Promise<number> {
  const headers = authorization === undefined ? undefined : { authorization };
  const res = await fetch(`${member.clientUrl}/v2/keys/`, { ...(headers && { headers }) });
  await res.arrayBuffer();
  return Number(res.headers.get("x-etcd-index"));
}

/** `answering`: the member whose URLs and ids appear in bodies (the one behind a proxy). */
export async function runCase(
  member: MemberProcess,
  requests: readonly DiffRequest[],
  prefix: string,
  options: { readonly answering?: MemberProcess; readonly authorization?: string } = {},
): Promise<Normalized[]> {
  const base = await baseIndex(member, options.authorization);
  const out: Normalized[] = [];
  const answering = options.answering ?? member;
  for (const req of requests) {
    const res = await send(member, req, prefix);
    out.push(await normalizeResponse(res, { base, member: answering, request: req }));
  }
  return out;
}
