import { describe, expect, test } from "bun:test";
import {
  createLogger,
  formatLine,
  LOG_LEVELS,
  type LogLevel,
  levelEnabled,
} from "../../src/util/log.ts";

/** Logs one line of each kind at `level` and returns what was written. */
function written(level: LogLevel): string[] {
  const lines: string[] = [];
  const log = createLogger({ level, write: (l) => lines.push(l) });
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  return lines;
}

describe("createLogger", () => {
  test("each level writes its own lines and the ones above it, in call order", () => {
    expect(written("debug")).toEqual([
      "etcd-bun: debug: d",
      "etcd-bun: i",
      "etcd-bun: warning: w",
      "etcd-bun: e",
    ]);
    expect(written("info")).toEqual(["etcd-bun: i", "etcd-bun: warning: w", "etcd-bun: e"]);
    expect(written("warn")).toEqual(["etcd-bun: warning: w", "etcd-bun: e"]);
    expect(written("error")).toEqual(["etcd-bun: e"]);
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
});

describe("formatLine", () => {
  test("info and error lines keep the wording the member has always written", () => {
    expect(formatLine("info", "published member")).toBe("etcd-bun: published member");
    expect(formatLine("error", "cannot start member: x")).toBe("etcd-bun: cannot start member: x");
  });

  test("levelEnabled orders the levels as etcd does", () => {
    expect(levelEnabled("info", "debug")).toBe(false);
    expect(levelEnabled("info", "info")).toBe(true);
    expect(levelEnabled("error", "warn")).toBe(false);
    expect(levelEnabled("debug", "error")).toBe(true);
  });
});
