/**
 * `/v2/stats/self` append-request rates on a 3-member cluster, etcd-bun and etcd 3.4 side by
 * side: while writes flow the leader shows its send rates and a follower its receive rates; a
 * second after the last write both are left out again (Go's omitempty of a zero rate).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type ClusterProcess,
  type MemberProcess,
  SERVER_KINDS,
  startCluster,
} from "../support/cluster-process.ts";

const RATES = ["recvPkgRate", "recvBandwidthRate", "sendPkgRate", "sendBandwidthRate"];

async function rateFields(m: MemberProcess): Promise<Record<string, number>> {
  const stats = (await (await fetch(`${m.clientUrl}/v2/stats/self`)).json()) as Record<
    string,
    unknown
  >;
  return Object.fromEntries(
    Object.entries(stats).filter(([k]) => RATES.includes(k)) as [string, number][],
  );
}

describe.each(SERVER_KINDS)("a 3-member %s cluster", (kind) => {
  let cluster: ClusterProcess;
  beforeAll(async () => {
    cluster = await startCluster({ size: 3, kind });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test("shows append rates while writes flow, and none a second after", async () => {
    const leader = await cluster.leader();
    const follower = cluster.members.find((m) => m !== leader) as MemberProcess;
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${leader.clientUrl}/v2/keys/rates`, {
        method: "PUT",
        body: new URLSearchParams({ value: "x".repeat(100) }),
      });
      expect(res.status).toBeLessThan(300);
    }
    const sending = await rateFields(leader);
    const receiving = await rateFields(follower);
    expect(Object.keys(sending).sort()).toEqual(["sendBandwidthRate", "sendPkgRate"]);
    expect(Object.keys(receiving).sort()).toEqual(["recvBandwidthRate", "recvPkgRate"]);
    for (const rates of [sending, receiving])
      for (const value of Object.values(rates)) expect(value).toBeGreaterThan(0);
    // Each request carries at least the 100-byte value.
    expect(sending.sendBandwidthRate ?? 0).toBeGreaterThan(100 * (sending.sendPkgRate ?? 0));
    await Bun.sleep(1500);
    expect(await rateFields(leader)).toEqual({});
    expect(await rateFields(follower)).toEqual({});
  });
});
