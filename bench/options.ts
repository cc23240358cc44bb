/**
 * Command-line options of `npm run bench`. Parsing only: no I/O beyond reading argv.
 */

export interface BenchOptions {
  /** Also measure the real etcd (Debian's etcd-server, `--enable-v2=true`). */
  readonly compare: boolean;
  /** One repeat, short runs, smaller data sets: a smoke test. */
  readonly quick: boolean;
  /** Run only workloads whose id or title contains this substring. */
  readonly only: string | undefined;
  readonly repeats: number;
  readonly warmupMs: number;
  /** Load on a new shared cluster before its first workload (see warmUp). */
  readonly clusterWarmupMs: number;
  readonly runMs: number;
  /** Keys stored before measuring RSS, data-dir size and restart time. */
  readonly memoryKeys: number;
  /** Keys in the dir read by the recursive sorted GET. */
  readonly dirKeys: number;
  readonly jsonPath: string;
}

/** A bad command line: main prints the message and usage, without a stack trace. */
export class UsageError extends Error {}

const USAGE = `usage: npm run bench -- [--compare etcd] [--quick] [--only <substring>] [--repeats N]
                     [--json <path>]`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  let compare = false;
  let quick = false;
  let only: string | undefined;
  let repeats: number | undefined;
  let jsonPath = ".bench/results.json";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    if (arg === "--compare") {
      const target = value();
      if (target !== "etcd") throw new UsageError(`--compare: only "etcd" is supported\n${USAGE}`);
      compare = true;
    } else if (arg === "--quick") quick = true;
    else if (arg === "--only") only = value();
    else if (arg === "--repeats") repeats = Number(value());
    else if (arg === "--json") jsonPath = value();
    else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new UsageError(`unknown argument ${arg}\n${USAGE}`);
  }
  const n = repeats ?? (quick ? 1 : 3);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--repeats must be a positive integer`);
  return {
    compare,
    quick,
    only,
    repeats: n,
    warmupMs: quick ? 300 : 1000,
    clusterWarmupMs: quick ? 2000 : 8000,
    runMs: quick ? 1000 : 3000,
    memoryKeys: quick ? 20_000 : 100_000,
    dirKeys: quick ? 2_000 : 10_000,
    jsonPath,
  };
}
