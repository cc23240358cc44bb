/** An in-process one-member server on free ports with a temp data dir, for HTTP tests. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterIdFor, memberIdFor } from "../../src/config/ids.ts";
import { type RunningMember, startMember } from "../../src/member/member.ts";
import type { MemberSettings } from "../../src/server/settings.ts";

export interface TestMember {
  readonly member: RunningMember;
  readonly url: string;
  readonly settings: MemberSettings;
  restart(): Promise<TestMember>;
  stop(): Promise<void>;
}

export function testSettings(overrides: Partial<MemberSettings> = {}): MemberSettings {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), "etcd-bun-http-"));
  const peerUrl = "http://127.0.0.1:0";
  const memberId = memberIdFor([`${peerUrl}/${dataDir}`], "etcd-cluster");
  return {
    name: "default",
    dataDir,
    walDir: "",
    snapshotCount: 100_000,
    heartbeatMs: 100,
    electionMs: 1000,
    maxSnapshots: 5,
    maxWals: 5,
    initialClusterState: "new",
    initialMembers: [{ id: memberId, name: "default", peerUrls: [peerUrl] }],
    memberId,
    clusterId: clusterIdFor([memberId]),
    forceNewCluster: false,
    listenClientUrls: ["http://127.0.0.1:0"],
    advertiseClientUrls: ["http://127.0.0.1:0"],
    listenPeerUrls: ["http://127.0.0.1:0"],
    cors: ["*"],
    strictReconfigCheck: true,
    preVote: true,
    raftSeed: 1,
    advertisePeerUrls: [peerUrl],
    ...overrides,
  };
}

const quiet = () => {};

export async function startTestMember(
  overrides: Partial<MemberSettings> = {},
): Promise<TestMember> {
  const settings = testSettings(overrides);
  const member = await startMember(settings, quiet);
  const url = member.clientUrls[0] ?? "";
  return {
    member,
    url,
    settings,
    async restart() {
      await member.stop();
      return startTestMember({ ...settings });
    },
    async stop() {
      await member.stop();
      rmSync(settings.dataDir, { recursive: true, force: true });
    },
  };
}
