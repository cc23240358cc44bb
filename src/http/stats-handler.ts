/** `/v2/stats/{self,store,leader}` (GET only). */

import { rfc3339Nano, storeStatsJson } from "../store/render.ts";
import { goDuration } from "../util/go-format.ts";
import type { MemberApi } from "./member-api.ts";
import { JSON_TYPE, messageResponse, methodNotAllowed, notFound } from "./responses.ts";

const STATE_NAMES = {
  follower: "StateFollower",
  preCandidate: "StateCandidate",
  candidate: "StateCandidate",
  leader: "StateLeader",
} as const;

export function handleStats(server: MemberApi, request: Request, sub: string): Response {
  if (sub !== "self" && sub !== "store" && sub !== "leader") return notFound();
  if (request.method !== "GET") return methodNotAllowed("GET");
  const headers = { "Content-Type": JSON_TYPE };
  switch (sub) {
    case "self":
      return new Response(selfStatsJson(server), { headers });
    case "store":
      return new Response(storeStatsJson(server.storeStats()), { headers });
    case "leader":
      if (server.state !== "leader") {
        return messageResponse(403, "not current leader", server.clusterId);
      }
      return new Response(leaderStatsJson(server), { headers });
  }
}

function selfStatsJson(server: MemberApi): string {
  const now = Date.now();
  const leaderSince = server.leaderSince.getTime();
  const rates = server.appendRates();
  // Go's omitempty: a rate of 0 is left out.
  const nonZero = (name: string, value: number) => (value === 0 ? {} : { [name]: value });
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
    recvAppendRequestCnt: server.appendCounts.received,
    ...nonZero("recvPkgRate", rates.received.pkg),
    ...nonZero("recvBandwidthRate", rates.received.bandwidth),
    sendAppendRequestCnt: server.appendCounts.sent,
    ...nonZero("sendPkgRate", rates.sent.pkg),
    ...nonZero("sendBandwidthRate", rates.sent.bandwidth),
  });
}

/** etcd's leader stats: per follower, stream round-trip latency (ms) and message counts. */
function leaderStatsJson(server: MemberApi): string {
  const followers: Record<string, unknown> = {};
  for (const [id, link] of Object.entries(server.peerFigures())) {
    const l = link.latencyMs;
    followers[id] = {
      latency: {
        current: l.current,
        average: l.average,
        standardDeviation: l.standardDeviation,
        minimum: l.minimum,
        maximum: l.maximum,
      },
      counts: { fail: link.failed, success: link.sent },
    };
  }
  return JSON.stringify({ leader: server.memberId, followers });
}
