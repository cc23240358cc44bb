/** `/version`, `/health`, `/v2/machines`, `/debug/vars`. */
import { readFileSync } from "node:fs";
import type { MemberApi } from "./member-api.ts";
import { JSON_TYPE, methodNotAllowed, textResponse } from "./responses.ts";

/** The etcd release whose v2 API this member serves, and the cluster version it reports. */
export const SERVER_VERSION = "2.3.8";
export const CLUSTER_VERSION = "2.3.0";

export function handleVersion(request: Request): Response {
  if (request.method !== "GET") return methodNotAllowed("GET");
  const body = JSON.stringify({ etcdserver: SERVER_VERSION, etcdcluster: CLUSTER_VERSION });
  return new Response(body, { headers: { "Content-Type": JSON_TYPE } });
}

/** Client URLs of every member, joined by ", " (text/plain), as etcd's `/v2/machines`. */
export function handleMachines(server: MemberApi, request: Request): Response {
  if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed("GET,HEAD");
  const urls = server.members().flatMap((m) => m.clientURLs);
  return textResponse(200, urls.join(", "));
}

/** Healthy when there is a leader and a Raft round trip (a quorum read) succeeds in time. */
export async function handleHealth(
  server: MemberApi,
  request: Request,
  /** Told each check's outcome (etcd_server_health_success / _failures). */
  checked?: (healthy: boolean) => void,
): Promise<Response> {
  if (request.method !== "GET") return methodNotAllowed("GET");
  const healthy = server.leader !== "" && (await server.probeQuorum(HEALTH_TIMEOUT_MS));
  checked?.(healthy);
  return textResponse(healthy ? 200 : 503, `{"health":"${healthy ? "true" : "false"}"}`);
}

/** How long `/health` waits for its quorum round trip (etcd 3.4: about one second). */
const HEALTH_TIMEOUT_MS = 1000;

/**
 * `/debug/vars`, etcd's expvar page: the command line, the file descriptor limit, memory
 * figures (Go's memstats names where a JavaScript runtime has the same figure) and Raft's
 * status.
 */
export function handleDebugVars(server: MemberApi, request: Request): Response {
  if (request.method !== "GET") return methodNotAllowed("GET");
  const memory = process.memoryUsage();
  const vars = {
    cmdline: process.argv,
    file_descriptor_limit: fileDescriptorLimit(),
    memstats: {
      Alloc: memory.heapUsed,
      Sys: memory.rss,
      HeapAlloc: memory.heapUsed,
      HeapSys: memory.heapTotal,
      HeapInuse: memory.heapUsed,
      External: memory.external,
    },
    "raft.status": server.raftStatus(),
  };
  return new Response(`${JSON.stringify(vars)}\n`, { headers: { "Content-Type": JSON_TYPE } });
}

/** The soft limit on open files (`/proc/self/limits`), 0 when it cannot be read. */
function fileDescriptorLimit(): number {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const line = limits.split("\n").find((l) => l.startsWith("Max open files"));
    return Number(line?.split(/\s+/)[3] ?? 0) || 0;
  } catch {
    return 0;
  }
}
