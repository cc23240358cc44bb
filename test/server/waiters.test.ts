import { describe, expect, test } from "bun:test";
import { Waiters } from "../../src/server/waiters.ts";
import { ManualTime } from "../support/manual-time.ts";

describe("Waiters", () => {
  test("trigger resolves the waiter with its value; later triggers are ignored", async () => {
    const w = new Waiters<number>("m1", new ManualTime());
    const id = w.nextId();
    const done = w.wait(id, 10_000, () => new Error("timeout"));
    w.trigger(id, 7);
    w.trigger(id, 8);
    expect(await done).toBe(7);
    expect(w.size).toBe(0);
  });

  test("ids are distinct and carry the member id and start time", () => {
    const w = new Waiters<number>("abc", new ManualTime(1234));
    const a = w.nextId();
    const b = w.nextId();
    expect(a).not.toBe(b);
    expect(a.startsWith(`abc.${(1234).toString(36)}.`)).toBe(true);
  });

  test("a waiter past its deadline is rejected by the sweep, others are kept", async () => {
    const time = new ManualTime();
    const w = new Waiters<number>("m1", time);
    const short = w.nextId();
    const long = w.nextId();
    const timedOut = w.wait(short, 30, () => new Error("short timed out"));
    const kept = w.wait(long, 10_000, () => new Error("long timed out"));
    let settled = false;
    timedOut.catch(() => {
      settled = true;
    });
    time.advance(25);
    await Promise.resolve();
    expect(settled).toBe(false);
    time.advance(25); // the sweep at 50 ms sees the 30 ms deadline passed
    await expect(timedOut).rejects.toThrow("short timed out");
    expect(w.size).toBe(1);
    w.trigger(long, 1);
    expect(await kept).toBe(1);
  });

  test("expireAllWithin brings deadlines forward with its own error, never later", async () => {
    const time = new ManualTime();
    const w = new Waiters<number>("m1", time);
    const id = w.nextId();
    const done = w.wait(id, 10_000, () => new Error("request timeout"));
    w.expireAllWithin(20, () => new Error("leader lost"));
    w.expireAllWithin(60_000, () => new Error("later"));
    time.advance(50);
    await expect(done).rejects.toThrow("leader lost");
  });

  test("fail rejects at once", async () => {
    const w = new Waiters<number>("m1", new ManualTime());
    const id = w.nextId();
    const done = w.wait(id, 10_000, () => new Error("timeout"));
    w.fail(id, new Error("refused"));
    await expect(done).rejects.toThrow("refused");
  });
});
