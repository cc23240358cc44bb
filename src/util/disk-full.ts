/**
 * A write that failed because the disk is full (ENOSPC from the file system, SQLITE_FULL from
 * the snapshot database), named with the file it was writing. The member treats it like any
 * failed write: fatal, one line, exit 1 (STYLE.md: never retry a failed WAL write). Nothing that
 * failed this way was acknowledged, and a restart once space is free replays the WAL as usual.
 *
 * Must not: decide what happens next; callers rethrow it and the member's fatal path reports it.
 */

export class DiskFullError extends Error {
  override name = "DiskFullError";
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`no space left on device writing ${path}`, { cause });
  }
}

/** True for an error that says the disk (or a quota on it) is full. */
export function isDiskFull(error: unknown): boolean {
  if (error instanceof DiskFullError) return true;
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL") return true;
  // A sqlite error relayed from the snapshot worker keeps only its message.
  return error instanceof Error && error.message.includes("database or disk is full");
}

/** `error` as a DiskFullError naming `path` if the disk is full, else `error` unchanged. */
export function asDiskFull(error: unknown, path: string): unknown {
  if (error instanceof DiskFullError || !isDiskFull(error)) return error;
  return new DiskFullError(path, error);
}
