/**
 * A leveled line logger: `--log-level` (or `--debug`) decides which lines are written, and every
 * line keeps the `etcd-bun: ` prefix the member has always written to stderr. It formats and
 * filters only; where lines go is the injected `write` (stderr by default). It must not buffer,
 * reorder or drop a line at or above the level, and it never decides to exit: fatal lines are
 * written by the fatal handler, whatever the level.
 */

/** etcd 3.4 `--log-level` values, lowest first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "panic", "fatal"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One function per line kind; the member's existing `Log` shape, `(line) => void`. */
export type LogLine = (line: string) => void;

/** The levels a caller logs at; panic and fatal lines belong to the fatal handler. */
export type LineLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  readonly debug: LogLine;
  readonly info: LogLine;
  readonly warn: LogLine;
  readonly error: LogLine;
  /** Whether lines of this level are written (to skip building costly debug text). */
  readonly enabled: (level: LineLevel) => boolean;
}

export interface LoggerOptions {
  /** The lowest level written. `panic` and `fatal` write none of the four line kinds. */
  readonly level: LogLevel;
  /** Receives each formatted line, without a trailing newline. Default: stderr. */
  readonly write?: (formatted: string) => void;
}

/** The prefix every line the process writes carries. */
export const LINE_PREFIX = "etcd-bun: ";

/**
 * The text written for a line. Debug and warning lines are tagged (`etcd-bun: warning: ...`,
 * as the CLI already words its warnings); info and error lines keep the untagged wording
 * operators and tests already match, e.g. `etcd-bun: cannot start member: ...`.
 */
export function formatLine(level: LineLevel, line: string): string {
  switch (level) {
    case "debug":
      return `${LINE_PREFIX}debug: ${line}`;
    case "warn":
      return `${LINE_PREFIX}warning: ${line}`;
    case "info":
    case "error":
      return `${LINE_PREFIX}${line}`;
  }
}

/** Whether a line of `line` level is written when the logger's level is `threshold`. */
export function levelEnabled(threshold: LogLevel, line: LineLevel): boolean {
  return LOG_LEVELS.indexOf(line) >= LOG_LEVELS.indexOf(threshold);
}

const writeStderr = (formatted: string): void => {
  console.error(formatted);
};

const discard: LogLine = () => {};

/** A logger writing the lines at or above `level`; the others are no-ops. */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? writeStderr;
  const at =
    (level: LineLevel): LogLine =>
    (line) =>
      write(formatLine(level, line));
  const enabled = (level: LineLevel) => levelEnabled(options.level, level);
  return {
    debug: enabled("debug") ? at("debug") : discard,
    info: enabled("info") ? at("info") : discard,
    warn: enabled("warn") ? at("warn") : discard,
    error: enabled("error") ? at("error") : discard,
    enabled,
  };
}
