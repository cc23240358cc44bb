/**
 * kill -9 in a loop: one member is killed at a seeded random moment and restarted 50 times on
 * the same data dir while clients write the whole time. Every restart must come up (none
 * refused by a stale lock or socket, none hung), and at the end every acknowledged write is
 * there; a write whose answer was lost in a kill is either fully there or absent.
 */
import { afterAll, expect, test } from "bun:test";
import { Prng } from "../../src/util/prng.ts";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";

const RESTARTS = 50;
const WRITERS = 4;
/** Load between a restart and the next kill: long enough for writes, short enough for 50. */
const LOAD_MS_MIN = 50;
const LOAD_MS_MAX = 400;
const SEED = Number(process.env.CRASH_LOOP_SEED ?? 11);

let member: MemberProcess | undefined;
afterAll(async () => {
  await member?.stop();
});

interface Ledger {
  readonly acked: Map<string, string>;
  /** Writes sent when the member died: their outcome is unknown. */
  readonly unknown: Map<string, string>;
}

/** Writes new keys until `stop.now`; a failed request marks its key unknown and goes on. */
async function writer(m: MemberProcess, id: number, ledger: Ledger, stop: { now: boolean }) {
  for (let seq = 0; !stop.now; seq++) {
    const key = `/loop/w${id}/k${seq}`;
    const value = `v${id}.${seq}`;
    try {
      const res = await fetch(`${m.clientUrl}/v2/keys${key}`, {
        method: "PUT",
        body: new URLSearchParams({ value }),
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer();
      if (res.status === 201) ledger.acked.set(key, value);
      else ledger.unknown.set(key, value);
    } catch {
      ledger.unknown.set(key, value);
      await Bun.sleep(20); // the member is down: wait for the restart
    }
  }
}

async function stored(m: MemberProcess, key: string): Promise<string | undefined> {
  const res = await fetch(`${m.clientUrl}/v2/keys${key}`);
  const body = (await res.json()) as { node?: { value?: string } };
  return res.status === 200 ? body.node?.value : undefined;
}

test(`kill -9 and restart ${RESTARTS} times under writes: every acknowledged write kept`, async () => {
  member = await startMember({
    extraArgs: ["--snapshot-count", "400", "--max-snapshots", "2", "--max-wals", "2"],
  });
  const m = member;
  const prng = new Prng(SEED);
  const ledger: Ledger = { acked: new Map(), unknown: new Map() };
  const stop = { now: false };
  const writers = Array.from({ length: WRITERS }, (_, i) => writer(m, i, ledger, stop));
  for (let round = 0; round < RESTARTS; round++) {
    await Bun.sleep(LOAD_MS_MIN + prng.nextInt(LOAD_MS_MAX - LOAD_MS_MIN));
    await m.kill("SIGKILL");
    // restart() throws if the member does not serve within its start timeout.
    await m.restart();
  }
  await Bun.sleep(LOAD_MS_MAX);
  stop.now = true;
  await Promise.all(writers);
  expect(ledger.acked.size).toBeGreaterThan(RESTARTS);
  const missing: string[] = [];
  for (const [key, value] of ledger.acked) {
    if ((await stored(m, key)) !== value) missing.push(key);
  }
  expect(missing).toEqual([]);
  for (const [key, value] of ledger.unknown) {
    const found = await stored(m, key);
    expect(found === undefined || found === value).toBe(true);
  }
}, 240_000);
