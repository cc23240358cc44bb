/**
 * A proxy started in the test's own process in front of given client URLs (no refresh from a
 * cluster), and temp dirs, both cleaned up by `cleanUpProxies` after each test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProxy, startProxy } from "../../src/proxy/proxy.ts";

const dirs: string[] = [];
const proxies: RunningProxy[] = [];

export async function cleanUpProxies(): Promise<void> {
  for (const p of proxies.splice(0)) await p.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "etcd-bun-proxy-parts-"));
  dirs.push(d);
  return d;
}

/** The proxy's client URL; its endpoints are `clientUrls`, in a shuffled order. */
export async function proxyTo(
  clientUrls: string[],
  extra: { readTimeoutMs?: number; log?: (line: string) => void } = {},
): Promise<string> {
  const proxy = await startProxy(
    {
      dataDir: tempDir(),
      listenClientUrls: ["http://127.0.0.1:0"],
      initialPeerUrls: ["http://peer"],
      readonly: false,
      cors: ["*"],
      hostWhitelist: ["*"],
      failureWaitMs: 5000,
      refreshIntervalMs: 60_000,
      dialTimeoutMs: 1000,
      readTimeoutMs: extra.readTimeoutMs ?? 0,
    },
    extra.log ?? (() => {}),
    async () => ({ clientUrls, peerUrls: ["http://peer"] }),
  );
  proxies.push(proxy);
  // The first refresh runs at start; let it land.
  await Bun.sleep(20);
  return proxy.clientUrls[0] ?? "";
}
