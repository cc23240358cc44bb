/** Go's textual formats that etcd's JSON carries: RFC3339Nano times and Duration strings. */

/** RFC3339 in UTC with the fraction trimmed of trailing zeros, as Go's RFC3339Nano. */
export function rfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-25T16:00:28.027Z
  const fraction = iso.slice(20, 23).replace(/0+$/, "");
  return `${iso.slice(0, 19)}${fraction === "" ? "" : `.${fraction}`}Z`;
}

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
