import { describe, expect, test } from "bun:test";
import { Waiters } from "../../src/server/waiters.ts";

describe("Waiters", () => {
  test("trigger resolves the waiter with its value; later triggers are ignored", async () => {
    const w = new Waiters<number>("m1", 0);
    const id = w.nextId();
    const done = w.wait(id, 10_000, () => new Error("timeout"));
    w.trigger(id, 7);
    w.trigger(id, 8);
    expect(await done).toBe(7);
    expect(w.size).toBe(0);
  });

  test("ids are distinct and carry the member id", () => {
    const w = new Waiters<number>("abc", 1234);
    const a = w.nextId();
    const b = w.nextId();
    expect(a).not.toBe(b);
    expect(a.startsWith("abc.")).toBe(true);
  });

  test("a waiter past its deadline is rejected by the sweep, others are kept", async () => {
    const w = new Waiters<number>("m1", 0);
    const short = w.nextId();
    const long = w.nextId();
    const started = performance.now();
    const timedOut = w.wait(short, 30, () => new Error("short timed out"));
    const kept = w.wait(long, 10_000, () => new Error("long timed out"));
    await expect(timedOut).rejects.toThrow("short timed out");
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(25);
    expect(waited).toBeLessThan(1000);
    expect(w.size).toBe(1);
    w.trigger(long, 1);
    expect(await kept).toBe(1);
  });

  test("expireAllWithin brings deadlines forward with its own error, never later", async () => {
    const w = new Waiters<number>("m1", 0);
    const id = w.nextId();
    const done = w.wait(id, 10_000, () => new Error("request timeout"));
    w.expireAllWithin(20, () => new Error("leader lost"));
    w.expireAllWithin(60_000, () => new Error("later"));
    await expect(done).rejects.toThrow("leader lost");
  });

  test("fail rejects at once", async () => {
    const w = new Waiters<number>("m1", 0);
    const id = w.nextId();
    const done = w.wait(id, 10_000, () => new Error("timeout"));
    w.fail(id, new Error("refused"));
    await expect(done).rejects.toThrow("refused");
  });
});
