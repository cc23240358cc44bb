import { afterEach, describe, expect, test } from "bun:test";
import type { Message, MsgSnap } from "../../src/raft/types.ts";
import { encodeMessages } from "../../src/transport/codec.ts";
import {
  app,
  deadPort,
  heartbeat,
  mesh,
  startMember,
  type TestMember,
  waitFor,
} from "./harness.ts";

const running: TestMember[] = [];
function member(opts: Parameters<typeof startMember>[0]): TestMember {
  const m = startMember(opts);
  running.push(m);
  return m;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.stop()));
});

function indexes(msgs: Message[], from: string): number[] {
  return msgs
    .filter((m) => m.from === from && m.type === "MsgApp")
    .map((m) => (m as { index: number }).index);
}

describe("transport", () => {
  test("two members exchange batches in order, one frame per peer per send", async () => {
    const a = member({ id: "a" });
    const b = member({ id: "b" });
    mesh([a, b]);
    const batches = 200;
    for (let i = 0; i < batches; i++) {
      a.transport.send([app("a", "b", 2 * i, 3), app("a", "b", 2 * i + 1, 0)]);
      b.transport.send([heartbeat("b", "a", i)]);
    }
    await waitFor(() => b.received.length === 2 * batches && a.received.length === batches, "all");
    expect(indexes(b.received, "a")).toEqual(Array.from({ length: 2 * batches }, (_, i) => i));
    expect(a.received.map((m) => (m as { commit: number }).commit)).toEqual(
      Array.from({ length: batches }, (_, i) => i),
    );
    // Payloads are decoded as views into each frame; none is overwritten by later frames.
    for (const m of b.received) {
      if (m.type !== "MsgApp") throw new Error(`unexpected ${m.type}`);
      for (const e of m.entries) expect(e.data).toEqual(new Uint8Array(16).fill(m.index & 0xff));
    }
    expect(a.transport.isActive("b")).toBe(true);
    expect(a.transport.activeSince("b")).toBeGreaterThan(Date.now() - 10_000);
    await waitFor(() => (a.transport.stats().b?.latencyMs.maximum ?? 0) > 0, "an ack");
    const s = a.transport.stats().b;
    expect(s?.sent).toBe(2 * batches);
    expect(s?.failed).toBe(0);
    expect(s?.latencyMs.minimum).toBeGreaterThan(0);
  });

  test("three members: each receives every peer's messages in that peer's order", async () => {
    const ms = ["x", "y", "z"].map((id) => member({ id }));
    mesh(ms);
    for (let i = 0; i < 100; i++) {
      for (const from of ms) {
        from.transport.send(ms.filter((to) => to !== from).map((to) => app(from.id, to.id, i, 1)));
      }
    }
    await waitFor(() => ms.every((m) => m.received.length === 200), "all messages");
    const expected = Array.from({ length: 100 }, (_, i) => i);
    for (const to of ms) {
      for (const from of ms)
        if (from !== to) expect(indexes(to.received, from.id)).toEqual(expected);
    }
  });

  test("re-dials after the receiving member restarts on the same port", async () => {
    const a = member({ id: "a", limits: { backoffMsMin: 10, backoffMsMax: 50 } });
    let b = member({ id: "b" });
    mesh([a, b]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor(() => b.received.length === 1, "first message");
    const port = b.port;
    await b.stop();
    running.splice(running.indexOf(b), 1);
    await waitFor(() => !a.transport.isActive("b"), "stream closed");
    b = member({ id: "b", port });
    b.transport.addPeer("a", [a.url]);
    for (let i = 0; i < 300 && b.received.length === 0; i++) {
      a.transport.send([heartbeat("a", "b", 2)]);
      await Bun.sleep(5);
    }
    await waitFor(() => b.received.length > 0, "message after restart");
    expect(b.received[0]).toMatchObject({ type: "MsgHeartbeat", commit: 2 });
    expect(a.transport.isActive("b")).toBe(true);
    expect(a.unreachable).toContain("b");
  });

  test("a stream opens when the peer is added, before any message", async () => {
    const a = member({ id: "a" });
    const b = member({ id: "b" });
    mesh([a, b]);
    await waitFor(() => a.transport.isActive("b") && b.transport.isActive("a"), "both streams");
    expect(a.received.length + b.received.length).toBe(0);
  });

  test("a peer that comes back and dials in ends this side's backoff wait", async () => {
    // A backoff that has grown to 5 s while the peer was down: without the early re-dial the
    // message would wait for it.
    const a = member({ id: "a", limits: { backoffMsMin: 5000, backoffMsMax: 5000 } });
    const port = await deadPort();
    a.transport.addPeer("b", [`http://127.0.0.1:${port}`]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor(() => a.unreachable.includes("b"), "b unreachable");
    const b = member({ id: "b", port });
    b.transport.addPeer("a", [a.url]);
    const started = performance.now();
    b.transport.send([heartbeat("b", "a", 1)]);
    await waitFor(() => a.received.length > 0, "b's stream to a");
    a.transport.send([heartbeat("a", "b", 2)]);
    await waitFor(() => b.received.length > 0, "a's stream to b, before its backoff ends");
    expect(performance.now() - started).toBeLessThan(2500);
    expect(b.received[0]).toMatchObject({ type: "MsgHeartbeat", commit: 2 });
  });

  test("cluster id mismatch: 412, logged by the receiver, never delivered", async () => {
    const a = member({ id: "a", clusterId: "c1" });
    const b = member({ id: "b", clusterId: "c2" });
    a.transport.addPeer("b", [b.url]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor(() => a.rejections.length > 0, "rejection");
    expect(a.rejections[0]).toEqual({ peerId: "b", reason: "cluster ID mismatch", status: 412 });
    expect(b.logs.filter((l) => l.includes("cluster ID mismatch"))).toHaveLength(1);
    expect(b.received).toHaveLength(0);
    expect(a.transport.isActive("b")).toBe(false);
    expect(a.transport.stats().b?.failed).toBe(1);
  });

  test("wrong recipient: 412 to field mismatch, never delivered", async () => {
    const a = member({ id: "a" });
    const b = member({ id: "b" });
    b.transport.addPeer("a", [a.url]);
    a.transport.addPeer("c", [b.url]); // a believes c lives at b's address
    a.transport.send([heartbeat("a", "c", 1)]);
    await waitFor(() => a.rejections.length > 0, "rejection");
    expect(a.rejections[0]).toEqual({ peerId: "c", reason: "to field mismatch", status: 412 });
    expect(b.logs.some((l) => l.includes('to field mismatch: got "c", want "b"'))).toBe(true);
    expect(b.received).toHaveLength(0);
  });

  test("unknown sender: 404, never delivered", async () => {
    const a = member({ id: "a" });
    const b = member({ id: "b" });
    a.transport.addPeer("b", [b.url]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor(() => a.rejections.length > 0, "rejection");
    expect(a.rejections[0]).toMatchObject({ status: 404, reason: "error sender not found" });
    expect(b.received).toHaveLength(0);
  });

  test("removed sender: new streams get 410, an open stream is closed as removed", async () => {
    const a = member({ id: "a" });
    const b = member({ id: "b" });
    const c = member({ id: "c" });
    mesh([a, b]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor(() => b.received.length === 1, "delivery before removal");
    // Open stream a → b is closed when b learns a was removed.
    b.transport.markRemoved("a");
    await waitFor(() => a.rejections.length > 0, "close as removed");
    expect(a.rejections[0]).toEqual({ peerId: "b", reason: "removed member", status: 410 });
    // A fresh stream a → c after c learns it: refused at the handshake.
    c.transport.markRemoved("a");
    a.transport.addPeer("c", [c.url]);
    a.transport.send([heartbeat("a", "c", 2)]);
    await waitFor(() => a.rejections.some((r) => r.peerId === "c"), "410 from c");
    expect(a.rejections.find((r) => r.peerId === "c")).toEqual({
      peerId: "c",
      reason: "removed member",
      status: 410,
    });
    expect(c.logs.some((l) => l.includes("(410 removed member)"))).toBe(true);
    expect(c.received).toHaveLength(0);
    expect(b.received).toHaveLength(1);
  });

  test("a snapshot goes over POST /raft/snapshot and is delivered whole", async () => {
    const a = member({ id: "a" });
    const b = member({ id: "b" });
    mesh([a, b]);
    const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const snap: MsgSnap = {
      type: "MsgSnap",
      from: "a",
      to: "b",
      term: 3,
      snapshot: { meta: { index: 500, term: 3, confState: { voters: ["a", "b"] } }, data },
    };
    a.transport.send([snap, heartbeat("a", "b", 9)]);
    await waitFor(() => a.snapshots.length === 1 && b.received.length === 2, "snapshot");
    expect(a.snapshots[0]).toEqual({ peerId: "b", ok: true });
    const got = b.received.find((m) => m.type === "MsgSnap");
    expect(got).toEqual(snap);
    expect(a.transport.isActive("b")).toBe(true); // the heartbeat used the stream
  });

  test("a snapshot to a member of another cluster is refused with 412", async () => {
    const a = member({ id: "a", clusterId: "c1" });
    const b = member({ id: "b", clusterId: "c2" });
    mesh([a, b]);
    const snap: MsgSnap = {
      type: "MsgSnap",
      from: "a",
      to: "b",
      term: 3,
      snapshot: {
        meta: { index: 5, term: 3, confState: { voters: ["a"] } },
        data: new Uint8Array(8),
      },
    };
    a.transport.send([snap]);
    await waitFor(() => a.snapshots.length === 1, "snapshot outcome");
    expect(a.snapshots[0]).toEqual({ peerId: "b", ok: false });
    expect(a.rejections[0]).toEqual({ peerId: "b", reason: "cluster ID mismatch", status: 412 });
    expect(b.received).toHaveLength(0);
  });

  test("queue bound holds while a peer is down; drops are counted and reported", async () => {
    const port = await deadPort();
    const a = member({ id: "a", limits: { queueFramesMax: 8 } });
    a.transport.addPeer("b", [`http://127.0.0.1:${port}`]);
    for (let i = 0; i < 100; i++) a.transport.send([app("a", "b", i, 2), heartbeat("a", "b", i)]);
    const s = a.transport.stats().b;
    expect(s?.queuedFrames).toBe(8);
    expect(s?.failed).toBe(2 * 92);
    expect(s?.sent).toBe(0);
    await waitFor(() => a.unreachable.length > 0, "unreachable report");
    expect(a.transport.stats().b?.failed).toBe(200);
    expect(a.transport.stats().b?.queuedFrames).toBe(0);
    expect(a.transport.isActive("b")).toBe(false);
    expect(a.logs.filter((l) => l.includes("unreachable"))).toHaveLength(1);
  });

  test("a batch above the frame target is split, still in order", async () => {
    const a = member({ id: "a", limits: { frameBytesTarget: 4096 } });
    const b = member({ id: "b" });
    mesh([a, b]);
    const batch = Array.from({ length: 50 }, (_, i) => app("a", "b", i, 8));
    a.transport.send(batch);
    await waitFor(() => b.received.length === 50, "all messages");
    expect(indexes(b.received, "a")).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  test("messages to unknown peers are dropped and logged once", async () => {
    const a = member({ id: "a" });
    for (let i = 0; i < 5; i++) a.transport.send([heartbeat("a", "nobody", i)]);
    expect(a.logs.filter((l) => l.includes("unknown peer nobody"))).toHaveLength(1);
  });

  test("stop() closes streams; later sends are dropped", async () => {
    const a = member({ id: "a" });
    const b = member({ id: "b" });
    mesh([a, b]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor(() => a.transport.isActive("b"), "open");
    await a.transport.stop();
    expect(a.transport.isActive("b")).toBe(false);
    a.transport.send([heartbeat("a", "b", 2)]);
    await Bun.sleep(20);
    expect(b.received).toHaveLength(1);
  });
});

describe("transport failure detection", () => {
  test("falls back to the peer's next URL when the first is dead", async () => {
    const port = await deadPort();
    const a = member({ id: "a" });
    const b = member({ id: "b" });
    b.transport.addPeer("a", [a.url]);
    a.transport.addPeer("b", [`http://127.0.0.1:${port}`, b.url]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor(() => b.received.length === 1, "delivery via the second URL");
    expect(a.unreachable).toHaveLength(0);
  });

  test("updatePeer moves a peer to its new URL", async () => {
    const port = await deadPort();
    const a = member({ id: "a", limits: { backoffMsMin: 5, backoffMsMax: 20 } });
    const b = member({ id: "b" });
    b.transport.addPeer("a", [a.url]);
    a.transport.addPeer("b", [`http://127.0.0.1:${port}`]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor(() => a.unreachable.length > 0, "first URL fails");
    a.transport.updatePeer("b", [b.url]);
    for (let i = 0; i < 200 && b.received.length === 0; i++) {
      a.transport.send([heartbeat("a", "b", 2)]);
      await Bun.sleep(5);
    }
    expect(b.received[0]).toMatchObject({ commit: 2 });
  });

  test("a stream whose frames are never acknowledged is torn down and re-dialled", async () => {
    let upgrades = 0;
    const silent = Bun.serve<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, srv) => {
        upgrades++;
        return srv.upgrade(req) ? undefined : new Response("no", { status: 400 });
      },
      websocket: { message: () => {} },
    });
    try {
      const a = member({ id: "a", limits: { ackTimeoutMs: 50, backoffMsMin: 5 } });
      a.transport.addPeer("b", [`http://127.0.0.1:${silent.port}`]);
      a.transport.send([heartbeat("a", "b", 1)]);
      await waitFor(() => a.transport.isActive("b"), "open");
      await Bun.sleep(60);
      a.transport.send([heartbeat("a", "b", 2)]);
      expect(a.transport.isActive("b")).toBe(false);
      expect(a.logs.some((l) => l.includes("unacknowledged"))).toBe(true);
      expect(a.unreachable).toEqual([]); // reported after send() returns, never inside it
      await waitFor(() => a.unreachable.length === 1 && upgrades === 2, "report and re-dial");
    } finally {
      await silent.stop(true);
    }
  });

  test("a dial that never completes times out and counts as unreachable", async () => {
    const mute = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: () => {} },
    });
    try {
      const a = member({ id: "a", limits: { dialTimeoutMs: 50 } });
      a.transport.addPeer("b", [`http://127.0.0.1:${mute.port}`]);
      a.transport.send([heartbeat("a", "b", 1)]);
      await waitFor(() => a.unreachable.length === 1, "dial timeout", 2000);
      expect(a.transport.stats().b?.failed).toBe(1);
    } finally {
      mute.stop(true);
    }
  });

  test("a malformed frame closes the stream and delivers nothing", async () => {
    const b = member({ id: "b" });
    b.transport.addPeer("a", ["http://127.0.0.1:1"]);
    const ws = new WebSocket(`ws://127.0.0.1:${b.port}/raft/stream`, {
      headers: { "X-Etcd-Cluster-ID": "cafe", "X-Server-From": "a", "X-Raft-To": "b" },
    });
    const closed = new Promise<number>((resolve) => {
      ws.onclose = (ev) => resolve(ev.code);
    });
    ws.onopen = () => ws.send(new Uint8Array([1, 0, 5, 0]));
    expect(await closed).toBe(4400);
    expect(b.logs.some((l) => l.includes("bad frame in stream from a"))).toBe(true);
    expect(b.received).toHaveLength(0);
  });

  test("a burst of frames gets one immediate ack and one held-back ack that covers the rest", async () => {
    const b = member({ id: "b", limits: { ackIntervalMs: 200 } });
    b.transport.addPeer("a", ["http://127.0.0.1:1"]);
    const ws = new WebSocket(`ws://127.0.0.1:${b.port}/raft/stream`, {
      headers: { "X-Etcd-Cluster-ID": "cafe", "X-Server-From": "a", "X-Raft-To": "b" },
    });
    ws.binaryType = "arraybuffer";
    const acks: { count: number; bytes: number; heldMs: number; atMs: number }[] = [];
    ws.onmessage = (ev) => {
      const view = new DataView(ev.data as ArrayBuffer);
      acks.push({
        count: view.getFloat64(0, true),
        bytes: view.byteLength,
        heldMs: view.byteLength === 16 ? view.getFloat64(8, true) : 0,
        atMs: performance.now(),
      });
    };
    await new Promise<void>((resolve) => {
      ws.onopen = () => resolve();
    });
    const started = performance.now();
    ws.send(encodeMessages([heartbeat("a", "b", 0)]));
    await waitFor(() => acks.length === 1, "the first ack");
    for (let i = 1; i < 20; i++) ws.send(encodeMessages([heartbeat("a", "b", i)]));
    await waitFor(() => b.received.length === 20, "all frames");
    await waitFor(() => acks.length === 2, "the held-back ack", 2000);
    await Bun.sleep(250);
    ws.close();
    expect(acks.map((a) => [a.count, a.bytes])).toEqual([
      [1, 8],
      [20, 16],
    ]);
    const held = acks[1];
    if (held === undefined) throw new Error("no held-back ack");
    // Sent a full interval after the first ack, and it reports a hold shorter than that.
    expect(held.atMs - started).toBeGreaterThanOrEqual(190);
    expect(held.heldMs).toBeGreaterThan(0);
    expect(held.heldMs).toBeLessThanOrEqual(210);
  });

  test("round-trip samples leave out the time an ack was held back", async () => {
    const a = member({ id: "a" });
    const b = member({ id: "b", limits: { ackIntervalMs: 300 } });
    mesh([a, b]);
    a.transport.send([heartbeat("a", "b", 0)]);
    await waitFor(() => (a.transport.stats().b?.latencyMs.maximum ?? 0) > 0, "the first ack");
    // The stream is open: one frame per send, all inside the interval, so one held-back ack.
    for (let i = 1; i <= 5; i++) a.transport.send([heartbeat("a", "b", i)]);
    await waitFor(() => b.received.length === 6, "frames");
    const first = a.transport.stats().b?.latencyMs.current;
    await waitFor(
      () => a.transport.stats().b?.latencyMs.current !== first,
      "the held-back ack",
      2000,
    );
    const latency = a.transport.stats().b?.latencyMs;
    expect(latency?.maximum ?? 0).toBeGreaterThan(0);
    // Every sample is a loopback round trip; a held-back ack counted in full would be ~300 ms.
    expect(latency?.maximum ?? 1000).toBeLessThan(100);
  });
});
