/** `/v2/stats/{self,store,leader}` (GET only). */
import type { EtcdServer } from "../server/etcd-server.ts";
import { storeStatsJson } from "../store/render.ts";
import { goDuration, rfc3339Nano } from "../util/go-format.ts";
import { JSON_TYPE, messageResponse, methodNotAllowed, notFound } from "./responses.ts";

const STATE_NAMES = {
  follower: "StateFollower",
  preCandidate: "StateCandidate",
  candidate: "StateCandidate",
  leader: "StateLeader",
} as const;

export function handleStats(server: EtcdServer, request: Request, sub: string): Response {
  if (sub !== "self" && sub !== "store" && sub !== "leader") return notFound();
  if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed("GET");
  const headers = { "Content-Type": JSON_TYPE };
  switch (sub) {
    case "self":
      return new Response(selfStatsJson(server), { headers });
    case "store":
      return new Response(storeStatsJson(server.store.stats), { headers });
    case "leader":
      if (server.state !== "leader") {
        return messageResponse(403, "not current leader", server.clusterId);
      }
      // Followers' latency and counts arrive with the peer transport; one member has none.
      return new Response(JSON.stringify({ leader: server.memberId, followers: {} }), { headers });
  }
}

function selfStatsJson(server: EtcdServer): string {
  const now = Date.now();
  const leaderSince = server.leaderSince.getTime();
  return JSON.stringify({
    name: server.name,
    id: server.memberId,
    state: STATE_NAMES[server.state],
    startTime: rfc3339Nano(server.startTime.getTime()),
    leaderInfo: {
      leader: server.leader,
      uptime: goDuration(now - leaderSince),
      startTime: rfc3339Nano(leaderSince),
    },
    recvAppendRequestCnt: 0,
    sendAppendRequestCnt: 0,
  });
}
