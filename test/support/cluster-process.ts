/**
 * Starts single-member servers as real processes on 127.0.0.1 for end-to-end tests: etcd-bun
 * from the source tree, or the real etcd 3.4 (when installed) as the reference. Ports are free
 * ports chosen by the OS; a start that loses a port race is retried. Every process is stopped
 * by its PID and its data dir removed by `stop()`.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { PeerRelay } from "./peer-relay.ts";

const ROOT = resolve(import.meta.dir, "../..");
const MAIN = join(ROOT, "src/main.ts");
/** How long a member may take to serve its first request. */
const START_TIMEOUT_MS = 20_000;
const START_ATTEMPTS = 3;

export const REAL_ETCD = "/usr/bin/etcd";
export const realEtcdInstalled = existsSync(REAL_ETCD);
/** The servers a comparison test runs against: etcd-bun, and the real etcd when installed. */
export const SERVER_KINDS = realEtcdInstalled
  ? (["etcd-bun", "etcd"] as const)
  : (["etcd-bun"] as const);

/**
 * Listening ports are picked below Linux's ephemeral range (32768-60999 by default): a port the
 * OS hands out for port 0 is also one it may give an outgoing connection a moment later, and
 * then the member cannot bind it. Each pick is checked by binding it once.
 */
const PORT_RANGE_LOW = 20_000;
const PORT_RANGE_HIGH = 32_000;
const PORT_PICK_ATTEMPTS = 50;
const portsHandedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < PORT_PICK_ATTEMPTS; attempt++) {
    const port = PORT_RANGE_LOW + Math.floor(Math.random() * (PORT_RANGE_HIGH - PORT_RANGE_LOW));
    if (portsHandedOut.has(port)) continue;
    try {
      const listener = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      listener.stop(true);
      portsHandedOut.add(port);
      return port;
    } catch {
      // In use: pick another.
    }
  }
  throw new Error("no free port found below the ephemeral range");
}

/**
 * Every member process still running. A test that times out may leave its body running and
 * start processes after its cleanup ran; whatever is left is killed when the test run exits.
 */
const spawned = new Set<Subprocess>();
process.once("exit", () => {
  for (const proc of spawned) proc.kill("SIGKILL");
});

export interface MemberProcess {
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly name: string;
  proc: Subprocess;
  /** Output so far (stdout and stderr), for failure messages. */
  output(): string;
  kill(signal?: NodeJS.Signals | number): Promise<void>;
  /** Restarts the process with the same data dir and ports. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly kind?: "etcd-bun" | "etcd";
  readonly name?: string;
  readonly dataDir?: string;
  readonly extraArgs?: readonly string[];
  readonly env?: Record<string, string>;
  /** A fixed peer URL (e.g. one announced with `member add`); default: a free port. */
  readonly peerUrl?: string;
  /** `--initial-cluster` value; default: this member alone. */
  readonly initialCluster?: string;
  readonly initialClusterState?: "new" | "existing";
  /**
   * Serve clients on https (the caller passes the TLS flags in `extraArgs`); readiness is
   * checked with this CA and client certificate.
   */
  readonly https?: FetchTls;
}

/** `fetch`'s `tls` option. */
export interface FetchTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** false: accept any certificate (a member with auto TLS). */
  readonly rejectUnauthorized?: boolean;
}

function commandFor(kind: "etcd-bun" | "etcd"): string[] {
  return kind === "etcd" ? [REAL_ETCD, "--enable-v2=true"] : [process.execPath, MAIN];
}

interface MemberArgvSpec {
  readonly kind: "etcd-bun" | "etcd";
  readonly name: string;
  readonly dataDir: string;
  readonly clientUrl: string;
  /** Where the member listens for peers; differs from `peerUrl` behind a relay. */
  readonly listenPeerUrl: string;
  /** The advertised peer URL (the one named in the initial cluster). */
  readonly peerUrl: string;
  readonly initialCluster: string;
  readonly initialClusterState: "new" | "existing";
  readonly extraArgs: readonly string[];
}

/** The command line of one member: the same flags for etcd-bun and the real etcd. */
function memberArgv(m: MemberArgvSpec): string[] {
  return [
    ...commandFor(m.kind),
    "--name",
    m.name,
    "--data-dir",
    m.dataDir,
    "--listen-client-urls",
    m.clientUrl,
    "--advertise-client-urls",
    m.clientUrl,
    "--listen-peer-urls",
    m.listenPeerUrl,
    "--initial-advertise-peer-urls",
    m.peerUrl,
    "--initial-cluster",
    m.initialCluster,
    "--initial-cluster-state",
    m.initialClusterState,
    ...m.extraArgs,
  ];
}

/**
 * The flags of a one-member cluster named `default` on the given data dir and URLs (free
 * ports when not given), for tests that spawn etcd-bun themselves.
 */
export async function soloMemberFlags(
  dataDir: string,
  urls: { client?: string; peer?: string } = {},
): Promise<string[]> {
  const client = urls.client ?? `http://127.0.0.1:${await freePort()}`;
  const peer = urls.peer ?? `http://127.0.0.1:${await freePort()}`;
  return memberArgv({
    kind: "etcd-bun",
    name: "default",
    dataDir,
    clientUrl: client,
    listenPeerUrl: peer,
    peerUrl: peer,
    initialCluster: `default=${peer}`,
    initialClusterState: "new",
    extraArgs: [],
  }).slice(commandFor("etcd-bun").length);
}

export async function startMember(options: StartOptions = {}): Promise<MemberProcess> {
  const kind = options.kind ?? "etcd-bun";
  const name = options.name ?? "default";
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `${kind}-test-`));
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const scheme = options.https === undefined ? "http" : "https";
    const clientUrl = `${scheme}://127.0.0.1:${await freePort()}`;
    const peerUrl = options.peerUrl ?? `http://127.0.0.1:${await freePort()}`;
    const args = memberArgv({
      kind,
      name,
      dataDir,
      clientUrl,
      listenPeerUrl: peerUrl,
      peerUrl,
      initialCluster: options.initialCluster ?? `${name}=${peerUrl}`,
      initialClusterState: options.initialClusterState ?? "new",
      extraArgs: options.extraArgs ?? [],
    });
    const member = spawnMember(args, {
      clientUrl,
      peerUrl,
      dataDir,
      name,
      env: options.env ?? {},
      ...(options.https === undefined ? {} : { tls: options.https }),
    });
    try {
      await member.waitReady();
      return member.handle;
    } catch (error) {
      lastError = error;
      await member.handle.kill("SIGKILL");
      // Only a lost port race is worth another try; anything else is the answer.
      if (!member.handle.output().includes("in use")) break;
    }
  }
  if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  throw lastError;
}

export interface DiscoveryMemberOptions {
  readonly kind?: "etcd-bun" | "etcd";
  readonly name: string;
  /** The `--discovery` URL. */
  readonly discovery: string;
  readonly dataDir?: string;
  readonly extraArgs?: readonly string[];
}

/**
 * Spawns a member that bootstraps through `--discovery` on free ports. It is not waited for (it
 * serves only once the token's other members came): `ready()` waits, `exited` tells an end.
 */
export async function spawnDiscoveryMember(
  o: DiscoveryMemberOptions,
): Promise<{ member: MemberProcess; ready: () => Promise<void> }> {
  const kind = o.kind ?? "etcd-bun";
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), `${kind}-disc-`));
  const clientUrl = `http://127.0.0.1:${await freePort()}`;
  const peerUrl = `http://127.0.0.1:${await freePort()}`;
  const args = [
    ...commandFor(kind),
    "--name",
    o.name,
    "--data-dir",
    dataDir,
    "--listen-client-urls",
    clientUrl,
    "--advertise-client-urls",
    clientUrl,
    "--listen-peer-urls",
    peerUrl,
    "--initial-advertise-peer-urls",
    peerUrl,
    "--discovery",
    o.discovery,
    ...(o.extraArgs ?? []),
  ];
  const spawned = spawnMember(args, { clientUrl, peerUrl, dataDir, name: o.name, env: {} });
  return { member: spawned.handle, ready: spawned.waitReady };
}

export interface ProxyStartOptions {
  /** The peer URLs the proxy starts from, as `--initial-cluster` (`name=url,...`). */
  readonly initialCluster: string;
  readonly mode?: "on" | "readonly";
  readonly dataDir?: string;
  readonly extraArgs?: readonly string[];
  /** Wait until it serves a keys GET (its endpoints found); off for a proxy with none. */
  readonly waitReady?: boolean;
  /** Serve clients on https (TLS flags in `extraArgs`); readiness checked with these. */
  readonly https?: FetchTls;
}

/** Starts an etcd-bun proxy (`--proxy on`) on a free client port. */
export async function startProxyProcess(options: ProxyStartOptions): Promise<MemberProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "etcd-bun-proxy-"));
  const scheme = options.https === undefined ? "http" : "https";
  const clientUrl = `${scheme}://127.0.0.1:${await freePort()}`;
  const args = [
    ...commandFor("etcd-bun"),
    "--proxy",
    options.mode ?? "on",
    "--data-dir",
    dataDir,
    "--listen-client-urls",
    clientUrl,
    "--initial-cluster",
    options.initialCluster,
    ...(options.extraArgs ?? []),
  ];
  const proxy = spawnMember(args, {
    clientUrl,
    peerUrl: "",
    dataDir,
    name: "proxy",
    env: {},
    ...(options.https === undefined ? {} : { tls: options.https }),
  });
  if (options.waitReady === false) return proxy.handle;
  try {
    await proxy.waitReady();
  } catch (error) {
    await proxy.handle.stop();
    throw error;
  }
  return proxy.handle;
}

interface SpawnInfo {
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  name: string;
  env: Record<string, string>;
  /** For readiness checks against an https client URL. */
  tls?: FetchTls;
}

function spawnMember(args: string[], info: SpawnInfo) {
  let output = "";
  const spawn = () => {
    const proc = Bun.spawn(args, {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...info.env },
    });
    spawned.add(proc);
    void proc.exited.then(() => spawned.delete(proc));
    for (const stream of [proc.stdout, proc.stderr]) {
      void (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of stream) output += decoder.decode(chunk);
      })();
    }
    return proc;
  };
  const waitReady = async () => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (handle.proc.exitCode !== null) throw new Error(`member exited early:\n${output}`);
      try {
        const res = await fetch(`${info.clientUrl}/v2/keys/`, {
          signal: AbortSignal.timeout(1000),
          ...(info.tls === undefined ? {} : { tls: info.tls }),
        });
        // 401: serving, with auth on and no guest access.
        if (res.status === 200 || res.status === 401) return;
      } catch {
        // Not listening yet.
      }
      await Bun.sleep(50);
    }
    throw new Error(`member did not become ready in ${START_TIMEOUT_MS} ms:\n${output}`);
  };
  const handle: MemberProcess = {
    ...info,
    proc: spawn(),
    output: () => output,
    async kill(signal = "SIGTERM") {
      if (handle.proc.exitCode === null && handle.proc.signalCode === null) {
        handle.proc.kill(signal);
      }
      await handle.proc.exited;
    },
    async restart() {
      await handle.kill("SIGKILL");
      handle.proc = spawn();
      await waitReady();
    },
    async stop() {
      await handle.kill("SIGKILL");
      rmSync(info.dataDir, { recursive: true, force: true });
    },
  };
  return { handle, waitReady };
}

export interface ClusterProcess {
  readonly members: MemberProcess[];
  /** With `relays: true`: cuts every peer link to and from member `index`. */
  isolate(index: number): Promise<void>;
  /** Restores all peer links. */
  heal(): void;
  /** Finds the member that `/v2/stats/self` reports as leader (waits up to timeoutMs). */
  leader(timeoutMs?: number): Promise<MemberProcess>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  readonly size: number;
  readonly token?: string;
  readonly extraArgs?: readonly string[];
  /** Put a PeerRelay in front of each peer port so links can be cut. */
  readonly relays?: boolean;
  readonly kind?: "etcd-bun" | "etcd";
  /** Write flags Go-style (`-name infra0`), as etcd's documentation and the seed article do. */
  readonly singleDash?: boolean;
  readonly env?: Record<string, string>;
  /** Peer URLs on https (the caller passes the `--peer-*` TLS flags in `extraArgs`). */
  readonly httpsPeers?: boolean;
  /** Client URLs on https (TLS flags in `extraArgs`); readiness is checked with these. */
  readonly httpsClients?: FetchTls;
}

/** Starts `size` etcd-bun processes as one cluster from a static `--initial-cluster`. */
export async function startCluster(options: ClusterOptions): Promise<ClusterProcess> {
  const names = Array.from({ length: options.size }, (_, i) => `infra${i}`);
  // Relays bind first and hold their ports, so the free ports chosen next cannot collide.
  const relays = options.relays ? names.map(() => new PeerRelay().start()) : [];
  const peerScheme = options.httpsPeers === true ? "https" : "http";
  const listenPeers = await Promise.all(
    names.map(async () => `${peerScheme}://127.0.0.1:${await freePort()}`),
  );
  relays.forEach((r, i) => {
    r.targetPort = Number(new URL(listenPeers[i] ?? "").port);
  });
  const peers = options.relays ? relays.map((r) => r.url) : listenPeers;
  const clientScheme = options.httpsClients === undefined ? "http" : "https";
  const clients = await Promise.all(
    names.map(async () => `${clientScheme}://127.0.0.1:${await freePort()}`),
  );
  const initialCluster = names.map((n, i) => `${n}=${peers[i]}`).join(",");
  const members = names.map((name, i) => {
    const dataDir = mkdtempSync(join(tmpdir(), `etcd-bun-cluster-${name}-`));
    const clientUrl = clients[i] ?? "";
    const peerUrl = peers[i] ?? "";
    const args = memberArgv({
      kind: options.kind ?? "etcd-bun",
      name,
      dataDir,
      clientUrl,
      listenPeerUrl: listenPeers[i] ?? "",
      peerUrl,
      initialCluster,
      initialClusterState: "new",
      extraArgs: [
        "--initial-cluster-token",
        options.token ?? "etcd-bun-test",
        ...(options.extraArgs ?? []),
      ],
    });
    const argv = options.singleDash ? args.map((a) => (a.startsWith("--") ? a.slice(1) : a)) : args;
    return spawnMember(argv, {
      clientUrl,
      peerUrl,
      dataDir,
      name,
      env: options.env ?? {},
      ...(options.httpsClients === undefined ? {} : { tls: options.httpsClients }),
    });
  });
  try {
    await Promise.all(members.map((m) => m.waitReady()));
  } catch (error) {
    await Promise.all(members.map((m) => m.handle.stop()));
    for (const r of relays) r.stop();
    throw error;
  }
  const handles = members.map((m) => m.handle);
  const idsByName = new Map<string, string>();
  const memberIds = async () => {
    if (idsByName.size === 0) {
      const res = await fetch(`${handles[0]?.clientUrl}/v2/members`);
      const body = (await res.json()) as { members: { id: string; name: string }[] };
      for (const m of body.members) idsByName.set(m.name, m.id);
    }
    return names.map((n) => idsByName.get(n) ?? "");
  };
  return {
    members: handles,
    async isolate(index: number) {
      if (relays.length === 0) throw new Error("cluster started without relays");
      const ids = await memberIds();
      const isolated = ids[index] ?? "";
      relays.forEach((relay, i) => {
        relay.block(i === index ? ids.filter((_, j) => j !== index) : [isolated]);
      });
    },
    heal() {
      for (const r of relays) r.heal();
    },
    async leader(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (const m of handles) {
          if (m.proc.exitCode !== null || m.proc.signalCode !== null) continue;
          const state = await fetch(`${m.clientUrl}/v2/stats/self`, {
            signal: AbortSignal.timeout(500),
          })
            .then((r) => r.json() as Promise<{ state: string }>)
            .catch(() => ({ state: "" }));
          if (state.state === "StateLeader") return m;
        }
        await Bun.sleep(50);
      }
      throw new Error(`no leader within ${timeoutMs} ms`);
    },
    async stop() {
      await Promise.all(handles.map((m) => m.stop()));
      for (const r of relays) r.stop();
    },
  };
}

/** Debian's discovery.etcd.io service (package etcd-discovery). */
export const DEBIAN_DISCOVERY = "/usr/bin/discovery.etcd.io";

export interface DiscoveryServiceProcess {
  /** Where it answers; also the prefix of the token URLs it hands out. */
  readonly url: string;
  readonly dataDir: string;
  output(): string;
  /** Kills it and starts it again on the same address and data dir. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a discovery service on a free port: `etcd-bun discovery` (its tokens in an embedded
 * member unless `store` is given) or Debian's (`store` needed), and waits until it answers.
 */
export async function startDiscoveryServiceProcess(o: {
  kind: "etcd-bun" | "debian";
  store?: string;
  extraArgs?: readonly string[];
}): Promise<DiscoveryServiceProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "etcd-bun-disc-service-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const flags = [
    ...(o.store === undefined ? [] : ["--etcd", o.store]),
    "--host",
    url,
    "--addr",
    `127.0.0.1:${port}`,
    ...(o.extraArgs ?? []),
  ];
  const args =
    o.kind === "debian"
      ? [DEBIAN_DISCOVERY, ...flags]
      : [process.execPath, MAIN, "discovery", "--data-dir", dataDir, ...flags];
  let output = "";
  let proc: Subprocess;
  const spawn = async () => {
    proc = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
    spawned.add(proc);
    void proc.exited.then(() => spawned.delete(proc));
    for (const stream of [proc.stdout, proc.stderr] as ReadableStream<Uint8Array>[]) {
      void (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of stream) output += decoder.decode(chunk);
      })();
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`discovery service exited early:\n${output}`);
      const res = await fetch(`${url}/robots.txt`, { signal: AbortSignal.timeout(1000) }).catch(
        () => undefined,
      );
      if (res?.status === 200) return;
      await Bun.sleep(50);
    }
    throw new Error(`discovery service did not answer in ${START_TIMEOUT_MS} ms:\n${output}`);
  };
  const kill = async () => {
    proc.kill("SIGKILL");
    await proc.exited;
  };
  await spawn();
  return {
    url,
    dataDir,
    output: () => output,
    restart: async () => {
      await kill();
      await spawn();
    },
    stop: async () => {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
