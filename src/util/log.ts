/**
 * A leveled line logger in etcd 3.4's two formats: `capnslog` (the default), one human line
 * `2026-12-05 06:20:10.670123 I | etcdserver: ...` with local time to the microsecond, the
 * level's letter and the package; and `zap`, one JSON object per line
 * (`{"level":"info","ts":"...Z","caller":"etcdserver","msg":"..."}`). `--log-level` (or
 * `--debug`) decides which lines are written. It formats and filters only; where lines go is
 * the injected `write`. It must not buffer, reorder or drop a line at or above the level, and
 * it never decides to exit: fatal lines are written by the fatal handler, whatever the level.
 */

/** etcd 3.4 `--log-level` values, lowest first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "panic", "fatal"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `--logger`. */
export type LogFormat = "capnslog" | "zap";

/** One function per line kind; the member's existing `Log` shape, `(line) => void`. */
export type LogLine = (line: string) => void;

/** The levels a caller logs at; panic and fatal lines belong to the fatal handler. */
export type LineLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  readonly debug: LogLine;
  /** Info, unless the line says otherwise (`warning: ...` is a warning, `debug: ...` debug). */
  readonly info: LogLine;
  readonly warn: LogLine;
  readonly error: LogLine;
  /** Whether lines of this level are written (to skip building costly debug text). */
  readonly enabled: (level: LineLevel) => boolean;
  /** From now on write lines at or above `level`, in every package (capnslog's global level). */
  readonly setLevel: (level: LogLevel) => void;
}

export interface LoggerOptions {
  /** The lowest level written. `panic` and `fatal` write none of the four line kinds. */
  readonly level: LogLevel;
  readonly format?: LogFormat;
  /** Receives each formatted line, without a trailing newline. Default: stderr. */
  readonly write?: (formatted: string) => void;
  /** The clock, ms since the epoch with a fraction (tests fix it). */
  readonly now?: () => number;
  /** `--log-package-levels`: a package's own lowest level, instead of `level`. */
  readonly packageLevels?: Readonly<Record<string, LogLevel>>;
}

/** capnslog's levels: name, the other spellings its `ParseLevel` takes, and the level here. */
const CAPNSLOG: readonly (readonly [string, readonly string[], LogLevel])[] = [
  ["CRITICAL", ["C"], "error"],
  ["ERROR", ["E", "0"], "error"],
  ["WARNING", ["W", "1"], "warn"],
  ["NOTICE", ["N", "2"], "info"],
  ["INFO", ["I", "3"], "info"],
  ["DEBUG", ["D", "4"], "debug"],
  ["TRACE", ["T", "5"], "debug"],
];

const CAPNSLOG_BY_SPELLING: ReadonlyMap<string, { name: string; level: LogLevel }> = new Map(
  CAPNSLOG.flatMap(([name, others, level]) =>
    [name, ...others].map((spelling) => [spelling, { name, level }] as const),
  ),
);

/**
 * A capnslog level as etcd's `ParseLevel` reads it (`DEBUG`, `D`, `4`): its name and the level
 * it is here (as `--log-package-levels` and `/config/local/log` take it); undefined if none.
 */
export function parseCapnslogLevel(text: string): { name: string; level: LogLevel } | undefined {
  return CAPNSLOG_BY_SPELLING.get(text);
}

/**
 * `etcdserver=DEBUG,rafthttp=WARNING` into package → level; undefined (etcd then warns and
 * keeps the default levels) when a part is not `package=LEVEL`.
 */
export function parsePackageLevels(text: string): Record<string, LogLevel> | undefined {
  const out: Record<string, LogLevel> = {};
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const [pkg, name, extra] = part.split("=");
    const level = parseCapnslogLevel((name ?? "").trim())?.level;
    if (pkg === undefined || pkg.trim() === "" || level === undefined || extra !== undefined)
      return undefined;
    out[pkg.trim()] = level;
  }
  return out;
}

const LETTERS: Record<LineLevel, string> = { debug: "D", info: "I", warn: "W", error: "E" };

/** Lines name their part of the member by a prefix; capnslog calls it the package. */
const PACKAGES: readonly (readonly [string, string])[] = [
  ["transport: ", "rafthttp"],
  ["proxy: ", "proxy"],
  ["wal: ", "wal"],
  ["snap: ", "snap"],
  ["discovery: ", "discovery"],
  ["auth: ", "auth"],
];

function packageOf(line: string): { pkg: string; msg: string } {
  for (const [prefix, pkg] of PACKAGES)
    if (line.startsWith(prefix)) return { pkg, msg: line.slice(prefix.length) };
  return { pkg: "etcdserver", msg: line };
}

const two = (n: number) => String(n).padStart(2, "0");

/** capnslog's time: local, `YYYY-MM-DD HH:MM:SS.uuuuuu`. */
function capnslogTime(ms: number): string {
  const d = new Date(Math.floor(ms));
  const micros = String(Math.floor((ms % 1000) * 1000)).padStart(6, "0");
  const date = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  return `${date} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${micros}`;
}

/** The text written for a line of `level` at `ms`. */
export function formatLine(level: LineLevel, line: string, format: LogFormat, ms: number): string {
  const { pkg, msg } = packageOf(line);
  if (format === "zap") {
    const ts = new Date(Math.floor(ms)).toISOString();
    return JSON.stringify({ level, ts, caller: pkg, msg });
  }
  return `${capnslogTime(ms)} ${LETTERS[level]} | ${pkg}: ${msg}`;
}

/** Whether a line of `line` level is written when the logger's level is `threshold`. */
export function levelEnabled(threshold: LogLevel, line: LineLevel): boolean {
  return LOG_LEVELS.indexOf(line) >= LOG_LEVELS.indexOf(threshold);
}

const writeStderr = (formatted: string): void => {
  process.stderr.write(`${formatted}\n`);
};

const WARNING = "warning: ";
const DEBUG = "debug: ";

/** A logger writing the lines at or above `level` (or their package's level); others are dropped. */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? writeStderr;
  const format = options.format ?? "capnslog";
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  let globalLevel = options.level;
  let packageLevels = options.packageLevels ?? {};
  const enabled = (level: LineLevel) =>
    levelEnabled(globalLevel, level) ||
    Object.values(packageLevels).some((threshold) => levelEnabled(threshold, level));
  const at =
    (level: LineLevel): LogLine =>
    (line) => {
      const threshold = packageLevels[packageOf(line).pkg] ?? globalLevel;
      if (levelEnabled(threshold, level)) write(formatLine(level, line, format, now()));
    };
  const warn = at("warn");
  const info = at("info");
  const debug = at("debug");
  return {
    debug,
    // Call sites that log through one function mark their warnings and debug lines in the text.
    info: (line) => {
      if (line.startsWith(WARNING)) warn(line.slice(WARNING.length));
      else if (line.startsWith(DEBUG)) debug(line.slice(DEBUG.length));
      else info(line);
    },
    warn,
    error: at("error"),
    enabled,
    setLevel: (level) => {
      globalLevel = level;
      packageLevels = {};
    },
  };
}

/**
 * `--log-package-levels` as logger options. Text that does not parse keeps the default levels
 * with etcd's warning on stderr.
 */
export function packageLevelsOf(text: string): { packageLevels?: Record<string, LogLevel> } {
  if (text === "") return {};
  const parsed = parsePackageLevels(text);
  if (parsed !== undefined) return { packageLevels: parsed };
  process.stderr.write(
    `etcd-bun: warning: couldn't parse log level string: ${text}, continuing with default levels\n`,
  );
  return {};
}
