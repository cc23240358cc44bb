/** The proxy's own `/metrics`: etcd's `etcd_proxy_*` names, counting handled and dropped requests. */
import { expect, test } from "bun:test";
import { startMember, startProxyProcess } from "../support/cluster-process.ts";

async function sample(url: string, key: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${key} `));
  return line === undefined ? 0 : Number(line.slice(key.length + 1));
}

test("requests through the proxy are counted as handled, or dropped with why", async () => {
  const member = await startMember();
  const proxy = await startProxyProcess({ initialCluster: `default=${member.peerUrl}` });
  try {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${proxy.clientUrl}/v2/keys/p${i}`, {
        method: "PUT",
        body: new URLSearchParams({ value: "1" }),
      });
      await res.arrayBuffer();
    }
    const text = await (await fetch(`${proxy.clientUrl}/metrics`)).text();
    expect(text).toContain("# TYPE etcd_proxy_handling_duration_seconds histogram");
    expect(text).not.toContain("etcd_server_has_leader");
    expect(await sample(proxy.clientUrl, 'etcd_proxy_requests_total{method="PUT"}')).toBe(5);
    expect(await sample(proxy.clientUrl, 'etcd_proxy_handled_total{method="PUT",code="201"}')).toBe(
      5,
    );
    await (await fetch(`${proxy.clientUrl}/v2/keys/none`)).arrayBuffer();
    expect(await sample(proxy.clientUrl, 'etcd_proxy_handled_total{method="GET",code="404"}')).toBe(
      1,
    );
    await member.stop();
    const res = await fetch(`${proxy.clientUrl}/v2/keys/p0`);
    await res.arrayBuffer();
    expect([502, 503]).toContain(res.status);
    const why = res.status === 503 ? "zero_endpoints" : "failed_getting_response";
    const dropped = `etcd_proxy_dropped_total{method="GET",proxying_error="${why}"}`;
    expect(await sample(proxy.clientUrl, dropped)).toBe(1);
  } finally {
    await Promise.all([proxy.stop(), member.stop()]);
  }
}, 30_000);
