/** The cluster at a glance: who leads, each member's Raft position, health and round trip. */
import type { ClusterView, MemberView } from "../status.ts";
import { html } from "./html.ts";

export function leaderOf(view: ClusterView): MemberView | undefined {
  return view.members.find((m) => m.status?.state === "leader");
}

export function Overview({ view, error }: { view: ClusterView | undefined; error: string }) {
  if (view === undefined)
    return html`<section class="card"><h2>Cluster</h2><p>${error || "Loading…"}</p></section>`;
  const leader = leaderOf(view);
  const term = Math.max(0, ...view.members.map((m) => m.status?.term ?? 0));
  return html`<section class="card" id="overview">
    <h2>Cluster</h2>
    <p class="summary">
      <span>Leader: <strong data-testid="leader-name">${leader?.name ?? "none"}</strong></span>
      <span>Term: <strong data-testid="term">${term}</strong></span>
      <span>Members: <strong data-testid="member-count">${view.members.length}</strong></span>
      <span>Served by: ${servedBy(view)}</span>
    </p>
    ${error === "" ? null : html`<p class="error">${error}</p>`}
    ${view.error === undefined ? null : html`<p class="error">${view.error}</p>`}
    <table class="members">
      <thead>
        <tr>
          <th>Name</th><th>ID</th><th>State</th><th>Term</th><th>Commit</th><th>Applied</th>
          <th>Health</th><th title="Round trip from the leader">RTT</th><th>Client URLs</th>
        </tr>
      </thead>
      <tbody>
        ${view.members.map((m) => MemberRow(m, leader))}
      </tbody>
    </table>
  </section>`;
}

function servedBy(view: ClusterView): string {
  if (view.servedBy.role === "proxy") return "a proxy";
  const me = view.members.find((m) => m.id === view.servedBy.id);
  return `member ${me?.name ?? view.servedBy.id ?? ""}`;
}

function MemberRow(m: MemberView, leader: MemberView | undefined) {
  const s = m.status;
  const health = s === undefined ? "unreachable" : s.leader === "" ? "no leader" : "healthy";
  const rtt = leader?.status?.peers[m.id]?.rttMs;
  return html`<tr data-member=${m.name} class=${s?.state === "leader" ? "leader" : ""}>
    <td>${m.name || "(unstarted)"}</td>
    <td class="mono">${m.id}</td>
    <td data-testid="state">${s?.state ?? "—"}</td>
    <td>${s?.term ?? "—"}</td>
    <td>${s?.commit ?? "—"}</td>
    <td>${s?.applied ?? "—"}</td>
    <td class=${`health ${health.replace(" ", "-")}`} title=${m.error ?? ""} data-testid="health">
      ${health}
    </td>
    <td>${rtt === undefined || m.id === leader?.id ? "—" : `${rtt.toFixed(2)} ms`}</td>
    <td class="mono">${m.clientURLs.join(", ")}</td>
  </tr>`;
}
