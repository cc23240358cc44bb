/**
 * Live charts from one member's running counters (the member serving the page, or the leader
 * behind a proxy): writes per second, mean fdatasync latency per interval, leader changes.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { ClusterView, MemberStatus } from "../status.ts";
import { html } from "./html.ts";
import { leaderOf } from "./overview.ts";

/** Two minutes of one-second samples. */
const KEEP = 120;

export interface Series {
  readonly times: number[];
  readonly writesPerSecond: (number | null)[];
  readonly fsyncMs: (number | null)[];
  readonly leaderChanges: (number | null)[];
  /** The member charted; a change of member starts the rates afresh. */
  memberId: string;
  memberName: string;
  last: { at: number; counters: MemberStatus["counters"] } | undefined;
}

export function emptySeries(): Series {
  return {
    times: [],
    writesPerSecond: [],
    fsyncMs: [],
    leaderChanges: [],
    memberId: "",
    memberName: "",
    last: undefined,
  };
}

/** The member whose counters are charted. */
function chartedMember(view: ClusterView): MemberStatus | undefined {
  const own = view.members.find((m) => m.id === view.servedBy.id)?.status;
  return own ?? leaderOf(view)?.status ?? view.members.find((m) => m.status)?.status;
}

/** Adds one sample taken at `at` (ms). */
export function addSample(series: Series, view: ClusterView, at: number): void {
  const status = chartedMember(view);
  if (status === undefined) return;
  if (status.id !== series.memberId) {
    series.memberId = status.id;
    series.memberName = status.name;
    series.last = undefined;
  }
  const last = series.last;
  series.last = { at, counters: status.counters };
  if (last === undefined) return;
  const seconds = Math.max(0.001, (at - last.at) / 1000);
  const syncs = status.counters.fsyncs - last.counters.fsyncs;
  const syncSeconds = status.counters.fsyncSeconds - last.counters.fsyncSeconds;
  series.times.push(at / 1000);
  series.writesPerSecond.push(Math.max(0, status.counters.writes - last.counters.writes) / seconds);
  series.fsyncMs.push(syncs > 0 ? (syncSeconds / syncs) * 1000 : null);
  series.leaderChanges.push(status.counters.leaderChanges);
  for (const list of [series.times, series.writesPerSecond, series.fsyncMs, series.leaderChanges])
    if (list.length > KEEP) list.shift();
}

export function Charts({ series, version }: { series: Series; version: number }) {
  return html`<section class="card" id="charts">
    <h2>Activity <small>(member ${series.memberName || series.memberId || "—"})</small></h2>
    <div class="charts">
      <${Chart} title="Writes/s" label="writes/s" times=${series.times} values=${series.writesPerSecond} version=${version} />
      <${Chart} title="fdatasync latency (ms, mean)" label="ms" times=${series.times} values=${series.fsyncMs} version=${version} />
      <${Chart} title="Leader changes seen" label="changes" times=${series.times} values=${series.leaderChanges} version=${version} />
    </div>
  </section>`;
}

/** `12:34:56`, one label per tick (uPlot's default adds a date row that overlaps). */
function clockTime(seconds: number): string {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false });
}

interface ChartProps {
  title: string;
  label: string;
  times: number[];
  values: (number | null)[];
  version: number;
}

function Chart({ title, label, times, values, version }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    plot.current = new uPlot(
      {
        width: Math.max(240, el.clientWidth),
        height: 160,
        legend: { show: false },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        series: [{}, { label, stroke: "#2f6fde", width: 2, spanGaps: true }],
        axes: [{ space: 80, values: (_u, ticks) => ticks.map(clockTime) }, { size: 50 }],
      },
      [[], []],
      el,
    );
    const resize = () =>
      plot.current?.setSize({ width: Math.max(240, el.clientWidth), height: 160 });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.current?.destroy();
    };
  }, []);
  useEffect(() => {
    plot.current?.setData([times, values]);
  }, [version]);
  const latest = values.at(-1);
  return html`<figure class="chart" data-testid=${label}>
    <figcaption>${title}: <strong>${latest === undefined || latest === null ? "—" : latest.toFixed(label === "ms" ? 2 : 0)}</strong></figcaption>
    <div ref=${box}></div>
  </figure>`;
}
