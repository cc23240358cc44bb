/**
 * Binding a listen URL as etcd does: TCP host and port, or a unix socket (`unix://path`), with
 * Go's wording when the bind fails. Shared by every role that serves clients.
 */
import { existsSync, lstatSync, rmSync } from "node:fs";
import type { Server } from "bun";

/** A refused bind, worded as Go's net.Listen error: `listen tcp 127.0.0.1:2380: bind: ...`. */
export class ListenError extends Error {
  override name = "ListenError";
}

/** Where a listen URL binds: a TCP host and port, or a unix socket path (etcd `unix://`). */
export type ListenTarget =
  | { readonly kind: "tcp"; readonly hostname: string; readonly port: number }
  | { readonly kind: "unix"; readonly path: string };

/** etcd listens on a unix socket named by the URL's host part (`unix://localhost:2379`). */
export function listenTargetOf(raw: string): ListenTarget {
  const url = new URL(raw);
  if (url.protocol === "unix:" || url.protocol === "unixs:") {
    return { kind: "unix", path: decodeURIComponent(url.host + url.pathname) };
  }
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  // URL hides a scheme's default port ("" for http://h:80): bind that port, not a random one.
  const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return { kind: "tcp", hostname, port };
}

/** Go's strings for the errno values a bind can fail with. */
const BIND_ERRORS: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "cannot assign requested address",
  EACCES: "permission denied",
  ENOENT: "no such file or directory",
};

export function listenError(target: ListenTarget, error: unknown): ListenError {
  const code = (error as { code?: unknown } | null)?.code;
  const words =
    typeof code === "string" && code in BIND_ERRORS
      ? BIND_ERRORS[code]
      : error instanceof Error
        ? error.message
        : String(error);
  const where =
    target.kind === "unix"
      ? `unix ${target.path}`
      : `tcp ${target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname}:${target.port}`;
  return new ListenError(`listen ${where}: bind: ${words}`);
}

/** One bound socket, with its URL as clients reach it (port 0 resolved to the real port). */
export interface BoundListener {
  readonly url: string;
  /** The server accepting new connections now (a certificate rotation replaces it). */
  readonly server: Server<unknown>;
  /** Stops accepting; `force` also closes open connections. */
  stop(force: boolean): Promise<void>;
}

/** A socket file nobody accepts on (connection refused). */
async function isStaleSocket(path: string): Promise<boolean> {
  if (!existsSync(path) || !lstatSync(path).isSocket()) return false;
  try {
    const socket = await Bun.connect({ unix: path, socket: { data() {} } });
    socket.end();
    return false;
  } catch {
    return true;
  }
}

/**
 * Binds one listen URL; a stale unix socket (its process gone) is removed first. `shared`: the
 * socket is bound with SO_REUSEPORT so a second server can take over the port later (a new
 * certificate) while the first drains; a plain bind is tried first, so a port another process
 * holds still fails the start.
 */
export async function bindOne(
  raw: string,
  serve: (target: ListenTarget) => Server<never>,
  options: { readonly shared?: boolean } = {},
): Promise<BoundListener & { readonly target: ListenTarget }> {
  const target = listenTargetOf(raw);
  // etcd removes the socket file before listening on a unix URL; we remove it only when no
  // process answers on it (left by a killed member), never a live member's socket.
  if (target.kind === "unix" && (await isStaleSocket(target.path))) rmSync(target.path);
  let server: Server<unknown>;
  try {
    if (options.shared === true && target.kind === "tcp" && target.port !== 0) probe(target);
    server = serve(target) as Server<unknown>;
  } catch (error) {
    throw listenError(target, error);
  }
  const url =
    target.kind === "unix"
      ? raw
      : `${new URL(raw).protocol}//${server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname}:${server.port}`;
  return { url, server, target, stop: (force) => server.stop(force) };
}

/** Throws EADDRINUSE if anything listens on the port (a shared bind alone would not). */
function probe(target: { readonly hostname: string; readonly port: number }): void {
  const server = Bun.serve({
    hostname: target.hostname,
    port: target.port,
    fetch: () => new Response(null, { status: 503 }),
  });
  void server.stop(true);
}
