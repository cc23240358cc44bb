/**
 * Knobs for tests and benchmarks, from `ETCDBUN_*` environment variables (they are not etcd
 * flags and are not in the flag table). Read here, once, so no other layer touches the
 * environment.
 */
export interface Tuning {
  /** ETCDBUN_WAL_WRITER=mmap|pwrite; unset: the WAL's own default. */
  readonly walWriter: "pwrite" | "mmap" | undefined;
  /** Smaller WAL segments than etcd's 64 MiB, for tests on a small disk. */
  readonly walSegmentBytes: number | undefined;
  /** Entries kept behind a snapshot for slow followers (etcd's 5000). */
  readonly snapshotCatchUpEntries: number;
  /** Idle client connections are closed after this many seconds. */
  readonly clientIdleTimeoutS: number;
}

export function readTuning(env: Readonly<Record<string, string | undefined>>): Tuning {
  const segment = env.ETCDBUN_WAL_SEGMENT_BYTES;
  let walSegmentBytes: number | undefined;
  if (segment !== undefined) {
    const n = Number(segment);
    if (!Number.isSafeInteger(n) || n < 4096) {
      throw new Error(
        `ETCDBUN_WAL_SEGMENT_BYTES must be a whole number of bytes >= 4096: ${segment}`,
      );
    }
    walSegmentBytes = n - (n % 8);
  }
  return {
    walWriter: walWriterOf(env.ETCDBUN_WAL_WRITER),
    walSegmentBytes,
    snapshotCatchUpEntries: Number(env.ETCDBUN_SNAPSHOT_CATCHUP_ENTRIES ?? 5000),
    clientIdleTimeoutS: Number(env.ETCDBUN_CLIENT_IDLE_TIMEOUT_S ?? 120),
  };
}

function walWriterOf(text: string | undefined): Tuning["walWriter"] {
  if (text === undefined || text === "") return undefined;
  if (text === "mmap" || text === "pwrite") return text;
  throw new Error(`ETCDBUN_WAL_WRITER must be mmap or pwrite: ${text}`);
}

let cached: Tuning | undefined;

/** This process's tuning, read from its environment on first use. */
export function tuning(): Tuning {
  cached ??= readTuning(process.env);
  return cached;
}
