/**
 * The process logger from the logging flags, and `--log-outputs`: where its lines go.
 * `default` and `stderr` are the process's stderr, `stdout` its stdout, anything else (zap
 * only, as in etcd) a file the lines are appended to.
 */
import { openSync, writeSync } from "node:fs";
import {
  createLogger,
  type LogFormat,
  type Logger,
  type LogLevel,
  type LogLine,
  packageLevelsOf,
} from "./log.ts";

/** The logging flags (`--log-level`/`--debug`, `--logger`, `--log-outputs`, `--log-package-levels`). */
export interface LogSettings {
  readonly logLevel: LogLevel;
  readonly logger: LogFormat;
  readonly logOutputs: readonly string[];
  readonly logPackageLevels: string;
}

/** The process's logger for a role, as its flags ask. */
export function processLogger(settings: LogSettings): Logger {
  return createLogger({
    level: settings.logLevel,
    format: settings.logger,
    write: logWriter(settings.logOutputs),
    ...packageLevelsOf(settings.logPackageLevels),
  });
}

/** The process's log function for a role (lines it marks `warning: ` warn). */
export function processLog(settings: LogSettings): LogLine {
  return processLogger(settings).info;
}

export function logWriter(outputs: readonly string[]): (formatted: string) => void {
  const sinks = outputs.map((output): ((text: string) => void) => {
    if (output === "default" || output === "stderr") return (text) => process.stderr.write(text);
    if (output === "stdout") return (text) => process.stdout.write(text);
    const fd = openSync(output, "a", 0o600);
    return (text) => {
      writeSync(fd, text);
    };
  });
  return (formatted) => {
    for (const sink of sinks) sink(`${formatted}\n`);
  };
}
