/**
 * The proxy's parts in one process: endpoint order and failure wait, the cluster file, member
 * lists, refreshes, and forwarding against small upstream servers standing in for members.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import {
  ClusterFileError,
  readClusterFile,
  writeClusterFile,
} from "../../src/proxy/cluster-file.ts";
import { ClusterUnreachable, parseMembers } from "../../src/proxy/cluster-source.ts";
import { Endpoints } from "../../src/proxy/endpoints.ts";
import { forward } from "../../src/proxy/forward.ts";
import { Refresher } from "../../src/proxy/refresher.ts";
import { shareKey } from "../../src/proxy/watch-coalescer.ts";
import { Prng } from "../../src/util/prng.ts";
import { cleanUpProxies, proxyTo, tempDir } from "../support/in-process-proxy.ts";

const servers: Server<unknown>[] = [];
afterEach(async () => {
  await cleanUpProxies();
  for (const s of servers.splice(0)) s.stop(true);
});

describe("endpoints", () => {
  test("a refresh shuffles them; a failed one is skipped for the failure wait only", () => {
    let now = 1000;
    const prng = new Prng(7);
    const e = new Endpoints(5000, { now: () => now }, () => prng.nextFloat());
    const urls = ["http://a", "http://b", "http://c", "http://d"];
    const orders = new Set<string>();
    for (let i = 0; i < 20; i++) {
      e.replace(urls);
      orders.add(
        e
          .available()
          .map((x) => x.url)
          .join(),
      );
      expect(
        e
          .available()
          .map((x) => x.url)
          .sort(),
      ).toEqual(urls);
    }
    expect(orders.size).toBeGreaterThan(1);
    const first = e.available()[0];
    if (first === undefined) throw new Error("no endpoint");
    expect(e.failed(first)).toBe(true);
    expect(e.failed(first)).toBe(false); // already waiting: not marked (or logged) twice
    expect(e.available().map((x) => x.url)).not.toContain(first.url);
    now += 4999;
    expect(e.available()).toHaveLength(3);
    now += 1;
    expect(e.available()).toHaveLength(4);
  });
});

describe("cluster file", () => {
  test("written in etcd's format and read back; none yet is undefined; a bad one is an error", () => {
    const dir = tempDir();
    const file = join(dir, "cluster");
    expect(readClusterFile(file)).toBeUndefined();
    writeClusterFile(file, ["http://127.0.0.1:2380", "http://127.0.0.1:2381"]);
    expect(readFileSync(file, "utf8")).toBe(
      '{"PeerURLs":["http://127.0.0.1:2380","http://127.0.0.1:2381"]}',
    );
    expect(readClusterFile(file)).toEqual(["http://127.0.0.1:2380", "http://127.0.0.1:2381"]);
    writeFileSync(file, "{not json");
    expect(() => readClusterFile(file)).toThrow(ClusterFileError);
    writeFileSync(file, '{"PeerURLs":[1]}');
    expect(() => readClusterFile(file)).toThrow(ClusterFileError);
  });
});

test("a member list gives every client and peer URL, sorted; anything else gives nothing", () => {
  const text =
    '[{"id":10221683743416816908,"name":"b","peerURLs":["http://h:2"],"clientURLs":["http://h:12","http://h:13"]},' +
    '{"id":1,"name":"a","peerURLs":["http://h:1"],"clientURLs":["http://h:11"]},{"id":2,"peerURLs":["http://h:3"]}]';
  expect(parseMembers(text)).toEqual({
    clientUrls: ["http://h:11", "http://h:12", "http://h:13"],
    peerUrls: ["http://h:1", "http://h:2", "http://h:3"],
  });
  expect(parseMembers("404 page not found")).toBeUndefined();
  expect(parseMembers('{"members":[]}')).toBeUndefined();
  expect(parseMembers('[{"clientURLs":"http://h:1"}]')).toBeUndefined();
});

describe("refresher", () => {
  test("takes the members' URLs, writes the cluster file once per change, keeps endpoints on failure", async () => {
    const dir = tempDir();
    const file = join(dir, "cluster");
    const endpoints = new Endpoints(5000, { now: () => 0 });
    const lines: string[] = [];
    let answer: (() => { clientUrls: string[]; peerUrls: string[] }) | undefined = () => ({
      clientUrls: ["http://c1", "http://c2"],
      peerUrls: ["http://p1", "http://p2"],
    });
    const asked: string[][] = [];
    const r = new Refresher({
      file,
      peerUrls: ["http://p1"],
      endpoints,
      fetchCluster: async (peers) => {
        asked.push([...peers]);
        if (answer === undefined) throw new ClusterUnreachable("could not retrieve");
        return answer();
      },
      refreshIntervalMs: 60_000,
      log: (l) => lines.push(l),
    });
    await r.refresh();
    r.stop();
    expect(
      endpoints
        .available()
        .map((e) => e.url)
        .sort(),
    ).toEqual(["http://c1", "http://c2"]);
    expect(readClusterFile(file)).toEqual(["http://p1", "http://p2"]);
    answer = undefined;
    await r.refresh();
    expect(asked.at(-1)).toEqual(["http://p1", "http://p2"]);
    expect(endpoints.known).toBe(2);
    expect(lines.at(-1)).toBe("proxy: could not retrieve");
  });
});

/** An upstream standing in for a member: records what it got, answers with `reply`. */
function upstream(reply: (req: Request) => Response | Promise<Response>) {
  const seen: { method: string; url: string; headers: Headers; body: string }[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      seen.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: await req.text(),
      });
      return reply(req);
    },
  });
  servers.push(server as Server<unknown>);
  return { url: `http://127.0.0.1:${server.port}`, seen, server };
}

describe("forwarding", () => {
  test("the body, method and query go through; hop-by-hop headers stay behind; X-Forwarded-For is added", async () => {
    const up = upstream(
      () =>
        new Response('{"ok":true}', {
          status: 201,
          headers: {
            "x-etcd-index": "7",
            "keep-alive": "timeout=5",
            "content-type": "application/json",
          },
        }),
    );
    const base = await proxyTo([up.url]);
    const res = await fetch(`${base}/v2/keys/a?prevExist=false`, {
      method: "PUT",
      body: "value=1",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-forwarded-for": "10.0.0.1",
        "proxy-authorization": "secret",
        te: "trailers",
      },
    });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('{"ok":true}');
    expect(res.headers.get("x-etcd-index")).toBe("7");
    expect(res.headers.get("keep-alive")).toBeNull();
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const got = up.seen[0];
    expect(got?.method).toBe("PUT");
    expect(new URL(got?.url ?? "").pathname + new URL(got?.url ?? "").search).toBe(
      "/v2/keys/a?prevExist=false",
    );
    expect(got?.body).toBe("value=1");
    expect(got?.headers.get("x-forwarded-for")).toBe("10.0.0.1, 127.0.0.1");
    expect(got?.headers.get("proxy-authorization")).toBeNull();
    expect(got?.headers.get("te")).toBeNull();
  });

  test("an endpoint that refuses is skipped for the failure wait; the next one answers", async () => {
    const up = upstream(() => new Response("from b"));
    const dead = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const deadUrl = `http://127.0.0.1:${dead.port}`;
    dead.stop(true);
    // random() near 1 keeps the given order: the dead one first.
    const endpoints = new Endpoints(5000, { now: () => performance.now() }, () => 0.999);
    endpoints.replace([deadUrl, up.url]);
    const lines: string[] = [];
    const options = {
      endpoints,
      reachable: () => true,
      readTimeoutMs: 0,
      log: (l: string) => lines.push(l),
    };
    const target = new URL("http://proxy/v2/keys/a");
    for (let i = 0; i < 3; i++) {
      const res = await forward(new Request(target.href), target, "127.0.0.1", options);
      expect(await res.text()).toBe("from b");
    }
    expect(endpoints.available().map((e) => e.url)).toEqual([up.url]);
    expect(lines.filter((l) => l.startsWith("marked endpoint"))).toEqual([
      `marked endpoint ${deadUrl} unavailable`,
    ]);
    expect(up.seen).toHaveLength(3);
  });

  test("every endpoint refusing: 502 with etcd's words, then 503 while they wait", async () => {
    const dead = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const deadUrl = `http://127.0.0.1:${dead.port}`;
    dead.stop(true);
    const base = await proxyTo([deadUrl]);
    const first = await fetch(`${base}/v2/keys/a`);
    expect([first.status, await first.text()]).toEqual([
      502,
      '{"message":"httpproxy: unable to get response from 1 endpoint(s)"}',
    ]);
    const second = await fetch(`${base}/v2/keys/a`);
    expect([second.status, await second.text()]).toEqual([
      503,
      '{"message":"httpproxy: zero endpoints currently available"}',
    ]);
  });

  test("the proxy's own paths: config GET only, OPTIONS answered here, unclean paths 301", async () => {
    const up = upstream(() => new Response("upstream"));
    const base = await proxyTo([up.url]);
    const post = await fetch(`${base}/v2/config/local/proxy`, { method: "POST" });
    expect([post.status, post.headers.get("allow"), await post.text()]).toEqual([
      405,
      "GET",
      "Method Not Allowed\n",
    ]);
    const options = await fetch(`${base}/v2/keys/a`, { method: "OPTIONS" });
    expect([options.status, options.headers.get("access-control-allow-methods")]).toEqual([
      200,
      "POST, GET, OPTIONS, PUT, DELETE",
    ]);
    const proc = Bun.spawn([
      "curl",
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code} %{redirect_url}",
      "--path-as-is",
      `${base}/v2/keys/a/../b`,
    ]);
    expect(await new Response(proc.stdout).text()).toBe(`301 ${base}/v2/keys/b`);
    expect(up.seen).toEqual([]);
  });

  test("a read timeout cuts an upstream that goes quiet, and the next endpoint is tried", async () => {
    const slow = upstream(() => Bun.sleep(1000).then(() => new Response("late")));
    const fast = upstream(() => new Response("fast"));
    const base = await proxyTo([slow.url, fast.url], { readTimeoutMs: 100 });
    const started = performance.now();
    const res = await fetch(`${base}/v2/keys/a`);
    expect(await res.text()).toBe("fast");
    expect(performance.now() - started).toBeLessThan(900);
  });

  test("a waiting watch gets its headers before its event", async () => {
    // A raw upstream, as Go's server answers a watch: headers flushed at once, chunks later.
    let socketOf: ((chunk: string) => void) | undefined;
    const raw = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket) {
          socket.write(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Etcd-Index: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
          );
          socketOf = (chunk) => socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
        },
      },
    });
    try {
      const base = await proxyTo([`http://127.0.0.1:${raw.port}`]);
      const res = await fetch(`${base}/v2/keys/w?wait=true`, { signal: AbortSignal.timeout(3000) });
      expect([res.status, res.headers.get("x-etcd-index")]).toEqual([200, "3"]);
      socketOf?.('{"action":"set"}\n');
      const reader = res.body?.getReader();
      let text = "";
      while (!text.includes("set")) {
        const chunk = await reader?.read();
        if (chunk === undefined || chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
      await reader?.cancel();
      // The proxy's header flush is one space ahead of the event.
      expect(text).toBe(' {"action":"set"}\n');
    } finally {
      raw.stop(true);
    }
  });
});

/**
 * A raw stand-in member that answers watches as Go's server does (headers at once, the event
 * later) and any other GET with `X-Etcd-Index: index()`; it counts the watches it got.
 */
function watchUpstream(index: () => number) {
  const watches: string[] = [];
  const waiting: ((event: string) => void)[] = [];
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, data) {
        const line = new TextDecoder().decode(data).split("\r\n")[0] ?? "";
        const target = line.split(" ")[1] ?? "";
        if (!target.includes("wait=true")) {
          const body = '{"errorCode":100}';
          socket.write(
            `HTTP/1.1 404 Not Found\r\nX-Etcd-Index: ${index()}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          );
          return;
        }
        watches.push(target);
        socket.write(
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Etcd-Index: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        waiting.push((event) => {
          socket.write(`${event.length.toString(16)}\r\n${event}\r\n0\r\n\r\n`);
        });
      },
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    watches,
    fire(event: string) {
      for (const send of waiting.splice(0)) send(event);
    },
    stop: () => server.stop(true),
  };
}

describe("identical watches share one upstream watch", () => {
  test("50 clients with the same waitIndex: one upstream watch, each gets the event", async () => {
    const up = watchUpstream(() => 4);
    try {
      const base = await proxyTo([up.url]);
      const url = `${base}/v2/keys/svc?wait=true&waitIndex=5`;
      const responses = Array.from({ length: 50 }, () => fetch(url));
      // Every client's headers came (joiners after their index read) before the event.
      const heads = await Promise.all(responses);
      expect(heads.map((r) => r.status)).toEqual(heads.map(() => 200));
      expect(up.watches).toEqual(["/v2/keys/svc?wait=true&waitIndex=5"]);
      up.fire('{"action":"set","node":{"key":"/svc","modifiedIndex":5}}\n');
      const bodies = await Promise.all(heads.map((r) => r.text()));
      for (const b of bodies) {
        expect(b.trimStart()).toBe('{"action":"set","node":{"key":"/svc","modifiedIndex":5}}\n');
      }
      // The next round (waitIndex 6) opens a new one.
      const next = fetch(`${base}/v2/keys/svc?wait=true&waitIndex=6`);
      await Bun.sleep(100);
      expect(up.watches).toHaveLength(2);
      up.fire('{"action":"set","node":{"key":"/svc","modifiedIndex":6}}\n');
      expect((await (await next).text()).trim()).toContain('"modifiedIndex":6');
    } finally {
      up.stop();
    }
  });

  test("a client whose waitIndex left the member's history meanwhile watches on its own", async () => {
    let index = 4;
    const up = watchUpstream(() => index);
    try {
      const base = await proxyTo([up.url]);
      const url = `${base}/v2/keys/svc?wait=true&waitIndex=5`;
      const first = await fetch(url);
      expect(up.watches).toHaveLength(1);
      // 2,000 writes elsewhere since: a watch from 5 now would be refused 401 by the member.
      index = 2004;
      const late = fetch(url);
      await Bun.sleep(100);
      expect(up.watches).toHaveLength(2);
      up.fire('{"action":"set"}\n');
      expect((await first.text()).trim()).toBe('{"action":"set"}');
      expect((await (await late).text()).trim()).toBe('{"action":"set"}');
    } finally {
      up.stop();
    }
  });

  test("other watches are not shared: no waitIndex, a stream, another key or recursive flag", () => {
    const key = (u: string) => shareKey("GET", new URL(`http://p${u}`))?.key;
    expect(key("/v2/keys/a?wait=true&waitIndex=3")).toBeDefined();
    expect(key("/v2/keys/a?wait=true&waitIndex=3&recursive=true")).not.toBe(
      key("/v2/keys/a?wait=true&waitIndex=3"),
    );
    expect(key("/v2/keys/a?wait=true")).toBeUndefined();
    expect(key("/v2/keys/a?wait=true&waitIndex=3&stream=true")).toBeUndefined();
    expect(key("/v2/keys/a?wait=true&waitIndex=x")).toBeUndefined();
    expect(key("/v2/keys/a?wait=true&waitIndex=3&waitIndex=4")).toBeUndefined();
    expect(shareKey("PUT", new URL("http://p/v2/keys/a?wait=true&waitIndex=3"))).toBeUndefined();
  });
});
