/**
 * A watch through the proxy whose member goes away goes on at another member, from where the
 * client stands; when the other member refuses that place (etcd's 401), the client's response
 * is cut so that it watches again itself. Raw stand-in members, so that a member can drop a
 * connection in the middle of a response.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { WatchPosition } from "../../src/proxy/watch-position.ts";
import { cleanUpProxies, proxyTo } from "../support/in-process-proxy.ts";

const listeners: TCPSocketListener<unknown>[] = [];
afterEach(async () => {
  await cleanUpProxies();
  for (const l of listeners.splice(0)) l.stop(true);
});

interface Reply {
  /** Status line and headers of a chunked 200, as Go's server flushes a watch's. */
  head(index: number): void;
  chunk(text: string): void;
  /** A complete response with a body of known length. */
  whole(status: string, body: string, index?: number): void;
  /** The member goes away: the connection drops mid-response. */
  cut(): void;
}

/**
 * `count` stand-in members sharing one script: `onWatch(n, target, reply)` for the n-th watch
 * any of them got (from 0); any other GET gets 404 with X-Etcd-Index 4.
 */
function members(count: number, onWatch: (n: number, target: string, reply: Reply) => void) {
  const targets: string[] = [];
  const urls: string[] = [];
  for (let i = 0; i < count; i++) {
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket: Socket<unknown>, data) {
          const line = new TextDecoder().decode(data).split("\r\n")[0] ?? "";
          const target = line.split(" ")[1] ?? "";
          const reply: Reply = {
            head: (index) =>
              socket.write(
                `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Etcd-Index: ${index}\r\nTransfer-Encoding: chunked\r\n\r\n`,
              ),
            chunk: (text) => socket.write(`${text.length.toString(16)}\r\n${text}\r\n`),
            whole: (status, body, index = 3000) =>
              socket.write(
                `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nX-Etcd-Index: ${index}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
              ),
            cut: () => socket.terminate(),
          };
          if (!target.includes("wait=true")) return reply.whole("404 Not Found", "{}", 4);
          targets.push(target);
          onWatch(targets.length - 1, target, reply);
        },
      },
    });
    listeners.push(listener);
    urls.push(`http://127.0.0.1:${listener.port}`);
  }
  return { urls, targets };
}

const event = (index: number) =>
  `{"action":"set","node":{"key":"/w","value":"v${index}","modifiedIndex":${index},"createdIndex":${index}}}\n`;

/** Reads `response` until `lines` non-blank lines came, or the end, or an error. */
async function readLines(response: Response, lines: number): Promise<string[] | Error> {
  const reader = response.body?.getReader();
  let text = "";
  try {
    while (text.split("\n").filter((l) => l.trim() !== "").length < lines) {
      const chunk = await reader?.read();
      if (chunk === undefined || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
  } catch (error) {
    return error as Error;
  }
  await reader?.cancel();
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

describe("where a watch stands", () => {
  const at = (path: string, header: string | null, ...chunks: string[]) => {
    const p = new WatchPosition(new URL(`http://proxy${path}`), header);
    for (const c of chunks) p.observe(new TextEncoder().encode(c));
    return p.resumePath();
  };

  test("a long poll: its waitIndex, else one past the member's index; nothing once its event began", () => {
    expect(at("/v2/keys/a?wait=true&waitIndex=7", "40")).toBe("/v2/keys/a?wait=true&waitIndex=7");
    expect(at("/v2/keys/a?wait=true", "40", " ")).toBe("/v2/keys/a?wait=true&waitIndex=41");
    expect(at("/v2/keys/a?wait=true&waitIndex=0", "40")).toBe("/v2/keys/a?wait=true&waitIndex=41");
    expect(at("/v2/keys/a?wait=true", null)).toBeUndefined();
    expect(at("/v2/keys/a?wait=true", "40", '{"action":')).toBeUndefined();
  });

  test("a stream: one past the last whole event; nothing inside an event or after one it cannot read", () => {
    const path = "/v2/keys/a?wait=true&stream=true&recursive=true";
    expect(at(path, "40", " ", event(41), event(45))).toBe(
      "/v2/keys/a?wait=true&stream=true&recursive=true&waitIndex=46",
    );
    expect(at(path, "40", event(41).slice(0, 10))).toBeUndefined();
    expect(at(path, "40", event(41), "{}\n")).toBeUndefined();
    const split = event(42);
    expect(at(path, "40", split.slice(0, 20), split.slice(20))).toContain("waitIndex=43");
  });
});

describe("a watch whose member goes away", () => {
  test("a stream goes on at another member after its last event: none missed or repeated", async () => {
    const m = members(2, (n, _target, reply) => {
      reply.head(10);
      if (n === 0) {
        reply.chunk(event(11));
        setTimeout(() => reply.cut(), 100);
      } else {
        reply.chunk(event(12));
        reply.chunk(event(13));
      }
    });
    const base = await proxyTo(m.urls);
    const res = await fetch(`${base}/v2/keys/w?wait=true&stream=true`);
    expect(res.status).toBe(200);
    const lines = await readLines(res, 3);
    expect(lines).toEqual([event(11), event(12), event(13)].map((l) => l.trim()));
    expect(m.targets).toEqual([
      "/v2/keys/w?wait=true&stream=true",
      "/v2/keys/w?wait=true&stream=true&waitIndex=12",
    ]);
  });

  test("a long poll without waitIndex goes on from one past the index it was given", async () => {
    const m = members(2, (n, _target, reply) => {
      reply.head(20);
      if (n === 0) setTimeout(() => reply.cut(), 100);
      else {
        reply.chunk(event(21));
        reply.chunk("");
      }
    });
    const base = await proxyTo(m.urls);
    const res = await fetch(`${base}/v2/keys/w?wait=true`);
    expect(res.headers.get("x-etcd-index")).toBe("20");
    expect((await res.text()).trim()).toBe(event(21).trim());
    expect(m.targets.at(-1)).toBe("/v2/keys/w?wait=true&waitIndex=21");
  });

  test("another member answering 'event index cleared' (error 401) cuts the client, which then asks itself", async () => {
    const cleared =
      '{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [2001/5]","index":3000}';
    const m = members(2, (n, _target, reply) => {
      if (n === 0) {
        reply.head(4);
        setTimeout(() => reply.cut(), 100);
      } else reply.whole("400 Bad Request", cleared);
    });
    const lines: string[] = [];
    const base = await proxyTo(m.urls, { log: (l) => lines.push(l) });
    const res = await fetch(`${base}/v2/keys/w?wait=true&waitIndex=5&stream=true`);
    expect(res.status).toBe(200);
    expect(await readLines(res, 1)).toBeInstanceOf(Error);
    expect(m.targets).toEqual([
      "/v2/keys/w?wait=true&waitIndex=5&stream=true",
      "/v2/keys/w?wait=true&waitIndex=5&stream=true",
    ]);
    // Watching again, the client gets the member's answer as it is.
    const again = await fetch(`${base}/v2/keys/w?wait=true&waitIndex=5&stream=true`);
    expect([again.status, await again.text()]).toEqual([400, cleared]);
    expect(lines.some((l) => l.includes("lost") && l.includes("going on at another member"))).toBe(
      true,
    );
  });

  test("a shared long poll goes on at another member with the same waitIndex, for every client", async () => {
    const m = members(2, (n, _target, reply) => {
      reply.head(4);
      if (n === 0) setTimeout(() => reply.cut(), 300);
      else {
        reply.chunk(event(5));
        reply.chunk("");
      }
    });
    const base = await proxyTo(m.urls);
    const url = `${base}/v2/keys/w?wait=true&waitIndex=5`;
    const heads = await Promise.all(Array.from({ length: 20 }, () => fetch(url)));
    expect(heads.map((r) => r.status)).toEqual(heads.map(() => 200));
    const bodies = await Promise.all(heads.map((r) => r.text()));
    expect(new Set(bodies.map((b) => b.trim()))).toEqual(new Set([event(5).trim()]));
    expect(m.targets).toEqual([
      "/v2/keys/w?wait=true&waitIndex=5",
      "/v2/keys/w?wait=true&waitIndex=5",
    ]);
  });
});
