/**
 * The `etcd-bun backup` subcommand: its flag table (shared with the help in src/cli), argument
 * parsing in etcd's style (`-name`, `--name`, `-name=value`, `--name=value`) and the run that
 * prints one line. The backup itself is in backup.ts, loaded only when a backup runs.
 */
import type { CliIo } from "./io.ts";

export interface BackupFlagSpec {
  readonly name: "data-dir" | "wal-dir" | "backup-dir" | "backup-wal-dir";
  readonly help: string;
  readonly required: boolean;
}

export const BACKUP_FLAGS: readonly BackupFlagSpec[] = [
  { name: "data-dir", help: "Path to the etcd-bun data dir to back up.", required: true },
  { name: "wal-dir", help: "Path to its dedicated WAL dir, if it has one.", required: false },
  { name: "backup-dir", help: "Path to the new data dir (absent or empty).", required: true },
  {
    name: "backup-wal-dir",
    help: "Path to a dedicated WAL dir for the backup (absent or empty).",
    required: false,
  },
];

export type BackupArgs =
  | { readonly kind: "help" }
  | {
      readonly kind: "run";
      readonly values: ReadonlyMap<BackupFlagSpec["name"], string>;
    };

/** A command line the backup cannot run with; the message is one line. */
export class BackupUsageError extends Error {
  override name = "BackupUsageError";
}

const EXIT_OK = 0;
const EXIT_FAILED = 1;

function flagSpec(name: string): BackupFlagSpec | undefined {
  return BACKUP_FLAGS.find((f) => f.name === name);
}

/** Parses the arguments after `backup`. Throws BackupUsageError on any invalid input. */
export function parseBackupArgs(argv: readonly string[]): BackupArgs {
  const values = new Map<BackupFlagSpec["name"], string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const match = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (match === null) throw new BackupUsageError(`unexpected argument: ${arg}`);
    const name = match[1] ?? "";
    if (name === "h" || name === "help") return { kind: "help" };
    const spec = flagSpec(name);
    if (spec === undefined) throw new BackupUsageError(`flag provided but not defined: -${name}`);
    let value = match[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined) throw new BackupUsageError(`flag needs an argument: -${name}`);
      i++;
    }
    if (values.has(spec.name)) throw new BackupUsageError(`flag given twice: -${name}`);
    values.set(spec.name, value);
  }
  for (const spec of BACKUP_FLAGS) {
    const value = values.get(spec.name);
    if (spec.required && (value === undefined || value === "")) {
      throw new BackupUsageError(`--${spec.name} is required`);
    }
  }
  return { kind: "run", values };
}

/**
 * Runs `etcd-bun backup <argv>`: prints a one-line summary and returns 0, or prints one line
 * `etcd-bun: backup: <reason>` and returns 1. Bugs (assertions) are not caught.
 */
export async function runBackupCommand(
  argv: readonly string[],
  io: CliIo,
  usage: () => Promise<string>,
): Promise<number> {
  let args: BackupArgs;
  try {
    args = parseBackupArgs(argv);
  } catch (error) {
    if (!(error instanceof BackupUsageError)) throw error;
    io.stderr(`etcd-bun: backup: ${error.message}`);
    return EXIT_FAILED;
  }
  if (args.kind === "help") {
    io.stdout(await usage());
    return EXIT_OK;
  }
  const { backupDataDir, BackupError } = await import("../tools/backup.ts");
  const { WalError } = await import("../wal/errors.ts");
  const get = (name: BackupFlagSpec["name"]) => args.values.get(name) ?? "";
  const backupDir = get("backup-dir");
  try {
    const result = await backupDataDir({
      dataDir: get("data-dir"),
      walDir: get("wal-dir"),
      backupDir,
      backupWalDir: get("backup-wal-dir"),
      log: (message) => io.stderr(`etcd-bun: backup: warning: ${message}`),
    });
    io.stdout(
      `backup written to ${backupDir}: member ${result.memberId}, cluster ${result.clusterId}, ` +
        `snapshot index ${result.snapshotIndex}, ${result.entries} entries, commit index ` +
        `${result.commitIndex}; start it with --force-new-cluster`,
    );
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof BackupError || error instanceof WalError || isSystem(error))) {
      throw error;
    }
    io.stderr(`etcd-bun: backup: ${error.message.replaceAll("\n", " ")}`);
    return EXIT_FAILED;
  }
}

/** An operating-system error (EACCES, ENOSPC, ...): expected, reported in one line. */
function isSystem(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string";
}
