import { describe, expect, test } from "bun:test";
import { CredentialChecker, parseBasicAuth } from "../../src/auth/credentials.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("Basic credentials", () => {
  test("parsed as Go does: any case of the scheme, the first colon splits", () => {
    expect(parseBasicAuth(`Basic ${b64("bob:pw:x")}`)).toEqual({ user: "bob", password: "pw:x" });
    expect(parseBasicAuth(`bAsIc ${b64("bob:")}`)).toEqual({ user: "bob", password: "" });
  });
  test("anything else is malformed", () => {
    for (const header of [
      "Basic",
      `Bearer ${b64("bob:pw")}`,
      `Basic ${b64("bobpw")}`,
      "Basic !!!!",
      `Basic ${b64("bob:pw").replace(/=+$/, "")}x`,
      `Basic ${Buffer.from([0x62, 0x3a, 0xff]).toString("base64")}`,
    ])
      expect(parseBasicAuth(header)).toBeUndefined();
  });
});

describe("checking passwords", () => {
  const cost = 4;
  test("a verified password is remembered per stored hash, so a new hash needs bcrypt again", async () => {
    const checker = new CredentialChecker({ now: () => 0, cost });
    const first = await checker.hash("pw");
    expect(await checker.verify("bob", "pw", first)).toBe(true);
    expect(checker.verify("bob", "pw", first)).toBe(true); // synchronous now
    const second = await checker.hash("other");
    const again = checker.verify("bob", "pw", second);
    expect(again).toBeInstanceOf(Promise);
    expect(await again).toBe(false);
    expect(checker.verify("bob", "pw", undefined)).toBeInstanceOf(Promise);
  });
  test("remembered answers expire", async () => {
    let now = 0;
    const checker = new CredentialChecker({ now: () => now, cost, rememberMs: 1000 });
    const hash = await checker.hash("pw");
    await checker.verify("bob", "pw", hash);
    now = 2000;
    expect(checker.verify("bob", "pw", hash)).toBeInstanceOf(Promise);
  });
  test("an unknown user is refused after a bcrypt run, like a wrong password", async () => {
    const checker = new CredentialChecker({ now: () => 0, cost: 10 });
    await checker.verify("nobody", "warm-up", undefined);
    const started = performance.now();
    expect(await checker.verify("nobody", "pw", undefined)).toBe(false);
    // A cost-10 bcrypt takes tens of ms; a plain miss would take microseconds.
    expect(performance.now() - started).toBeGreaterThan(5);
  });
  test("concurrent checks of the same credentials share one bcrypt run", async () => {
    const checker = new CredentialChecker({ now: () => 0, cost });
    const hash = await checker.hash("pw");
    const checks = Array.from({ length: 20 }, () => checker.verify("bob", "pw", hash));
    expect(new Set(checks).size).toBe(1);
    expect(await Promise.all(checks)).toEqual(Array(20).fill(true));
  });
  test("a check whose client has gone is not run; past the waiting limit checks are refused", async () => {
    const checker = new CredentialChecker({
      now: () => 0,
      cost,
      concurrentChecks: 1,
      waitingChecksMax: 1,
    });
    const hash = await checker.hash("pw");
    const gone = new AbortController();
    const running = checker.verify("a", "pw", hash);
    const waiting = checker.verify("b", "pw", hash, gone.signal);
    const overflow = checker.verify("c", "pw", hash);
    gone.abort();
    expect(await running).toBe(true);
    expect(await waiting).toBe(false);
    expect(await overflow).toBe(false);
    // Nothing was learned about b or c: asked again, they are checked for real.
    expect(await checker.verify("b", "pw", hash)).toBe(true);
    expect(await checker.verify("c", "pw", hash)).toBe(true);
  });
});
