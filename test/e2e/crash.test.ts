/**
 * Crash safety with real processes: a member under a concurrent write load is killed with
 * SIGKILL at an arbitrary moment, restarted on the same data dir, and must hold every
 * acknowledged write; a write that was in flight is either fully there or absent. Repeated
 * several rounds on one data dir, with a small snapshot count so restarts go through
 * snapshot + WAL replay and segment/snapshot pruning.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";

const ROUNDS = 3;
const WRITERS = 16;
/** Load time before the kill, varied per round so the kill lands at different moments. */
const LOAD_MS = [700, 1100, 1500];

let member: MemberProcess;

beforeAll(async () => {
  member = await startMember({
    extraArgs: ["--snapshot-count", "300", "--max-snapshots", "2", "--max-wals", "2"],
  });
});
afterAll(async () => {
  await member?.stop();
});

interface Ledger {
  readonly acked: Map<string, string>;
  readonly inFlight: Map<string, string>;
}

async function writer(
  url: string,
  id: string,
  round: number,
  ledger: Ledger,
  stop: { now: boolean },
) {
  for (let seq = 0; !stop.now; seq++) {
    const key = `/crash/r${round}/w${id}/k${seq}`;
    const value = `v${round}.${id}.${seq}.${"x".repeat(seq % 50)}`;
    ledger.inFlight.set(key, value);
    try {
      const res = await fetch(`${url}/v2/keys${key}`, {
        method: "PUT",
        body: new URLSearchParams({ value }),
      });
      await res.arrayBuffer();
      if (res.status === 201) ledger.acked.set(key, value);
    } catch {
      return; // The member died mid-request: this write's outcome is unknown.
    }
    ledger.inFlight.delete(key);
  }
}

async function storedValue(url: string, key: string): Promise<string | undefined> {
  const res = await fetch(`${url}/v2/keys${key}`);
  const body = (await res.json()) as { node?: { value?: string } };
  return res.status === 200 ? body.node?.value : undefined;
}

test("SIGKILL under write load loses no acknowledged write", async () => {
  const allAcked = new Map<string, string>();
  for (let round = 0; round < ROUNDS; round++) {
    const ledger: Ledger = { acked: new Map(), inFlight: new Map() };
    const stop = { now: false };
    const writers = Array.from({ length: WRITERS }, (_, w) =>
      writer(member.clientUrl, String(w), round, ledger, stop),
    );
    await Bun.sleep(LOAD_MS[round % LOAD_MS.length] ?? 1000);
    await member.kill("SIGKILL");
    stop.now = true;
    await Promise.all(writers);
    expect(ledger.acked.size).toBeGreaterThan(0);
    await member.restart();
    for (const [k, v] of ledger.acked) allAcked.set(k, v);
    const missing: string[] = [];
    for (const [key, value] of allAcked) {
      if ((await storedValue(member.clientUrl, key)) !== value) missing.push(key);
    }
    expect(missing).toEqual([]);
    for (const [key, value] of ledger.inFlight) {
      const found = await storedValue(member.clientUrl, key);
      expect(found === undefined || found === value).toBe(true);
    }
  }
});
