/** src/store stays pure: no node:*, Bun.*, timers, wall clock, randomness or Date. */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";

test("src/store uses no I/O, timers, wall clock or randomness", () => {
  const dir = new URL("../../src/store/", import.meta.url);
  const banned = [
    /from "node:/,
    /\bBun\./,
    /\bset(Timeout|Interval|Immediate)\b/,
    /\bDate\b/,
    /Math\.random/,
    /\bprocess\./,
  ];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
    const text = readFileSync(new URL(f, dir), "utf8");
    for (const b of banned) expect(`${f}: ${b.test(text) ? b : "ok"}`).toBe(`${f}: ok`);
  }
});
