/**
 * `--proxy-dial-timeout`: how long the proxy waits for a member to accept a connection before it
 * tries the next one. Bun's fetch has no connect timeout of its own, and a request's own wait
 * cannot be bounded (a write waits for its commit), so an endpoint that has not answered
 * recently, and so may need a new connection, is first dialled with a bare TCP connect bounded
 * by the timeout. One that answered within the last few seconds has a live pooled connection.
 */
import type { Endpoint } from "./endpoints.ts";

/** Bun keeps idle client connections about this long; within it no dial happens. */
const RECENT_MS = 5000;

export function dialCheck(
  timeoutMs: number,
  now: () => number,
): (endpoint: Endpoint) => boolean | Promise<boolean> {
  return (endpoint) => {
    if (timeoutMs === 0 || now() - endpoint.answeredAt < RECENT_MS) return true;
    const url = new URL(endpoint.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") return true;
    const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    return connectWithin(hostname, port, timeoutMs);
  };
}

/** True when a TCP connection to host:port opens within `ms` (closed at once). */
async function connectWithin(hostname: string, port: number, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const connected = Bun.connect({ hostname, port, socket: { data() {} } }).then(
    (socket) => {
      socket.end();
      return true;
    },
    // Refused or unreachable: the request itself will fail the same way and say why.
    () => true,
  );
  const result = await Promise.race([connected, timedOut]);
  clearTimeout(timer);
  return result;
}
