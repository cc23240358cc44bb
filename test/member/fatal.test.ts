/**
 * The member's fatal path, in child processes: a broken invariant anywhere (an HTTP handler, an
 * Elysia route, a timer) ends the process with exit 1 and one line saying what broke and what
 * to do; an ordinary error in a handler is answered 500 and the process goes on.
 */
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { fatalLine } from "../../src/member/fatal.ts";
import { AssertionError } from "../../src/util/assert.ts";

const CHILD = resolve(import.meta.dir, "fixtures/fatal-child.ts");

async function runChild(where: string) {
  const proc = Bun.spawn([process.execPath, CHILD, where], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code: proc.exitCode, stdout, stderr };
}

const ADVICE =
  "Do not restart it on this data dir: remove this member (etcdctl member remove 8e9e05c52164694d), delete /data/m1, add it back (etcdctl member add m1 <peer URLs>) and start it with --initial-cluster-state existing";

for (const [where, what] of [
  ["http", "broken in a handler"],
  ["elysia", "broken in a route"],
  ["timer", "broken in a timer"],
] as const) {
  test(`an assertion in ${where === "http" ? "an HTTP handler" : where === "elysia" ? "an Elysia route" : "a timer"} ends the process with one fatal line`, async () => {
    const { code, stdout, stderr } = await runChild(where);
    expect(code).toBe(1);
    expect(stdout).not.toContain("status");
    expect(stderr.trim()).toBe(
      `etcd-bun: fatal: invariant broken: ${what} (member 8e9e05c52164694d, data dir /data/m1). ${ADVICE}`,
    );
  });
}

test("an ordinary error in an HTTP handler is answered 500 and the process goes on", async () => {
  const { code, stdout, stderr } = await runChild("http-error");
  expect(code).toBe(0);
  expect(stdout.trim()).toBe("status 500");
  expect(stderr).toContain("http handler error: TypeError: an ordinary bug");
  expect(stderr).not.toContain("fatal:");
});

test("a failure that is not an invariant names itself and the data dir", () => {
  const line = fatalLine(new Error("wal: fdatasync failed: EIO"), { dataDir: "/d", name: "n" }, "");
  expect(line).toBe("fatal: wal: fdatasync failed: EIO (data dir /d)");
  const broken = fatalLine(new AssertionError("x"), { dataDir: "/d", name: "n" }, "");
  expect(broken).toContain("remove this member, delete /d");
});
