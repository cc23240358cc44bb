/**
 * Membership changes under a write load: grow 1 → 3 → 5 and shrink 5 → 3 while clients write
 * through every live member, then replace a member (remove, wipe, add, start with
 * `existing`). No acknowledged write may be lost; a removed member's data dir cannot rejoin.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";
import { addAndStartMember, removeMemberAndWait } from "../support/membership.ts";

const FAST = ["--heartbeat-interval", "50", "--election-timeout", "500"];
const members: MemberProcess[] = [];
afterAll(async () => {
  await Promise.all(members.map((m) => m.stop()));
});

const live = () => members.filter((m) => m.proc.exitCode === null && m.proc.signalCode === null);

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  return { status: res.status, body: (text === "" ? undefined : JSON.parse(text)) as T };
}

async function addMember(name: string): Promise<MemberProcess> {
  const seed = live()[0];
  if (seed === undefined) throw new Error("no live member");
  const m = await addAndStartMember(seed, name, FAST);
  members.push(m);
  return m;
}

async function removeMember(m: MemberProcess): Promise<string> {
  const seed = live().find((x) => x !== m);
  if (seed === undefined) throw new Error("no other member");
  return removeMemberAndWait(seed, m);
}

test("grow 1 → 3 → 5, shrink 5 → 3 and replace a member under load, losing nothing", async () => {
  members.push(await startMember({ name: "m0", extraArgs: FAST }));
  const acked = new Map<string, string>();
  let stop = false;
  const writer = async (w: number) => {
    for (let seq = 0; !stop; seq++) {
      const targets = live();
      const m = targets[seq % Math.max(1, targets.length)];
      if (m === undefined) break;
      const key = `/ml/w${w}/k${seq}`;
      try {
        const res = await fetch(`${m.clientUrl}/v2/keys${key}`, {
          method: "PUT",
          body: new URLSearchParams({ value: String(seq) }),
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status === 201) acked.set(key, String(seq));
      } catch {
        // unknown outcome; not counted
      }
    }
  };
  const writers = Array.from({ length: 6 }, (_, w) => writer(w));
  await addMember("m1");
  await addMember("m2");
  await addMember("m3");
  await addMember("m4");
  expect(live()).toHaveLength(5);
  await removeMember(members[4] as MemberProcess);
  await removeMember(members[3] as MemberProcess);
  expect(live()).toHaveLength(3);
  // Replace m2: remove it, wipe its data dir, add it back as a new member.
  const old = members[2] as MemberProcess;
  await removeMember(old);
  // Its old data dir cannot rejoin: the cluster answers 410 and it exits.
  await old.restart().catch(() => undefined);
  expect(await Promise.race([old.proc.exited, Bun.sleep(10_000).then(() => "running")])).toBe(0);
  expect(old.output()).toContain("permanently removed");
  rmSync(old.dataDir, { recursive: true, force: true });
  await addMember("m2b");
  await Bun.sleep(500);
  stop = true;
  await Promise.all(writers);
  expect(acked.size).toBeGreaterThan(50);
  const reader = live()[0] as MemberProcess;
  const missing: string[] = [];
  for (const [key, value] of acked) {
    const r = await json<{ node?: { value?: string } }>(
      `${reader.clientUrl}/v2/keys${key}?quorum=true`,
    );
    if (r.body.node?.value !== value) missing.push(key);
  }
  expect(missing).toEqual([]);
  const list = await json<{ members: { name: string }[] }>(`${reader.clientUrl}/v2/members`);
  expect(list.body.members.map((m) => m.name).sort()).toEqual(["m0", "m1", "m2b"]);
}, 180_000);
