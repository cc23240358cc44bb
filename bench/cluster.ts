/**
 * Starts the clusters the bench measures: etcd-bun from the source tree or the real etcd
 * (`/usr/bin/etcd --enable-v2=true`), both with the same topology and default settings
 * (fsync on every WAL batch, snapshot every 100,000 entries). Members listen on free ports of
 * 127.0.0.1, write logs next to their data dir, and are registered with procs.ts for cleanup.
 */
import { mkdirSync, openSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { freePort, REAL_ETCD } from "../test/support/cluster-process.ts";
import { killProcess, removeDir, trackDir, trackProcess } from "./procs.ts";

export type ServerKind = "etcd-bun" | "etcd";

const MAIN = resolve(import.meta.dir, "../src/main.ts");
const START_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 5;

export interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly dataDir: string;
  readonly args: readonly string[];
  readonly logPath: string;
  proc: Subprocess;
}

export interface Cluster {
  readonly kind: ServerKind;
  readonly members: Member[];
  /**
   * A proxy of the same kind (`--proxy on`) in front of the members, started on first use and
   * stopped with the cluster.
   */
  proxy(): Promise<Member>;
  /** The proxy once started (its CPU counts with the members'). */
  readonly runningProxy: Member | undefined;
  /** Index of the member whose /v2/stats/self says StateLeader. */
  leaderIndex(): Promise<number>;
  stop(): Promise<void>;
}

function spawnMember(member: Omit<Member, "proc">): Subprocess {
  const log = openSync(member.logPath, "a");
  const proc = Bun.spawn([...member.args], { stdout: log, stderr: log, stdin: "ignore" });
  trackProcess(proc);
  return proc;
}

/** Polls `path` on `member` until it answers 200; returns ms since `startedAt`. */
export async function waitServing(member: Member, path: string, startedAt: number) {
  const deadline = startedAt + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (member.proc.exitCode !== null)
      throw new Error(`${member.name} exited; see ${member.logPath}`);
    try {
      const res = await fetch(`${member.clientUrl}${path}`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - startedAt;
    } catch {
      // Not listening yet.
    }
    await Bun.sleep(READY_POLL_MS);
  }
  throw new Error(
    `${member.name} not serving ${path} in ${START_TIMEOUT_MS} ms; see ${member.logPath}`,
  );
}

/** SIGKILLs a member and starts it again on the same data dir; returns ms from spawn to a 200 on `path`. */
export async function restartMember(member: Member, path: string): Promise<number> {
  await killProcess(member.proc);
  const startedAt = performance.now();
  member.proc = spawnMember(member);
  return await waitServing(member, path, startedAt);
}

function memberArgs(
  kind: ServerKind,
  m: { name: string; dataDir: string; client: string; peer: string },
) {
  const command = kind === "etcd" ? [REAL_ETCD, "--enable-v2=true"] : [process.execPath, MAIN];
  return [
    ...command,
    ...["--name", m.name, "--data-dir", m.dataDir],
    ...["--listen-client-urls", m.client, "--advertise-client-urls", m.client],
    ...["--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer],
  ];
}

export async function startCluster(
  kind: ServerKind,
  size: number,
  rootDir: string,
): Promise<Cluster> {
  const base = join(rootDir, `${kind}-${size}m-${Date.now().toString(36)}`);
  mkdirSync(base, { recursive: true });
  trackDir(base);
  const ports = await Promise.all(Array.from({ length: size * 2 }, () => freePort()));
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    dataDir: join(base, `m${i}.data`),
    client: `http://127.0.0.1:${ports[2 * i]}`,
    peer: `http://127.0.0.1:${ports[2 * i + 1]}`,
  }));
  const initialCluster = specs.map((s) => `${s.name}=${s.peer}`).join(",");
  const members: Member[] = specs.map((s) => {
    const args = [
      ...memberArgs(kind, s),
      ...["--initial-cluster", initialCluster, "--initial-cluster-token", base],
      ...["--initial-cluster-state", "new"],
    ];
    const info = {
      name: s.name,
      clientUrl: s.client,
      dataDir: s.dataDir,
      args,
      logPath: join(base, `${s.name}.log`),
    };
    return { ...info, proc: spawnMember(info) };
  });
  let proxy: Member | undefined;
  const stop = async () => {
    await Promise.all([...members, ...(proxy ? [proxy] : [])].map((m) => killProcess(m.proc)));
    removeDir(base);
  };
  try {
    const startedAt = performance.now();
    await Promise.all(members.map((m) => waitServing(m, "/v2/keys/", startedAt)));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    kind,
    members,
    leaderIndex: () => findLeader(members),
    stop,
    get runningProxy() {
      return proxy;
    },
    async proxy() {
      proxy ??= await startProxy(kind, base, initialCluster);
      return proxy;
    },
  };
}

async function startProxy(kind: ServerKind, base: string, initialCluster: string) {
  const client = `http://127.0.0.1:${await freePort()}`;
  const dataDir = join(base, "proxy.data");
  const command = kind === "etcd" ? [REAL_ETCD] : [process.execPath, MAIN];
  const args = [
    ...command,
    ...["--proxy", "on", "--data-dir", dataDir, "--listen-client-urls", client],
    ...["--initial-cluster", initialCluster],
  ];
  const info = {
    name: "proxy",
    clientUrl: client,
    dataDir,
    args,
    logPath: join(base, "proxy.log"),
  };
  const member: Member = { ...info, proc: spawnMember(info) };
  await waitServing(member, "/v2/keys/", performance.now());
  return member;
}

async function findLeader(members: readonly Member[]): Promise<number> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    for (const [i, m] of members.entries()) {
      const state = await fetch(`${m.clientUrl}/v2/stats/self`, {
        signal: AbortSignal.timeout(1000),
      })
        .then((r) => r.json() as Promise<{ state?: string }>)
        .catch(() => ({ state: "" }));
      if (state.state === "StateLeader") return i;
    }
    await Bun.sleep(50);
  }
  throw new Error("no leader");
}
