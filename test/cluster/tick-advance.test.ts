/**
 * etcd's initial election tick advance with several voters: after a whole-cluster restart, a
 * member that sees two peers connected before hearing of a leader fast-forwards its election
 * ticks (so the cluster elects about one election timeout sooner), and says so; with
 * `--initial-election-tick-advance=false` none does.
 */
import { expect, test } from "bun:test";
import { startCluster } from "../support/cluster-process.ts";

test.each([true, false])(
  "--initial-election-tick-advance=%p across a whole-cluster restart",
  async (advance) => {
    const cluster = await startCluster({
      size: 3,
      extraArgs: [`--initial-election-tick-advance=${advance}`],
    });
    try {
      await Promise.all(cluster.members.map((m) => m.kill("SIGKILL")));
      const seen = cluster.members.map((m) => m.output().length);
      await Promise.all(cluster.members.map((m) => m.restart()));
      const advanced = cluster.members.filter((m, i) =>
        /initialized peer connection; fast-forwarding 8 ticks \(election ticks 10\) with 2 active peer\(s\)/.test(
          m.output().slice(seen[i]),
        ),
      );
      if (advance) expect(advanced.length).toBeGreaterThan(0);
      else expect(advanced).toEqual([]);
      // Either way the restarted cluster elects a leader and serves.
      expect((await cluster.leader()).name).toStartWith("infra");
    } finally {
      await cluster.stop();
    }
  },
  60_000,
);
