/** One-line renderings of raft messages for scenario transcripts and simulator traces. */

import type { Entry, Message } from "../../src/raft/types.ts";

function fmtEntries(es: Entry[]): string {
  return es.map((e) => `${e.index}/${e.term}${e.type === "confChange" ? "cc" : ""}`).join(",");
}

export function fmtMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case "MsgApp":
      return `${head} prev=${m.index}/${m.logTerm} commit=${m.commit} [${fmtEntries(m.entries)}]`;
    case "MsgAppResp":
      return `${head} index=${m.index}${m.reject ? ` reject hint=${m.rejectHint}/${m.logTerm}` : ""}`;
    case "MsgVote":
    case "MsgPreVote":
      return `${head} last=${m.index}/${m.logTerm}${m.transfer ? " transfer" : ""}`;
    case "MsgVoteResp":
    case "MsgPreVoteResp":
      return `${head} ${m.reject ? "reject" : "grant"}`;
    case "MsgHeartbeat":
      return `${head} commit=${m.commit}${m.context === "" ? "" : ` ctx=${m.context}`}`;
    case "MsgHeartbeatResp":
      return `${head}${m.context === "" ? "" : ` ctx=${m.context}`}`;
    case "MsgSnap":
      return `${head} snap=${m.snapshot.meta.index}/${m.snapshot.meta.term}`;
    case "MsgReadIndex":
      return `${head} ctx=${m.context}`;
    case "MsgReadIndexResp":
      return `${head} index=${m.index} ctx=${m.context}`;
    case "MsgProp":
      return `${head} [${m.entries.length} entries]`;
    case "MsgTimeoutNow":
    case "MsgTransferLeader":
      return head;
  }
}
