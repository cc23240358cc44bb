/**
 * Differential test: the same request sequences go to the real etcd 3.4 (`--enable-v2`) and to
 * etcd-bun; status, the headers clients rely on, and bodies must match once the values that
 * legitimately differ are normalised (index values relative to the case start, ids, URLs,
 * times, counters). Skipped when the real etcd is not installed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type MemberProcess,
  realEtcdInstalled,
  startMember,
  startProxyProcess,
} from "../support/cluster-process.ts";
import { DIFF_CASES } from "./cases.ts";
import type { Normalized } from "./normalize.ts";
import { runCase } from "./run-case.ts";
import { SURFACE_CASES } from "./surface-cases.ts";

let etcd: MemberProcess;
let ours: MemberProcess;

describe.skipIf(!realEtcdInstalled)("differential: etcd-bun vs the real etcd 3.4", () => {
  beforeAll(async () => {
    [etcd, ours] = await Promise.all([
      startMember({ kind: "etcd" }),
      startMember({ kind: "etcd-bun" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([etcd?.stop(), ours?.stop()]);
  });

  [...DIFF_CASES, ...SURFACE_CASES].forEach((c, i) => {
    test(c.name, async () => {
      const prefix = `case${i}`;
      const expected = await runCase(etcd, c.requests, prefix);
      const actual = await runCase(ours, c.requests, prefix);
      expect(actual).toEqual(expected);
    });
  });
});

/**
 * What a proxy may change: the framing (chunked or not is per hop, as with etcd's proxy), and
 * the CORS headers of a 301 for an unclean target: etcd's proxy cleans the path before its CORS
 * layer (etcd 3.4's proxy, measured), where a member's 301 has them.
 */
function asProxied(r: Normalized): Normalized {
  const drop = (name: string) =>
    name === "transfer-encoding" || (r.status === 301 && name.startsWith("access-control-"));
  const headers = Object.fromEntries(Object.entries(r.headers).filter(([name]) => !drop(name)));
  return { ...r, headers };
}

/**
 * The same cases through an etcd-bun proxy in front of one member, against a member answering
 * directly: a client must see no difference but speed.
 */
describe("differential: through the proxy vs a member directly", () => {
  let direct: MemberProcess;
  let behind: MemberProcess;
  let proxy: MemberProcess;
  beforeAll(async () => {
    [direct, behind] = await Promise.all([startMember(), startMember()]);
    proxy = await startProxyProcess({ initialCluster: `default=${behind.peerUrl}` });
  });
  afterAll(async () => {
    await Promise.all([proxy?.stop(), direct?.stop(), behind?.stop()]);
  });

  [...DIFF_CASES, ...SURFACE_CASES].forEach((c, i) => {
    test(c.name, async () => {
      const prefix = `case${i}`;
      const expected = await runCase(direct, c.requests, prefix);
      // Sent to the proxy; URLs in bodies are the member's, normalised as the member's.
      const viaProxy: MemberProcess = { ...behind, clientUrl: proxy.clientUrl };
      const actual = await runCase(viaProxy, c.requests, prefix, { answering: behind });
      expect(actual.map(asProxied)).toEqual(expected.map(asProxied));
    });
  });
});
