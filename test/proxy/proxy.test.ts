/**
 * The proxy role with real processes: an etcd-bun proxy in front of a 3-member etcd-bun cluster
 * and in front of a 3-member etcd 3.4 cluster, the same cases for both.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  type ClusterProcess,
  freePort,
  type MemberProcess,
  SERVER_KINDS,
  startCluster,
  startProxyProcess,
} from "../support/cluster-process.ts";
import { addAndStartMember, whileUnhealthy } from "../support/membership.ts";
import { rawRequest } from "../support/raw-http.ts";

/** Short, so membership changes and failures show up within a test's patience. */
/** Watchers on one key through one proxy, each on a connection of its own. */
const WATCHERS = 1000;
const PROXY_FLAGS = ["--proxy-refresh-interval", "300", "--proxy-failure-wait", "2000"];

async function endpointsOf(proxy: MemberProcess): Promise<string[]> {
  const res = await fetch(`${proxy.clientUrl}/v2/config/local/proxy`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { endpoints: string[] }).endpoints.sort();
}

/** Polls until `check` holds (bounded), returning its last value. */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, ms = 8000) {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!check(value) && Date.now() < deadline) {
    await Bun.sleep(100);
    value = await read();
  }
  return value;
}

async function storeWatchers(member: MemberProcess): Promise<number> {
  try {
    const res = await fetch(`${member.clientUrl}/v2/stats/store`, {
      signal: AbortSignal.timeout(2000),
    });
    return ((await res.json()) as { watchers: number }).watchers;
  } catch {
    // A member that is down holds none.
    return 0;
  }
}

describe.each(SERVER_KINDS)("a proxy in front of a 3-member %s cluster", (kind) => {
  let cluster: ClusterProcess;
  let proxy: MemberProcess;
  const extra: MemberProcess[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ size: 3, kind });
    const first = cluster.members[0] as MemberProcess;
    proxy = await startProxyProcess({
      initialCluster: `infra0=${first.peerUrl}`,
      extraArgs: PROXY_FLAGS,
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    for (const m of extra) await m.stop();
    await cluster?.stop();
  });

  test("its endpoints are every member's client URL, and its cluster file every peer URL", async () => {
    const clients = cluster.members.map((m) => m.clientUrl).sort();
    expect(
      await eventually(
        () => endpointsOf(proxy),
        (e) => e.length === 3,
      ),
    ).toEqual(clients);
    const file = JSON.parse(readFileSync(join(proxy.dataDir, "proxy", "cluster"), "utf8"));
    expect(file).toEqual({ PeerURLs: cluster.members.map((m) => m.peerUrl).sort() });
  });

  test("keys requests through it get what the members answer", async () => {
    const direct = cluster.members[1] as MemberProcess;
    const put = await fetch(`${proxy.clientUrl}/v2/keys/proxied/a`, {
      method: "PUT",
      body: new URLSearchParams({ value: "1" }),
    });
    expect(put.status).toBe(201);
    const index = put.headers.get("x-etcd-index");
    expect(put.headers.get("x-etcd-cluster-id")).toMatch(/^[0-9a-f]+$/);
    const viaProxy = await fetch(`${proxy.clientUrl}/v2/keys/proxied/a?quorum=true`);
    const viaMember = await fetch(`${direct.clientUrl}/v2/keys/proxied/a?quorum=true`);
    expect(viaProxy.status).toBe(200);
    expect(await viaProxy.text()).toBe(await viaMember.text());
    expect(viaProxy.headers.get("x-etcd-index")).toBe(index);
    const missing = await fetch(`${proxy.clientUrl}/v2/keys/proxied/none`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { errorCode: number }).errorCode).toBe(100);
    const members = await fetch(`${proxy.clientUrl}/v2/members`);
    expect(((await members.json()) as { members: unknown[] }).members).toHaveLength(3);
  });

  test("a long-poll watch and a stream watch get their events through it", async () => {
    const longPoll = fetch(`${proxy.clientUrl}/v2/keys/watched?wait=true`);
    const stream = await fetch(`${proxy.clientUrl}/v2/keys/watched?wait=true&stream=true`);
    await Bun.sleep(200);
    for (const value of ["x", "y"]) {
      const res = await fetch(`${proxy.clientUrl}/v2/keys/watched`, {
        method: "PUT",
        body: new URLSearchParams({ value }),
      });
      expect(res.status).toBeLessThan(300);
    }
    const event = (await (await longPoll).json()) as { node: { value: string } };
    expect(event.node.value).toBe("x");
    const reader = stream.body?.getReader();
    let text = "";
    const decoder = new TextDecoder();
    while (reader !== undefined && text.split("\n").filter((l) => l.trim() !== "").length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    await reader?.cancel();
    const values = text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => (JSON.parse(l) as { node: { value: string } }).node.value);
    expect(values).toEqual(["x", "y"]);
  });

  // Bun ends a request idle for 10 s (cut at 10 to 14 s); a watch must not be, however its
  // `wait` is spelled.
  test.if(kind === "etcd-bun")(
    "watches spelled wait=1 and wait=t wait past the idle timeout of other requests",
    async () => {
      // Raw requests: fetch would quietly send a cut GET again, hiding the cut.
      const watches = ["1", "t"].map((spelling) =>
        rawRequest(
          proxy.clientUrl,
          { method: "GET", target: `/v2/keys/idle-watch?wait=${spelling}` },
          { timeoutMs: 20_000 },
        ),
      );
      await Bun.sleep(15_000);
      const put = await fetch(`${proxy.clientUrl}/v2/keys/idle-watch`, {
        method: "PUT",
        body: new URLSearchParams({ value: "late" }),
      });
      expect(put.status).toBe(201);
      for (const watch of watches) {
        const answer = await watch;
        expect(answer.status).toBe(200);
        expect(((await answer.json()) as { node: { value: string } }).node.value).toBe("late");
      }
    },
    25_000,
  );

  test("1,000 watchers on one key share one upstream watch, round after round, and each gets every event", async () => {
    const probe = await fetch(`${proxy.clientUrl}/v2/keys/shared-watch`);
    await probe.arrayBuffer();
    let waitIndex = Number(probe.headers.get("x-etcd-index")) + 1;
    for (const value of ["v1", "v2"]) {
      const heads: Promise<void>[] = [];
      const answers = Array.from({ length: WATCHERS }, () => {
        const head = Promise.withResolvers<void>();
        heads.push(head.promise);
        const target = `/v2/keys/shared-watch?wait=true&waitIndex=${waitIndex}`;
        return rawRequest(
          proxy.clientUrl,
          { method: "GET", target },
          { onHead: head.resolve, timeoutMs: 30_000 },
        );
      });
      await Promise.all(heads);
      const watchers = await Promise.all(cluster.members.map(storeWatchers));
      expect(watchers.reduce((a, b) => a + b, 0)).toBe(1);
      const put = await fetch(`${proxy.clientUrl}/v2/keys/shared-watch`, {
        method: "PUT",
        body: new URLSearchParams({ value }),
      });
      expect(put.status).toBeLessThan(300);
      const events = await Promise.all(
        answers.map(async (r) => {
          const res = await r;
          return JSON.parse(await res.text()) as { node: { value: string; modifiedIndex: number } };
        }),
      );
      expect(new Set(events.map((e) => e.node.value))).toEqual(new Set([value]));
      expect(events).toHaveLength(WATCHERS);
      waitIndex = (events[0]?.node.modifiedIndex ?? 0) + 1;
    }
  }, 90_000);

  test("a readonly proxy forwards GETs and answers anything else 501", async () => {
    const first = cluster.members[0] as MemberProcess;
    const ro = await startProxyProcess({
      mode: "readonly",
      initialCluster: `infra0=${first.peerUrl}`,
      extraArgs: PROXY_FLAGS,
    });
    try {
      expect((await fetch(`${ro.clientUrl}/v2/keys/proxied/a`)).status).toBe(200);
      for (const method of ["PUT", "POST", "DELETE", "HEAD", "OPTIONS"]) {
        const res = await fetch(`${ro.clientUrl}/v2/keys/proxied/a`, { method });
        expect([method, res.status, await res.text()]).toEqual([method, 501, ""]);
      }
    } finally {
      await ro.stop();
    }
  });

  test("a restarted proxy finds the cluster in its cluster file", async () => {
    const first = cluster.members[0] as MemberProcess;
    const p = await startProxyProcess({
      initialCluster: `infra0=${first.peerUrl}`,
      extraArgs: PROXY_FLAGS,
    });
    await eventually(
      () => endpointsOf(p),
      (e) => e.length === 3,
    );
    await p.kill();
    // The original peer named nowhere now: only the cluster file can lead it to the members.
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const again = await startProxyProcess({
      dataDir: p.dataDir,
      initialCluster: `gone=${nowhere}`,
      extraArgs: PROXY_FLAGS,
    });
    try {
      expect(again.output()).toContain("from cluster file");
      expect((await fetch(`${again.clientUrl}/v2/keys/proxied/a`)).status).toBe(200);
    } finally {
      await again.stop();
    }
  });

  test("a member added or removed shows up in its endpoints within a refresh", async () => {
    const seed = cluster.members[0] as MemberProcess;
    const added = await addAndStartMember(seed, "infra3", [], kind);
    extra.push(added);
    const withNew = await eventually(
      () => endpointsOf(proxy),
      (e) => e.includes(added.clientUrl),
    );
    expect(withNew).toContain(added.clientUrl);
    const list = (await (await fetch(`${seed.clientUrl}/v2/members`)).json()) as {
      members: { id: string; name: string }[];
    };
    const id = list.members.find((m) => m.name === "infra3")?.id ?? "";
    const res = await whileUnhealthy(() =>
      fetch(`${seed.clientUrl}/v2/members/${id}`, { method: "DELETE" }),
    );
    expect(res.status).toBe(204);
    const without = await eventually(
      () => endpointsOf(proxy),
      (e) => !e.includes(added.clientUrl),
    );
    expect(without).toEqual(cluster.members.map((m) => m.clientUrl).sort());
  }, 60_000);

  /** The one member holding `count` watchers (the proxy's upstream watches), once it does. */
  async function holderOf(count: number): Promise<MemberProcess> {
    const perMember = await eventually(
      () => Promise.all(cluster.members.map(storeWatchers)),
      (w) => w.reduce((a, b) => a + b, 0) === count && w.includes(count),
    );
    const holder = cluster.members[perMember.indexOf(count)];
    if (holder === undefined) throw new Error(`no member holds ${count} watcher(s): ${perMember}`);
    return holder;
  }

  /** Creates `key` through the proxy, again while the cluster elects a leader (bounded). */
  async function createThroughProxy(key: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await fetch(`${proxy.clientUrl}/v2/keys/${key}?prevExist=false`, {
        method: "PUT",
        body: new URLSearchParams({ value: key }),
        signal: AbortSignal.timeout(5000),
      }).catch(() => undefined);
      await res?.arrayBuffer();
      // 412: an earlier try that seemed to fail was applied.
      if (res?.status === 201 || res?.status === 412) return;
      if (Date.now() > deadline) throw new Error(`cannot create ${key}: ${res?.status}`);
      await Bun.sleep(200);
    }
  }

  test("a watch whose member is killed goes on at another member: no event missed or repeated", async () => {
    // A shared long poll (two clients, one upstream watch).
    const probe = await fetch(`${proxy.clientUrl}/v2/keys/failover`);
    await probe.arrayBuffer();
    const waitIndex = Number(probe.headers.get("x-etcd-index")) + 1;
    const url = `${proxy.clientUrl}/v2/keys/failover?wait=true&recursive=true&waitIndex=${waitIndex}`;
    const polls = await Promise.all([fetch(url), fetch(url)]);
    let holder = await holderOf(1);
    await holder.kill("SIGKILL");
    await createThroughProxy("failover/1");
    const got = await Promise.all(polls.map(async (r) => JSON.parse(await r.text())));
    expect(got.map((e) => e.node.key)).toEqual(["/failover/1", "/failover/1"]);
    await holder.restart();

    // A stream, cut after its first event.
    const stream = await fetch(
      `${proxy.clientUrl}/v2/keys/failover?wait=true&recursive=true&stream=true`,
    );
    holder = await holderOf(1);
    const reader = stream.body?.getReader();
    const keys: string[] = [];
    let text = "";
    const readUntil = async (n: number) => {
      while (reader !== undefined && keys.length < n) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
        const lines = text.split("\n");
        text = lines.pop() ?? "";
        for (const l of lines.filter((x) => x.trim() !== "")) keys.push(JSON.parse(l).node.key);
      }
    };
    await createThroughProxy("failover/2");
    await readUntil(1);
    await holder.kill("SIGKILL");
    await createThroughProxy("failover/3");
    await createThroughProxy("failover/4");
    await readUntil(3);
    await reader?.cancel();
    expect(keys).toEqual(["/failover/2", "/failover/3", "/failover/4"]);
    await holder.restart();
  }, 90_000);

  test("a member going down is skipped; with every member down: 502, then 503", async () => {
    const [, m1, m2] = cluster.members as MemberProcess[];
    await m2?.kill("SIGKILL");
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${proxy.clientUrl}/v2/keys/proxied/a`);
      expect(res.status).toBe(200);
    }
    await m1?.kill("SIGKILL");
    await cluster.members[0]?.kill("SIGKILL");
    // Endpoints marked failed by the requests above may be skipped; one that is not fails now.
    const statuses: number[] = [];
    const bodies: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${proxy.clientUrl}/v2/keys/proxied/a`);
      statuses.push(res.status);
      bodies.push(await res.text());
    }
    expect(statuses.at(-1)).toBe(503);
    expect(bodies.at(-1)).toBe('{"message":"httpproxy: zero endpoints currently available"}');
    if (statuses[0] === 502) {
      expect(bodies[0]).toMatch(
        /^\{"message":"httpproxy: unable to get response from \d endpoint\(s\)"\}$/,
      );
    }
  }, 30_000);
});

test("a data dir with both a member and a proxy dir is refused", async () => {
  const { mkdtempSync, mkdirSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "etcd-bun-both-"));
  try {
    mkdirSync(join(dir, "member"));
    mkdirSync(join(dir, "proxy"));
    const proc = Bun.spawn(
      [process.execPath, join(import.meta.dir, "../../src/main.ts"), "--data-dir", dir],
      { stderr: "pipe", stdout: "pipe" },
    );
    expect(await proc.exited).toBe(1);
    expect(await new Response(proc.stderr).text()).toBe(
      "etcd-bun: invalid datadir. Both member and proxy directories exist.\n",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("with no member reachable a proxy answers 503 and its own endpoint; SIGTERM stops it with exit 0", async () => {
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "etcd-bun-proxy-sig-"));
  const port = await freePort();
  const nowhere = await freePort();
  const proc = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "../../src/main.ts"),
      "--proxy",
      "on",
      "--data-dir",
      dir,
      "--listen-client-urls",
      `http://127.0.0.1:${port}`,
      "--initial-cluster",
      `gone=http://127.0.0.1:${nowhere}`,
    ],
    { stderr: "pipe", stdout: "pipe" },
  );
  try {
    // No member answers: the proxy serves its own config endpoint all the same.
    let config: Response | undefined;
    for (let i = 0; i < 100 && config === undefined; i++) {
      config = await fetch(`http://127.0.0.1:${port}/v2/config/local/proxy`).catch(() => undefined);
      if (config === undefined) await Bun.sleep(50);
    }
    expect(await config?.json()).toEqual({ endpoints: [] });
    const none = await fetch(`http://127.0.0.1:${port}/v2/keys/a`);
    expect(none.status).toBe(503);
    proc.kill("SIGTERM");
    expect(await Promise.race([proc.exited, Bun.sleep(6000).then(() => "hung")])).toBe(0);
    expect(await new Response(proc.stderr).text()).toContain("received SIGTERM, shutting down");
  } finally {
    proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
