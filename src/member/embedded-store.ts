/**
 * The discovery service's own token store when it is given no `--etcd`: a one-member etcd-bun
 * cluster in the service's data dir, its client port on 127.0.0.1 (a free port, for the service
 * alone) and no peer port (it has no peers). Durable as any member: tokens survive a restart.
 */
import { clusterIdFor, memberIdFor } from "../config/ids.ts";
import type { MemberSettings } from "../server/settings.ts";
import { startMember } from "./member.ts";
import { realTime } from "./real-time.ts";

const NAME = "discovery";
/** Named in its membership only; with no peers it is never dialled. */
const PEER_URL = "http://127.0.0.1:2380";
const TOKEN = "etcd-bun-discovery";

export function embeddedStoreSettings(dataDir: string): MemberSettings {
  const id = memberIdFor([PEER_URL], TOKEN);
  return {
    name: NAME,
    dataDir,
    walDir: "",
    snapshotCount: 10_000,
    heartbeatMs: 100,
    electionMs: 1000,
    maxSnapshots: 5,
    maxWals: 5,
    initialClusterState: "new",
    initialMembers: [{ id, name: NAME, peerUrls: [PEER_URL] }],
    memberId: id,
    clusterId: clusterIdFor([id]),
    forceNewCluster: false,
    listenClientUrls: ["http://127.0.0.1:0"],
    advertiseClientUrls: [],
    listenPeerUrls: [],
    // Its answers reach clients through the service as they are, CORS headers included (etcd's).
    cors: ["*"],
    strictReconfigCheck: true,
    preVote: true,
    raftSeed: realTime.now(),
    advertisePeerUrls: [PEER_URL],
  };
}

export async function startEmbeddedStore(
  dataDir: string,
  log: (line: string) => void,
): Promise<{ url: string; stop(): Promise<void> }> {
  const member = await startMember(embeddedStoreSettings(dataDir), (line) => log(`store: ${line}`));
  const url = member.clientUrls[0];
  if (url === undefined) throw new Error("the embedded store has no client URL");
  return { url, stop: () => member.stop() };
}
