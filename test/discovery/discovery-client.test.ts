/**
 * The discovery protocol's client against a real etcd-bun member holding the tokens (a
 * self-hosted discovery URL): each of etcd's outcomes, with etcd's words.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  DiscoveryError,
  type DiscoveryOptions,
  getCluster,
  joinCluster,
} from "../../src/discovery/discovery.ts";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";

let backing: MemberProcess;
beforeAll(async () => {
  backing = await startMember();
}, 30_000);
afterAll(async () => {
  await backing?.stop();
});

let tokens = 0;
/** A new token URL on the backing member, with `_config/size` set to `size` (if given). */
async function token(size?: string): Promise<string> {
  const url = `${backing.clientUrl}/v2/keys/discovery/t${Date.now()}x${tokens++}`;
  if (size !== undefined) {
    const res = await fetch(`${url}/_config/size`, {
      method: "PUT",
      body: new URLSearchParams({ value: size }),
    });
    expect(res.status).toBe(201);
  }
  return url;
}

function options(url: string, lines: string[] = []): DiscoveryOptions {
  return { url, proxy: "", log: (l) => lines.push(l) };
}

/** The error `promise` ends with. */
async function failure(promise: Promise<unknown>): Promise<DiscoveryError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof DiscoveryError)) throw new Error(`not a DiscoveryError: ${outcome}`);
  return outcome;
}

describe("joining through a token", () => {
  test("three members register and each gets the same cluster, in registration order", async () => {
    const url = await token("3");
    const lines: string[][] = [[], [], []];
    const joins = ["a", "b", "c"].map(async (name, i) => {
      await Bun.sleep(i * 100);
      return joinCluster(
        options(url, lines[i]),
        `${i + 1}0`,
        `${name}=http://127.0.0.1:${9000 + i}`,
      );
    });
    const clusters = await Promise.all(joins);
    const expected = "a=http://127.0.0.1:9000,b=http://127.0.0.1:9001,c=http://127.0.0.1:9002";
    expect(clusters).toEqual([expected, expected, expected]);
    const registered = (await (await fetch(`${url}?recursive=true`)).json()) as {
      node: { nodes: { key: string; value: string }[] };
    };
    expect(registered.node.nodes.map((n) => n.key.split("/").at(-1)).sort()).toEqual([
      "10",
      "20",
      "30",
    ]);
    expect(lines[0]).toEqual([
      "discovery: found self 10 in the cluster",
      "discovery: found 1 peer(s), waiting for 2 more",
      "discovery: found peer 20 in the cluster",
      "discovery: found 2 peer(s), waiting for 1 more",
      "discovery: found peer 30 in the cluster",
      "discovery: found 3 needed peer(s)",
    ]);
    expect(lines[2]?.at(-1)).toBe("discovery: found 3 needed peer(s)");
  });

  test("a member after the size is reached: cluster is full; a proxy gets the first size", async () => {
    const url = await token("1");
    expect(await joinCluster(options(url), "a1", "a=http://127.0.0.1:9100")).toBe(
      "a=http://127.0.0.1:9100",
    );
    const full = await failure(joinCluster(options(url), "b1", "b=http://127.0.0.1:9101"));
    expect([full.kind, full.message]).toEqual(["fullCluster", "discovery: cluster is full"]);
    // The late member never registered (`_config` is hidden from listings).
    const listing = await (await fetch(url)).json();
    expect((listing as { node: { nodes: unknown[] } }).node.nodes).toHaveLength(1);
    expect(await getCluster(options(url))).toBe("a=http://127.0.0.1:9100");
  });

  test("a member registered before (its data dir lost) is a duplicate id", async () => {
    const url = await token("2");
    await fetch(`${url}/c1`, {
      method: "PUT",
      body: new URLSearchParams({ value: "c=http://h:1" }),
    });
    const e = await failure(joinCluster(options(url), "c1", "c=http://h:1"));
    expect(e.message).toBe("discovery: found duplicate id");
  });

  test("two registrations with one name: duplicate name, for both", async () => {
    const url = await token("2");
    const both = await Promise.all([
      failure(joinCluster(options(url), "d1", "d=http://127.0.0.1:9201")),
      failure(joinCluster(options(url), "d2", "d=http://127.0.0.1:9202")),
    ]);
    expect(both.map((e) => e.message)).toEqual([
      "discovery: found duplicate name",
      "discovery: found duplicate name",
    ]);
  });

  test("a registration that is no name=URL: invalid URL", async () => {
    const url = await token("2");
    await fetch(`${url}/e0`, { method: "PUT", body: new URLSearchParams({ value: "garbage" }) });
    const e = await failure(joinCluster(options(url), "e1", "e=http://127.0.0.1:9301"));
    expect(e.message).toBe("discovery: invalid URL");
  });
});

test("--discovery-proxy: every request goes through the HTTP proxy", async () => {
  const url = await token("1");
  const seen: string[] = [];
  // A forward proxy: requests come in absolute form and are sent on.
  const proxy = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      seen.push(`${request.method} ${request.url}`);
      const body = request.method === "GET" ? undefined : await request.text();
      const res = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(body === undefined ? {} : { body }),
      });
      return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
    },
  });
  try {
    const cluster = await joinCluster(
      { url, proxy: `http://127.0.0.1:${proxy.port}`, log: () => {} },
      "p1",
      "p=http://127.0.0.1:9400",
    );
    expect(cluster).toBe("p=http://127.0.0.1:9400");
    const path = new URL(url).pathname;
    expect(seen).toContain(`PUT ${backing.clientUrl}${path}/p1?prevExist=false`);
    expect(
      seen.filter((l) => l.startsWith(`GET ${backing.clientUrl}${path}`)).length,
    ).toBeGreaterThan(2);
  } finally {
    proxy.stop(true);
  }
});

describe("a token that cannot be used", () => {
  test("no size key: the host's own error, as etcd 3.4 reports it", async () => {
    const url = await token();
    const e = await failure(joinCluster(options(url), "f1", "f=http://h:1"));
    const path = new URL(url).pathname.replace("/v2/keys", "");
    expect(e.message).toMatch(
      new RegExp(`^100: Key not found \\(${path.replaceAll("/", "\\/")}\\) \\[\\d+\\]$`),
    );
  });

  test("a size that is no number: size key is bad", async () => {
    const e = await failure(joinCluster(options(await token("three")), "g1", "g=http://h:1"));
    expect(e.message).toBe("discovery: size key is bad");
  });

  test("a host that answers no JSON: bad discovery endpoint", async () => {
    const html = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("<html>") });
    try {
      const e = await failure(
        joinCluster(options(`http://127.0.0.1:${html.port}/tok`), "h1", "h=http://h:1"),
      );
      expect(e.message).toBe("discovery: bad discovery endpoint");
    } finally {
      html.stop(true);
    }
  });

  test("5xx answers (no leader, a balancer's 502) are retried as etcd's client does", async () => {
    const url = await token("1");
    const backingUrl = new URL(url);
    const failing = [503, 502, 500];
    const flaky = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (request) => {
        const status = failing.shift();
        if (status !== undefined) return new Response("<html>busy</html>", { status });
        const target = new URL(request.url);
        const body = request.method === "GET" ? undefined : await request.text();
        const res = await fetch(`${backingUrl.origin}${target.pathname}${target.search}`, {
          method: request.method,
          headers: request.headers,
          ...(body === undefined ? {} : { body }),
        });
        return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
      },
    });
    const origin = `http://127.0.0.1:${flaky.port}`;
    const lines: string[] = [];
    const waits: number[] = [];
    try {
      const cluster = await joinCluster(
        {
          ...options(`${origin}${backingUrl.pathname}`, lines),
          sleep: async (ms) => {
            waits.push(ms);
          },
        },
        "r1",
        "r=http://127.0.0.1:9401",
      );
      expect(cluster).toBe("r=http://127.0.0.1:9401");
      expect(waits).toEqual([2000, 4000, 8000]);
      expect(lines.filter((l) => l.startsWith("discovery: error #0"))).toEqual([
        `discovery: error #0: client: etcd member ${origin} has no leader`,
        `discovery: error #0: client: etcd member ${origin} returns server error [Bad Gateway]`,
        `discovery: error #0: client: etcd member ${origin} has no leader`,
      ]);
    } finally {
      flaky.stop(true);
    }
  });

  test("a host that cannot be reached is retried, waiting 2, 4, 8 s ... as etcd", async () => {
    const down = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const origin = `http://127.0.0.1:${down.port}`;
    const url = `${origin}/v2/keys/tok`;
    down.stop(true);
    const waits: number[] = [];
    const lines: string[] = [];
    const stop = new Error("enough");
    const outcome = await joinCluster(
      {
        ...options(url, lines),
        sleep: async (ms) => {
          waits.push(ms);
          if (waits.length === 3) throw stop;
        },
      },
      "i1",
      "i=http://h:1",
    ).catch((error: unknown) => error);
    expect(outcome).toBe(stop);
    expect(waits).toEqual([2000, 4000, 8000]);
    expect(lines[1]).toBe(
      `discovery: cluster status check: error connecting to ${origin}, retrying in 2s`,
    );
  });
});
