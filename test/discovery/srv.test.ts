/**
 * DNS SRV bootstrap through the system's real resolver: each scenario (srv-scenario.ts) runs in
 * namespaces of its own with a DNS server the scenario serves and /etc/resolv.conf pointing at
 * it. Needs root, unshare and ip (CI has them); skipped otherwise.
 */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { namespacesAvailable, UNSHARE } from "../support/namespaces.ts";

const SCENARIO = resolve(import.meta.dir, "srv-scenario.ts");

async function scenario(name: string): Promise<Record<string, unknown>> {
  const proc = Bun.spawn([...UNSHARE, process.execPath, SCENARIO, name], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`scenario ${name} exited ${code}:\n${out}\n${err}`);
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
}

describe.if(namespacesAvailable)("--discovery-srv", () => {
  test("three members bootstrap from _etcd-server._tcp records; a proxy uses them too", async () => {
    expect(await scenario("bootstrap")).toEqual({
      up: [true, true, true],
      // Peer URLs as the records name them; the member advertising its address found itself.
      members: [
        "m0=http://m0.example.test:12380",
        "m1=http://m1.example.test:22380",
        "m2=http://m2.example.test:32380",
      ],
      clusterIds: 1,
      viaProxy: "found",
    });
  }, 90_000);

  test("no records: exit 1 with etcd's error for each record set asked", async () => {
    const none = (service: string) =>
      `error querying DNS SRV records for _${service} lookup _${service}._tcp.example.test on 127.0.0.1:53: no such host`;
    expect(await scenario("missing")).toEqual({
      code: 1,
      line: `etcd-bun: cannot start member: error setting up initial cluster: ${none("etcd-server-ssl")}; ${none("etcd-server")}`,
    });
  }, 90_000);

  test("records that do not include the member: exit 1, cannot find local etcd member", async () => {
    expect(await scenario("not-included")).toEqual({
      code: 1,
      line: 'etcd-bun: cannot start member: cannot find local etcd member "m0" in SRV records',
    });
  }, 90_000);
});
