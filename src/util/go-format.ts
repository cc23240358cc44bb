/** Go's Duration text, as etcd's stats JSON carries it (times: store/render.ts rfc3339Nano). */

/** A duration as Go's `time.Duration.String()` for durations of a second or more, e.g. 4m51.676s. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${trimZeros(ms.toFixed(3))}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = trimZeros(((ms % 60_000) / 1000).toFixed(3));
  let out = "";
  if (hours > 0) out += `${hours}h`;
  if (hours > 0 || minutes > 0) out += `${minutes}m`;
  return `${out}${seconds}s`;
}

function trimZeros(fixed: string): string {
  return fixed.includes(".") ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed;
}
