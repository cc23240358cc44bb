/**
 * `--log-outputs`: where log lines go. `default` and `stderr` are the process's stderr, `stdout`
 * its stdout, anything else (zap only, as in etcd) a file the lines are appended to.
 */
import { openSync, writeSync } from "node:fs";

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
