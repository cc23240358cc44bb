/** The README's flag table is the one generated from the flag and support tables. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { flagTableMarkdown } from "../../src/config/flag-table.ts";

test("README.md holds the generated flag table (regenerate it after changing a flag)", () => {
  const readme = readFileSync(resolve(import.meta.dir, "../../README.md"), "utf8");
  expect(readme).toContain(flagTableMarkdown());
});
