/**
 * A raw HTTP/1.1 client for tests that must send a request target exactly as written: `fetch`
 * normalises `/./`, `/../` and `%2e` segments before they leave the process, so it cannot test
 * how a server cleans paths. One request per connection (`Connection: close`); the response is
 * read until the server closes, with chunked bodies decoded.
 */
import { connect } from "node:net";

export interface RawRequest {
  readonly method: string;
  /** The request target, sent byte for byte. */
  readonly target: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** An HTTP/1.0 request with no Host header (as load-balancer health checks send). */
  readonly http10?: boolean;
}

const RAW_TIMEOUT_MS = 10_000;

export interface RawOptions {
  /** Called once the response's header block has arrived (a watch's, before its event). */
  readonly onHead?: () => void;
  readonly timeoutMs?: number;
}

/**
 * Sends `req` to `baseUrl` (http://host:port) and returns the response as a fetch Response.
 * Not bound by fetch's cap on requests in flight, so a test can hold a thousand watches.
 */
export function rawRequest(
  baseUrl: string,
  req: RawRequest,
  options: RawOptions = {},
): Promise<Response> {
  const timeoutMs = options.timeoutMs ?? RAW_TIMEOUT_MS;
  const url = new URL(baseUrl);
  const body = Buffer.from(req.body ?? "");
  const ownHost = Object.keys(req.headers ?? {}).some((h) => h.toLowerCase() === "host");
  const lines = req.http10
    ? [`${req.method} ${req.target} HTTP/1.0`]
    : [`${req.method} ${req.target} HTTP/1.1`, "Connection: close"];
  if (!ownHost && !req.http10) lines.splice(1, 0, `Host: ${url.host}`);
  for (const [name, value] of Object.entries(req.headers ?? {})) lines.push(`${name}: ${value}`);
  if (req.body !== undefined) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw ${req.method} ${req.target}: no complete answer in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(Buffer.concat([head, body])));
    let headSeen = options.onHead === undefined;
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (headSeen || Buffer.concat(chunks).indexOf("\r\n\r\n") < 0) return;
      headSeen = true;
      options.onHead?.();
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks), req.method));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function parseResponse(raw: Buffer, method: string): Response {
  const headEnd = raw.indexOf("\r\n\r\n");
  if (headEnd < 0) throw new Error(`incomplete HTTP response: ${JSON.stringify(raw.toString())}`);
  const [statusLine = "", ...headerLines] = raw
    .subarray(0, headEnd)
    .toString("latin1")
    .split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers = new Headers();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let body = raw.subarray(headEnd + 4);
  if ((headers.get("transfer-encoding") ?? "").toLowerCase() === "chunked") body = dechunk(body);
  const noBody = method === "HEAD" || status === 204 || status === 304;
  return new Response(noBody ? null : body, { status, headers });
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString(), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
