/**
 * The README's shell blocks, run as written and in order, the way a newcomer would on a fresh
 * machine: one bash session, default ports 2379/2380 and `/tmp/infraN.etcd` data dirs as the
 * README names them. So that nothing on this host is touched, the session runs in namespaces
 * of its own (`unshare`): a network namespace with its own loopback (ports 2379/2380 are free
 * there and no traffic leaves it), a private /tmp, and a PID namespace whose processes the
 * kernel ends when the session's first process is killed. The repository's files are copied to
 * `/tmp/repo` inside it, so `npm start` writes `default.etcd` into the copy.
 *
 * Three commands are not run, each for a stated reason (see `npm()` below): `npm ci` (done by
 * the runner already), `npm test` / `npm run check` (this suite) and `npm run bench` (minutes).
 * The README's "other terminal" for `npm start` is a detached process here.
 */
import { afterAll, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { has, namespacesAvailable, UNSHARE } from "../support/namespaces.ts";

const ROOT = resolve(import.meta.dir, "../..");
const README_TIMEOUT_MS = 420_000;
/** The longest one block may wait (its own run takes seconds; a loaded machine, a minute). */
const BLOCK_LIMIT_S = 90;

const runnable = namespacesAvailable && has("etcdctl") && has("curl");

interface Block {
  readonly section: string;
  readonly code: string;
}

/** Every ```sh block of the README, with the heading it sits under. */
function readmeBlocks(): Block[] {
  const blocks: Block[] = [];
  let section = "";
  const lines = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line.startsWith("## ")) section = line.slice(3);
    if (line.trim() !== "```sh") continue;
    const code: string[] = [];
    for (i++; i < lines.length && lines[i]?.trim() !== "```"; i++) code.push(lines[i] ?? "");
    blocks.push({ section, code: code.join("\n") });
  }
  return blocks;
}

const PRELUDE = `
set -eo pipefail
export NPM_CONFIG_UPDATE_NOTIFIER=false
# The README's waits ("until curl ...; do sleep 1; done") have no bound of their own: here a
# block that is still sleeping after BLOCK_LIMIT seconds fails, naming itself, instead of
# spending the whole test's time.
BLOCK_LIMIT=${BLOCK_LIMIT_S}
sleep() {
  if (( SECONDS - BLOCK_START > BLOCK_LIMIT )); then
    echo "block $BLOCK: still waiting after $BLOCK_LIMIT s" >&2; exit 1
  fi
  command sleep "$@"
}
# "wait" for the README's background jobs, failing the same way if one runs past the limit
# (a watch that missed its change would otherwise wait for ever).
wait() {
  while [ -n "$(jobs -pr)" ]; do
    if (( SECONDS - BLOCK_START > BLOCK_LIMIT )); then
      echo "block $BLOCK: a background job still running after $BLOCK_LIMIT s: $(jobs -r)" >&2; exit 1
    fi
    command sleep 0.1
  done
  builtin wait "$@"
}
# curl without its progress meter (it is drawn when stdout is not a terminal), errors kept.
mkdir -p /tmp/curl-home && echo "-sS" >/tmp/curl-home/.curlrc && export CURL_HOME=/tmp/curl-home
npm() {
  case "$1" in
    ci) echo "(npm ci: already done by the test runner)" ;;
    test) echo "(npm test: that is this test suite)" ;;
    start)
      if [ "$BASHPID" = "$$" ]; then
        # The README runs this in its own terminal: detached here, and waited for.
        (command npm "$@" >>/tmp/npm-start.log 2>&1 &)
        for _ in $(seq 150); do curl -fs http://127.0.0.1:2379/health >/dev/null && return 0; sleep 0.2; done
        echo "npm start: no member on :2379 after 30 s" >&2; cat /tmp/npm-start.log >&2; return 1
      else
        command npm "$@" >>"/tmp/npm-start-$BASHPID.log" 2>&1
      fi ;;
    run)
      case "$2" in
        check | bench) echo "(npm run $2: not run here: it runs the test suite or takes minutes)" ;;
        *) command npm "$@" ;;
      esac ;;
    *) command npm "$@" ;;
  esac
}
`;

function sessionScript(blocks: readonly Block[]): string {
  const parts = blocks.map(
    (b, i) =>
      `BLOCK=${i} BLOCK_START=$SECONDS\necho "### block ${i}: ${b.section}"\n${b.code}\n` +
      `echo "### block ${i} done in $((SECONDS - BLOCK_START)) s"`,
  );
  return `${PRELUDE}\n${parts.join("\n")}\necho "### all blocks done"\n`;
}

const workDir = mkdtempSync(join(tmpdir(), "etcd-bun-readme-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** The tracked and new (not ignored) files of the repository, copied to `<workDir>/repo`. */
function copyRepository(): string {
  const repo = join(workDir, "repo");
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: ROOT })
    .toString()
    .split("\n")
    .filter((f) => f !== "" && existsSync(join(ROOT, f)));
  for (const file of files) {
    mkdirSync(dirname(join(repo, file)), { recursive: true });
    cpSync(join(ROOT, file), join(repo, file));
  }
  mkdirSync(join(repo, "node_modules"));
  return repo;
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}

function failureReport(code: number, out: string, err: string): string {
  return `README session: exit ${code}\n--- stdout (last 40 lines)\n${lastLines(out, 40)}\n${memberLogTails()}--- stderr (last 40 lines)\n${lastLines(err, 40)}`;
}

/** The last lines each `npm start` of the session wrote: why a member did not come up. */
function memberLogTails(): string {
  return readdirSync(workDir)
    .filter((f) => f.startsWith("npm-start") && f.endsWith(".log"))
    .map((f) => {
      const text = readFileSync(join(workDir, f), "utf8");
      return `--- ${f} (last 8 lines)\n${lastLines(text, 8)}\n`;
    })
    .join("");
}

test.skipIf(!runnable)(
  "every README shell block runs as written, in order",
  async () => {
    const repo = copyRepository();
    const blocks = readmeBlocks();
    Bun.write(join(workDir, "session.sh"), sessionScript(blocks));
    // Inside the namespaces: loopback up, node_modules visible in the copy, private /tmp.
    const setup = [
      "ip link set lo up",
      `mount --bind ${JSON.stringify(join(ROOT, "node_modules"))} ${JSON.stringify(join(repo, "node_modules"))}`,
      `mount --rbind ${JSON.stringify(workDir)} /tmp`,
      "cd /tmp/repo",
      "exec bash /tmp/session.sh",
    ].join(" && ");
    const proc = Bun.spawn([...UNSHARE, "--mount-proc", "bash", "-c", setup], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ETCDCTL_API: "" },
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), README_TIMEOUT_MS);
    const [out, err] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    const code = await proc.exited;
    clearTimeout(timer);
    if (process.env.README_TEST_ECHO) console.log(out);
    const finished = out.includes("### all blocks done");
    // A short report first, so the lines just before a failure say where the session stopped.
    if (!finished || code !== 0) console.error(failureReport(code, out, err));
    expect({ code, finished }).toEqual({ code: 0, finished: true });

    const section = (name: string) =>
      blocks
        .map((b, i) => ({ ...b, i }))
        .filter((b) => b.section === name)
        .map((b) => out.split(`### block ${b.i}: `)[1]?.split(`### block ${b.i} done`)[0] ?? "")
        .join("\n");
    const quick = section("Quick start");
    expect(quick).toContain('"value":"baz"');
    expect(quick).toContain("name=default");
    expect(quick).toContain("cluster is healthy");
    expect(section("One binary")).toContain("etcd-bun Version:");
    const clusters = section("Clusters");
    for (const name of ["infra0", "infra1", "infra2"]) expect(clusters).toContain(`name=${name}`);
    expect(clusters).toContain("Added member named infra3");
    expect(clusters).toContain("name=infra3");
    expect(clusters).toMatch(/Removed member [0-9a-f]+ from cluster/);
    const security = section("Security");
    expect(security).toContain("refused without a client certificate");
    expect(security).toContain("Authentication Enabled");
    expect(security).toContain("alice may not read /secret");
    expect(security).toContain("no credentials, no access");
    expect(security).toContain('"value":"hello"');
    expect(security).toContain("Authentication Disabled");
    expect(section("Monitoring")).toContain("etcd_server_has_leader 1");
    expect(section("Dashboard")).toContain('"state":"leader"');
    const development = section("Development");
    expect(development).toContain("seed 17: ok");
    expect(development).toContain("all passed");
  },
  README_TIMEOUT_MS + 30_000,
);
