/** Members API steps for process tests: add a member and start it, remove a member. */
import { expect } from "bun:test";
import { freePort, type MemberProcess, startMember } from "./cluster-process.ts";

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  return { status: res.status, body: (text === "" ? undefined : JSON.parse(text)) as T };
}

type MemberList = { members: { id: string; name: string; peerURLs: string[] }[] };

/**
 * How long a members-API change is retried while refused as "unhealthy cluster": etcd's strict
 * reconfiguration check counts a peer only once it has been connected for 5 s, so a change
 * right after a member (re)started is refused for that long, as with the real etcd.
 */
const UNHEALTHY_RETRY_MS = 12_000;

/** Sends `request()` again while it answers 500 "etcdserver: unhealthy cluster" (bounded). */
export async function whileUnhealthy(request: () => Promise<Response>): Promise<Response> {
  const deadline = Date.now() + UNHEALTHY_RETRY_MS;
  for (;;) {
    const res = await request();
    if (res.status !== 500 || Date.now() > deadline) return res;
    const body = await res.clone().text();
    // etcd 3.4's v2 members API words that refusal as a bare "Internal Server Error".
    const unhealthy =
      body.includes("etcdserver: unhealthy cluster") || body.includes('"Internal Server Error"');
    if (!unhealthy) return res;
    await Bun.sleep(200);
  }
}

/** `POST /v2/members` with these peer URLs (the members API's add), retried while unhealthy. */
export function postMember(
  seed: MemberProcess,
  peerUrls: readonly string[],
  authorization?: string,
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (authorization !== undefined) headers.authorization = authorization;
  return whileUnhealthy(() =>
    fetch(`${seed.clientUrl}/v2/members`, {
      method: "POST",
      headers,
      body: JSON.stringify({ peerURLs: peerUrls }),
      signal: AbortSignal.timeout(15_000),
    }),
  );
}

/** `POST /v2/members` through `seed`, then starts the new member with `existing`. */
export async function addAndStartMember(
  seed: MemberProcess,
  name: string,
  extraArgs: readonly string[],
  kind: "etcd-bun" | "etcd" = "etcd-bun",
  peerScheme: "http" | "https" = "http",
  /** Basic credentials of a root user, once auth is on. */
  authorization?: string,
): Promise<MemberProcess> {
  const peerUrl = `${peerScheme}://127.0.0.1:${await freePort()}`;
  const res = await whileUnhealthy(() => postMember(seed, [peerUrl], authorization));
  if (res.status !== 201) throw new Error(`member add answered ${res.status}: ${await res.text()}`);
  const added = { body: (await res.json()) as { id: string } };
  const list = await json<MemberList>(`${seed.clientUrl}/v2/members`);
  const initialCluster = list.body.members
    .flatMap((m) => m.peerURLs.map((u) => `${m.id === added.body.id ? name : m.name}=${u}`))
    .join(",");
  return startMember({
    kind,
    name,
    peerUrl,
    initialCluster,
    initialClusterState: "existing",
    extraArgs,
  });
}

/** `DELETE /v2/members/<id>` through `seed`; waits for the removed member to exit. */
export async function removeMemberAndWait(seed: MemberProcess, m: MemberProcess): Promise<string> {
  const list = await json<MemberList>(`${seed.clientUrl}/v2/members`);
  const id = list.body.members.find((x) => x.name === m.name)?.id ?? "";
  const res = await whileUnhealthy(() =>
    fetch(`${seed.clientUrl}/v2/members/${id}`, { method: "DELETE" }),
  );
  expect(res.status).toBe(204);
  expect(await Promise.race([m.proc.exited, Bun.sleep(10_000).then(() => "running")])).toBe(0);
  return id;
}
