/**
 * One process per data dir: an exclusive `flock(2)` on the directory itself (and on a dedicated
 * WAL dir). The kernel drops the lock when the process dies, kill -9 included, so there is no
 * stale lock to clean up, and locking writes nothing into the directory. The holder's pid is
 * read from /proc/locks for the refusal message. It must not create or change anything inside
 * the locked directories.
 */
import { dlopen, FFIType, read } from "bun:ffi";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from "node:fs";

/** flock(2) operations (Linux <sys/file.h>). */
const LOCK_EX = 2;
const LOCK_NB = 4;
/** EWOULDBLOCK: another open file description holds the lock. */
const EWOULDBLOCK = 11;

/** A directory this process holds the lock of. */
export interface HeldLock {
  readonly dir: string;
  /** False once `dir` names another directory than the locked one (it was replaced). */
  covers(): boolean;
  /** Releases the lock (closing the descriptor), for a member stopped inside a running process. */
  release(): void;
}

export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

type Libc = {
  flock: (fd: number, op: number) => number;
  errno: () => number;
};

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc !== undefined) return libc;
  const lib = dlopen("libc.so.6", {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
  libc = {
    flock: (fd, op) => lib.symbols.flock(fd, op),
    errno: () => {
      const ptr = lib.symbols.__errno_location();
      return ptr === null ? 0 : read.i32(ptr, 0);
    },
  };
  return libc;
}

/**
 * Locks `dir` (created with mode 0700 if missing) for this process, or throws
 * DataDirLockedError naming the holder: `data dir D is locked by another process (pid N)`.
 * `what` names the directory in that message ("data dir", "wal dir").
 */
export function lockDir(dir: string, what: string): HeldLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = openSync(dir, "r");
  const { flock, errno } = loadLibc();
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const code = errno();
    closeSync(fd);
    if (code !== EWOULDBLOCK) throw new Error(`cannot lock ${what} ${dir}: flock errno ${code}`);
    const pid = lockHolder(dir);
    const holder = pid === undefined ? "another process" : `another process (pid ${pid})`;
    throw new DataDirLockedError(`${what} ${dir} is locked by ${holder}`);
  }
  let held = true;
  const { ino } = statSync(dir);
  return {
    dir,
    covers: () => existsSync(dir) && statSync(dir).ino === ino,
    release() {
      if (!held) return;
      held = false;
      closeSync(fd);
    },
  };
}

/** The pid holding a flock on `dir`, from /proc/locks (matched by device and inode). */
export function lockHolder(dir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync("/proc/locks", "utf8");
  } catch {
    return undefined; // not Linux, or /proc not mounted: the message just omits the pid
  }
  const { dev, ino } = statSync(dir);
  const id = `${hex2(deviceMajor(dev))}:${hex2(deviceMinor(dev))}:${ino}`;
  for (const line of text.split("\n")) {
    // "1: FLOCK  ADVISORY  WRITE 3684 fe:00:2146561 0 EOF"
    const fields = line.trim().split(/\s+/);
    if (fields[1] === "FLOCK" && fields[5] === id) return Number(fields[4]);
  }
  return undefined;
}

/** glibc's gnu_dev_major / gnu_dev_minor on a st_dev number. */
function deviceMajor(dev: number): number {
  return Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
}

function deviceMinor(dev: number): number {
  return Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}
