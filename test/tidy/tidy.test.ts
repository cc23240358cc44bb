/**
 * Tidy checks on the source itself (in TigerBeetle's spirit): the layers of `src/` and no import
 * circles, purity of the deterministic cores, where the environment may be read, and no
 * swallowed errors. Function size is budgeted by biome (biome.json: 70 lines in src/).
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const SRC = join(import.meta.dir, "../../src");

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

const files = sourceFiles();
/** Source text without comments (they may name what the code must not use). */
const code = new Map(
  files.map((f) => [
    f,
    readFileSync(f, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1"),
  ]),
);

/** The folder under src/ a file belongs to; `main` for src/main.ts. */
const layerOf = (file: string) => {
  const rel = relative(SRC, file);
  return rel.includes("/") ? (rel.split("/")[0] ?? "") : "main";
};

/** Relative imports of a file (static, re-exports, type-only and dynamic), as absolute paths. */
function importsOf(file: string): string[] {
  const text = code.get(file) ?? "";
  const specs = [
    ...text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g),
    ...text.matchAll(/import\(\s*"(\.[^"]+)"\s*\)/g),
  ].map((m) => m[1] ?? "");
  return specs.map((s) => normalize(join(dirname(file), s)));
}

/** Which folders each folder may import from (itself always). */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  raft: ["util"],
  store: ["util"],
  wal: ["raft", "util"],
  snap: ["raft", "util"],
  transport: ["raft", "util"],
  config: ["util"],
  net: ["util"],
  auth: ["store", "util"],
  server: ["config", "raft", "snap", "store", "util", "wal"],
  http: ["auth", "config", "store", "transport", "util"],
  tools: ["raft", "snap", "util", "wal"],
  cli: ["config", "tools", "util", "wal"],
  discovery: ["config", "net", "util"],
  dashboard: ["net", "util"],
  member: [
    "config",
    "dashboard",
    "discovery",
    "http",
    "net",
    "raft",
    "server",
    "snap",
    "store",
    "transport",
    "util",
    "wal",
  ],
  proxy: ["config", "dashboard", "discovery", "http", "net", "util"],
  main: ["cli", "config", "discovery", "member", "proxy"],
};

test("every folder of src/ imports only the layers below it", () => {
  const violations: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    const allowed = ALLOWED[from];
    if (allowed === undefined) {
      violations.push(`${relative(SRC, file)}: folder ${from} has no place in the layer table`);
      continue;
    }
    for (const target of importsOf(file)) {
      const to = layerOf(target);
      if (to !== from && !allowed.includes(to))
        violations.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
    }
  }
  expect(violations).toEqual([]);
});

test("no import circles between files (type-only imports included)", () => {
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const circles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      const loop = path.slice(path.indexOf(file)).map((f) => relative(SRC, f));
      circles.push([...loop, relative(SRC, file)].join(" -> "));
      return;
    }
    state.set(file, "open");
    path.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    path.pop();
    state.set(file, "done");
  };
  for (const file of files) visit(file);
  expect(circles).toEqual([]);
});

/** No clock, timer, I/O, environment or ambient randomness in the deterministic cores. */
const IMPURE = [
  /from "node:/,
  /\bBun\./,
  /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/,
  /\bDate\.now\b/,
  /new Date\(\)/,
  /\bperformance\./,
  /\bMath\.random\b/,
  /\bprocess\./,
  /\bcrypto\./,
  /\brequire\(/,
];

test("src/raft, src/store and src/util/prng.ts are pure: no clock, timers, I/O or randomness", () => {
  const pure = files.filter(
    (f) => ["raft", "store"].includes(layerOf(f)) || f.endsWith("util/prng.ts"),
  );
  expect(pure.length).toBeGreaterThan(10);
  const found = pure.flatMap((f) =>
    IMPURE.filter((re) => re.test(code.get(f) ?? "")).map((re) => `${relative(SRC, f)}: ${re}`),
  );
  expect(found).toEqual([]);
});

test("only src/config (and the entry point) reads the environment", () => {
  const readers = files.filter(
    (f) => /\bprocess\.env\b|\bBun\.env\b/.test(code.get(f) ?? "") && layerOf(f) !== "config",
  );
  expect(readers.map((f) => relative(SRC, f))).toEqual(["main.ts"]);
});

test("no catch block is empty (a comment alone does not handle an error)", () => {
  const empty: string[] = [];
  for (const file of files) {
    const text = code.get(file) ?? "";
    for (const m of text.matchAll(/catch\s*(\([^)]*\))?\s*\{\s*\}/g)) {
      empty.push(`${relative(SRC, file)}:${text.slice(0, m.index).split("\n").length}`);
    }
  }
  expect(empty).toEqual([]);
});

test("src/server reads the clock and arms timers only through its Time port", () => {
  const direct =
    /\bDate\.now\b|new Date\(\)|\b(setTimeout|setInterval|setImmediate)\b|\bBun\.sleep\b|\bperformance\./;
  const found = files
    .filter((f) => layerOf(f) === "server" && direct.test(code.get(f) ?? ""))
    .map((f) => relative(SRC, f));
  expect(found).toEqual([]);
});
