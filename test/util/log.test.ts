import { describe, expect, test } from "bun:test";
import {
  createLogger,
  formatLine,
  LOG_LEVELS,
  type LogLevel,
  levelEnabled,
  parsePackageLevels,
} from "../../src/util/log.ts";

/** 2026-12-05 06:20:10.670123 in the local time zone. */
const AT = new Date(2026, 11, 5, 6, 20, 10, 670).getTime() + 0.123;

/** Logs one line of each kind at `level` and returns what was written. */
function written(level: LogLevel, format: "capnslog" | "zap" = "capnslog"): string[] {
  const lines: string[] = [];
  const log = createLogger({ level, format, write: (l) => lines.push(l), now: () => AT });
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  return lines;
}

describe("createLogger", () => {
  test("each level writes its own lines and the ones above it, in call order", () => {
    const line = (letter: string, msg: string) =>
      `2026-12-05 06:20:10.670123 ${letter} | etcdserver: ${msg}`;
    expect(written("debug")).toEqual([
      line("D", "d"),
      line("I", "i"),
      line("W", "w"),
      line("E", "e"),
    ]);
    expect(written("info")).toEqual([line("I", "i"), line("W", "w"), line("E", "e")]);
    expect(written("warn")).toEqual([line("W", "w"), line("E", "e")]);
    expect(written("error")).toEqual([line("E", "e")]);
  });

  test("panic and fatal write none of the four line kinds (fatal lines go elsewhere)", () => {
    expect(written("panic")).toEqual([]);
    expect(written("fatal")).toEqual([]);
  });

  test("enabled() agrees with what is written", () => {
    for (const level of LOG_LEVELS) {
      const log = createLogger({ level, write: () => {} });
      const kinds = (["debug", "info", "warn", "error"] as const).filter((k) => log.enabled(k));
      expect(kinds.length).toBe(written(level).length);
    }
  });

  test("a line marked as a warning through info() is a warning, and filtered as one", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "error", write: (l) => lines.push(l), now: () => AT });
    log.info("warning: slow disk");
    expect(lines).toEqual([]);
    const all = createLogger({ level: "info", write: (l) => lines.push(l), now: () => AT });
    all.info("warning: slow disk");
    expect(lines).toEqual(["2026-12-05 06:20:10.670123 W | etcdserver: slow disk"]);
  });

  test("a line marked as debug through info() is written only at the debug level", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", write: (l) => lines.push(l), now: () => AT });
    log.info("debug: client request GET /v2/keys/a answered 404");
    expect(lines).toEqual([]);
    const all = createLogger({ level: "debug", write: (l) => lines.push(l), now: () => AT });
    all.info("debug: client request GET /v2/keys/a answered 404");
    expect(lines).toEqual([
      "2026-12-05 06:20:10.670123 D | etcdserver: client request GET /v2/keys/a answered 404",
    ]);
  });
});

describe("formatLine", () => {
  test("capnslog: local time to the microsecond, the level's letter, the package", () => {
    expect(formatLine("info", "transport: stream to a established", "capnslog", AT)).toBe(
      "2026-12-05 06:20:10.670123 I | rafthttp: stream to a established",
    );
    expect(formatLine("warn", "proxy: zero endpoints", "capnslog", AT)).toBe(
      "2026-12-05 06:20:10.670123 W | proxy: zero endpoints",
    );
  });

  test("zap: one JSON object per line, as etcd's zap logger writes it", () => {
    const line = formatLine("info", "wal: repaired the tail", "zap", AT);
    expect(JSON.parse(line)).toEqual({
      level: "info",
      ts: new Date(Math.floor(AT)).toISOString(),
      caller: "wal",
      msg: "repaired the tail",
    });
    expect(Object.keys(JSON.parse(line))).toEqual(["level", "ts", "caller", "msg"]);
    expect(written("info", "zap").map((l) => (JSON.parse(l) as { level: string }).level)).toEqual([
      "info",
      "warn",
      "error",
    ]);
  });

  test("levelEnabled orders the levels as etcd does", () => {
    expect(levelEnabled("info", "debug")).toBe(false);
    expect(levelEnabled("info", "info")).toBe(true);
    expect(levelEnabled("error", "warn")).toBe(false);
    expect(levelEnabled("debug", "error")).toBe(true);
  });
});

describe("--log-package-levels", () => {
  test("capnslog's names and letters, per package", () => {
    expect(parsePackageLevels("etcdserver=DEBUG,rafthttp=W,wal=CRITICAL")).toEqual({
      etcdserver: "debug",
      rafthttp: "warn",
      wal: "error",
    });
    for (const bad of ["etcdserver", "etcdserver=LOUD", "=DEBUG", "a=DEBUG=x"])
      expect(parsePackageLevels(bad)).toBeUndefined();
  });

  test("a package's level overrides the global one, both ways", () => {
    const lines: string[] = [];
    const log = createLogger({
      level: "info",
      packageLevels: { rafthttp: "warn", wal: "debug" },
      write: (l) => lines.push(l),
      now: () => AT,
    });
    log.info("transport: stream to a established");
    log.info("warning: transport: stream to a lost");
    log.debug("wal: synced");
    log.debug("applied entry");
    log.info("leader is now a");
    expect(lines.map((l) => l.slice(27))).toEqual([
      "W | rafthttp: stream to a lost",
      "D | wal: synced",
      "I | etcdserver: leader is now a",
    ]);
    expect(log.enabled("debug")).toBe(true);
  });
});
