/**
 * The v2 auth API and its enforcement, compared with the real etcd 3.4: the same steps go to
 * both (and to etcd-bun through its proxy); status, headers and bodies must match once
 * per-server values are normalised. Skipped when the real etcd is not installed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DiffRequest } from "../diff/cases.ts";
import type { Normalized } from "../diff/normalize.ts";
import { runCase } from "../diff/run-case.ts";
import {
  type MemberProcess,
  realEtcdInstalled,
  startMember,
  startProxyProcess,
} from "../support/cluster-process.ts";
import { AUTH_STEPS, basic } from "./auth-cases.ts";

const ROOT = basic("root", "rootpw");

/** Auth may be on when a step starts: the base index is read as root. */
function runStep(
  member: MemberProcess,
  requests: readonly DiffRequest[],
  prefix: string,
  answering: MemberProcess = member,
): Promise<Normalized[]> {
  return runCase(member, requests, prefix, { answering, authorization: ROOT });
}

describe.skipIf(!realEtcdInstalled)("auth: etcd-bun vs the real etcd 3.4", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  beforeAll(async () => {
    [etcd, ours] = await Promise.all([
      startMember({ kind: "etcd" }),
      startMember({ kind: "etcd-bun" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([etcd?.stop(), ours?.stop()]);
  });

  AUTH_STEPS.forEach((step, i) => {
    test(step.name, async () => {
      const expected = await runStep(etcd, step.requests, `step${i}`);
      const actual = await runStep(ours, step.requests, `step${i}`);
      expect(actual).toEqual(expected);
    });
  });
});

describe.skipIf(!realEtcdInstalled)("auth: through an etcd-bun proxy vs the real etcd 3.4", () => {
  let etcd: MemberProcess;
  let behind: MemberProcess;
  let proxy: MemberProcess;
  beforeAll(async () => {
    [etcd, behind] = await Promise.all([startMember({ kind: "etcd" }), startMember()]);
    proxy = await startProxyProcess({ initialCluster: `default=${behind.peerUrl}` });
  });
  afterAll(async () => {
    await Promise.all([proxy?.stop(), etcd?.stop(), behind?.stop()]);
  });

  const dropFraming = (r: Normalized): Normalized => {
    const { "transfer-encoding": _, ...headers } = r.headers;
    return { ...r, headers };
  };

  AUTH_STEPS.forEach((step, i) => {
    test(step.name, async () => {
      const expected = await runStep(etcd, step.requests, `step${i}`);
      const viaProxy: MemberProcess = { ...behind, clientUrl: proxy.clientUrl };
      const actual = await runStep(viaProxy, step.requests, `step${i}`, behind);
      expect(actual.map(dropFraming)).toEqual(expected.map(dropFraming));
    });
  });
});
