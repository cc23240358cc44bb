import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// STYLE: src/raft is a pure state machine: no I/O, timers, wall clock or ambient randomness.
const BANNED = [/from "node:/, /\bBun\./, /setTimeout|setInterval/, /Date\.now/, /Math\.random/];

test("src/raft and src/util/prng.ts use no I/O, timers, clock or Math.random", () => {
  const dir = join(import.meta.dir, "../../src/raft");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
  files.push(join(import.meta.dir, "../../src/util/prng.ts"));
  for (const file of files) {
    // Comments may name what is banned; code may not.
    const text = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    for (const re of BANNED)
      expect({ file, banned: re.test(text) }).toEqual({ file, banned: false });
  }
});
