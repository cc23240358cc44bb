/** Recognising a full disk, and the fatal line it ends the member with. */
import { expect, test } from "bun:test";
import { fatalLine } from "../../src/member/fatal.ts";
import { asDiskFull, DiskFullError, isDiskFull } from "../../src/util/disk-full.ts";

const errno = (code: string) => Object.assign(new Error(`${code}: failed, write`), { code });

test("ENOSPC, EDQUOT, SQLITE_FULL and a relayed sqlite message are a full disk; EIO is not", () => {
  expect(isDiskFull(errno("ENOSPC"))).toBe(true);
  expect(isDiskFull(errno("EDQUOT"))).toBe(true);
  expect(isDiskFull(errno("SQLITE_FULL"))).toBe(true);
  expect(isDiskFull(new Error("background save failed: database or disk is full"))).toBe(true);
  expect(isDiskFull(errno("EIO"))).toBe(false);
  expect(isDiskFull("ENOSPC")).toBe(false);
});

test("asDiskFull names the file and keeps other errors as they are", () => {
  const wrapped = asDiskFull(errno("ENOSPC"), "/d/member/wal");
  expect(wrapped).toBeInstanceOf(DiskFullError);
  expect((wrapped as DiskFullError).path).toBe("/d/member/wal");
  expect(asDiskFull(wrapped, "/elsewhere")).toBe(wrapped);
  const io = errno("EIO");
  expect(asDiskFull(io, "/d")).toBe(io);
});

test("the fatal line says what to do", () => {
  const line = fatalLine(
    new DiskFullError("/d/member/snap/snap.db", errno("SQLITE_FULL")),
    {
      dataDir: "/d",
      name: "infra0",
    },
    "8e9e05c52164694d",
  );
  expect(line).toBe(
    "fatal: no space left on device writing /d/member/snap/snap.db (member 8e9e05c52164694d, data dir /d): free space and restart",
  );
});
