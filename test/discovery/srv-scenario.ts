/**
 * One DNS SRV bootstrap scenario, run by srv.test.ts inside namespaces of its own (`unshare
 * --net --mount --pid`): a loopback of its own, a DNS server on 127.0.0.1:53 that this script
 * serves, and /etc/resolv.conf bind-mounted to point at it, so the members resolve through the
 * system's real resolver path. Prints one JSON line with what it saw, as its last line.
 *
 * Usage: bun srv-scenario.ts <bootstrap|missing|not-included>
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startDnsServer, type Zone } from "../support/dns-server.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const DOMAIN = "example.test";
const work = mkdtempSync(join(tmpdir(), "srv-scenario-"));

execFileSync("ip", ["link", "set", "lo", "up"]);
writeFileSync(join(work, "resolv.conf"), "nameserver 127.0.0.1\n");
execFileSync("mount", ["--bind", join(work, "resolv.conf"), "/etc/resolv.conf"]);

const members = [0, 1, 2].map((i) => ({
  name: `m${i}`,
  host: `m${i}.${DOMAIN}`,
  peerPort: 12380 + i * 10000,
  clientPort: 12379 + i * 10000,
}));

function zoneFor(records: typeof members): Zone {
  return {
    srv: {
      [`_etcd-server._tcp.${DOMAIN}`]: records.map((m) => ({
        port: m.peerPort,
        target: `${m.host}.`,
      })),
    },
    a: Object.fromEntries(members.map((m) => [m.host, "127.0.0.1"])),
  };
}

function spawnMember(m: (typeof members)[number], advertiseHost: string, extra: string[] = []) {
  const client = `http://127.0.0.1:${m.clientPort}`;
  return Bun.spawn(
    [
      process.execPath,
      MAIN,
      "--name",
      m.name,
      "--data-dir",
      join(work, m.name),
      "--discovery-srv",
      DOMAIN,
      "--initial-advertise-peer-urls",
      `http://${advertiseHost}:${m.peerPort}`,
      "--listen-peer-urls",
      `http://127.0.0.1:${m.peerPort}`,
      "--listen-client-urls",
      client,
      "--advertise-client-urls",
      client,
      ...extra,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
}

async function healthy(url: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).catch(
      () => undefined,
    );
    if (res?.status === 200) return true;
    await Bun.sleep(100);
  }
  return false;
}

async function bootstrap(): Promise<unknown> {
  await startDnsServer(zoneFor(members));
  // One member advertises its address, the others their SRV names: both are found.
  const procs = members.map((m, i) => spawnMember(m, i === 0 ? "127.0.0.1" : m.host));
  const up = await Promise.all(
    members.map((m) => healthy(`http://127.0.0.1:${m.clientPort}`, 20_000)),
  );
  const res = await fetch(`http://127.0.0.1:${members[1]?.clientPort}/v2/members`);
  const list = ((await res.json()) as { members: { name: string; peerURLs: string[] }[] }).members;
  const clusterIds = await Promise.all(
    members.map(async (m) => {
      const r = await fetch(`http://127.0.0.1:${m.clientPort}/v2/members`);
      await r.arrayBuffer();
      return r.headers.get("x-etcd-cluster-id");
    }),
  );
  // A proxy takes the SRV peers too.
  const proxy = Bun.spawn(
    [
      process.execPath,
      MAIN,
      "--proxy",
      "on",
      "--data-dir",
      join(work, "proxy"),
      "--discovery-srv",
      DOMAIN,
      "--listen-client-urls",
      "http://127.0.0.1:2379",
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  await fetch(`http://127.0.0.1:${members[0]?.clientPort}/v2/keys/srv`, {
    method: "PUT",
    body: new URLSearchParams({ value: "found" }),
  });
  let viaProxy = "";
  const deadline = Date.now() + 10_000;
  while (viaProxy === "" && Date.now() < deadline) {
    const r = await fetch("http://127.0.0.1:2379/v2/keys/srv").catch(() => undefined);
    if (r?.status === 200) viaProxy = ((await r.json()) as { node: { value: string } }).node.value;
    else await Bun.sleep(100);
  }
  for (const p of [...procs, proxy]) p.kill("SIGKILL");
  return {
    up,
    members: list.map((m) => `${m.name}=${m.peerURLs.join(";")}`).sort(),
    clusterIds: [...new Set(clusterIds)].length,
    viaProxy,
  };
}

/** A member that cannot start: its exit code and last stderr line. */
async function refused(zone: Zone, advertiseHost: string): Promise<unknown> {
  await startDnsServer(zone);
  const m = members[0] as (typeof members)[number];
  const proc = spawnMember(m, advertiseHost);
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const code = await proc.exited;
  clearTimeout(timer);
  const stderr = (await new Response(proc.stderr).text()).trim().split("\n");
  return { code, line: stderr.at(-1) };
}

const scenario = process.argv[2];
let result: unknown;
if (scenario === "bootstrap") result = await bootstrap();
else if (scenario === "missing") result = await refused({ srv: {}, a: {} }, "127.0.0.1");
else if (scenario === "not-included") {
  // Records for m1 and m2 only; m0 advertises an address none of them resolves to.
  result = await refused(zoneFor(members.slice(1)), "127.0.0.1");
} else throw new Error(`unknown scenario ${scenario}`);
console.log(JSON.stringify(result));
process.exit(0);
