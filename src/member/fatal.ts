/**
 * The one way a member ends on a broken invariant or a failed write: one clear line on stderr
 * (what broke, the data dir, what the operator does next), then exit 1. Installed for the whole
 * process, so an error thrown from any socket handler or timer ends it too instead of being
 * logged and retried. Nothing here may be caught and resumed.
 */
import { AssertionError } from "../util/assert.ts";
import { DiskFullError } from "../util/disk-full.ts";

export interface FatalContext {
  readonly dataDir: string;
  readonly name: string;
  /** Prints a line to stderr (with the process prefix). */
  readonly log: (line: string) => void;
  /** Prints the stack trace too (`--debug` / `--log-level debug`). */
  readonly debug: boolean;
}

let context: FatalContext | undefined;
let ended = false;
/** This member's id once its data dir is open ("" before). */
let memberId = "";

/** Records the member's id for the fatal line, as soon as the data dir names it. */
export function setFatalMemberId(id: string): void {
  memberId = id;
}

/** The fatal line for `error`; exported for tests. */
export function fatalLine(
  error: unknown,
  ctx: Pick<FatalContext, "dataDir" | "name">,
  id = memberId,
): string {
  const message = error instanceof Error ? error.message : String(error);
  const who = id === "" ? "" : `member ${id}, `;
  if (error instanceof AssertionError) {
    const remove =
      id === "" ? "remove this member" : `remove this member (etcdctl member remove ${id})`;
    return `fatal: invariant broken: ${message} (${who}data dir ${ctx.dataDir}). Do not restart it on this data dir: ${remove}, delete ${ctx.dataDir}, add it back (etcdctl member add ${ctx.name} <peer URLs>) and start it with --initial-cluster-state existing`;
  }
  if (error instanceof DiskFullError) {
    // Nothing that failed was acknowledged, and the WAL replays on restart.
    return `fatal: ${message} (${who}data dir ${ctx.dataDir}): free space and restart`;
  }
  return `fatal: ${message} (${who}data dir ${ctx.dataDir})`;
}

/** Ends the process with the fatal line for `error`. Only the first call prints. */
export function fatal(error: unknown): never {
  if (!ended) {
    ended = true;
    const ctx = context;
    const line =
      ctx === undefined
        ? `fatal: ${error instanceof Error ? error.message : String(error)}`
        : fatalLine(error, ctx);
    const log = ctx?.log ?? ((l: string) => process.stderr.write(`etcd-bun: ${l}\n`));
    log(line);
    if (ctx?.debug === true && error instanceof Error && error.stack !== undefined) {
      process.stderr.write(`${error.stack}\n`);
    }
  }
  process.exit(1);
}

/**
 * Routes every uncaught exception and unhandled rejection of the process to `fatal`. Bun logs
 * an exception thrown in a WebSocket or timer callback and carries on otherwise.
 */
export function installFatalHandlers(ctx: FatalContext): void {
  context = ctx;
  process.on("uncaughtException", (error) => fatal(error));
  process.on("unhandledRejection", (reason) => fatal(reason));
}

/**
 * Bun.serve's `error` handler: a broken invariant ends the process; any other unexpected
 * error in a handler is logged and answered 500, as Go's net/http recovers a handler panic.
 */
export function handlerError(error: unknown, log: (line: string) => void): Response {
  if (error instanceof AssertionError) fatal(error);
  log(
    `http handler error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return new Response("Internal Server Error\n", {
    status: 500,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}
