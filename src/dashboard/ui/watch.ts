/**
 * A live watch: long-polls `?wait=true&recursive=true` under a prefix from the store's index at
 * the start, each request resuming at the index after the last event, so no event between two
 * polls is missed (the history keeps the last 1000). Newest events first.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { ClusterView } from "../status.ts";
import { ApiError, type EtcdNode, errorText, getJson, keysRequest } from "./api.ts";
import { html } from "./html.ts";

interface SeenEvent {
  readonly at: string;
  readonly action: string;
  readonly node: EtcdNode;
}

const KEEP = 100;

export function WatchPanel() {
  const [prefix, setPrefix] = useState("/");
  const [running, setRunning] = useState<string | undefined>(undefined);
  const [events, setEvents] = useState<readonly SeenEvent[]>([]);
  const [status, setStatus] = useState("");
  const stop = useRef<AbortController | null>(null);

  useEffect(() => {
    if (running === undefined) return;
    const abort = new AbortController();
    stop.current = abort;
    void follow(
      running,
      abort.signal,
      (event) => setEvents((list) => [event, ...list].slice(0, KEEP)),
      setStatus,
    );
    return () => abort.abort();
  }, [running]);

  const toggle = (event: Event) => {
    event.preventDefault();
    if (running !== undefined) {
      stop.current?.abort();
      setRunning(undefined);
      setStatus("stopped");
    } else {
      setEvents([]);
      setRunning(prefix);
    }
  };
  return html`<section class="card" id="watch">
    <h2>Watch</h2>
    <form class="watch-form" onSubmit=${toggle}>
      <input data-testid="watch-prefix" value=${prefix} disabled=${running !== undefined} onInput=${(e: Event) => setPrefix((e.target as HTMLInputElement).value)} />
      <button type="submit" data-testid="watch-toggle">${running === undefined ? "Watch" : "Stop"}</button>
      <span class="hint" data-testid="watch-status">${status}</span>
    </form>
    <table class="events" data-testid="events">
      <thead><tr><th>Time</th><th>Action</th><th>Key</th><th>Value</th><th>Index</th></tr></thead>
      <tbody>
        ${events.map(
          (e) => html`<tr>
            <td>${e.at}</td><td>${e.action}</td><td class="mono">${e.node.key}</td>
            <td class="mono">${e.node.value ?? ""}</td><td>${e.node.modifiedIndex}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

/**
 * The store's index now, from the cluster view (a read of the prefix would do, but answers 404
 * for a key not there yet): the serving member's, or behind a proxy the lowest any member has
 * applied (a watch from a lower index only shows a little history too).
 */
async function storeIndexNow(signal: AbortSignal): Promise<number> {
  const view = await getJson<ClusterView>("/dashboard/api/cluster", signal);
  const own = view.members.find((m) => m.id === view.servedBy.id)?.status;
  const indexes = view.members.flatMap((m) =>
    m.status === undefined ? [] : [m.status.storeIndex],
  );
  const index = own?.storeIndex ?? Math.min(...indexes);
  if (!Number.isSafeInteger(index)) throw new Error("no member reports its store index");
  return index;
}

async function follow(
  prefix: string,
  signal: AbortSignal,
  seen: (event: SeenEvent) => void,
  setStatus: (text: string) => void,
): Promise<void> {
  let next: number | undefined;
  try {
    // From the index now on: a write made once "watching" shows is never missed.
    next = (await storeIndexNow(signal)) + 1;
  } catch (error) {
    if (signal.aborted) return;
    setStatus(`watching ${prefix} from its next change (${errorText(error)})`);
  }
  if (next !== undefined) setStatus(`watching ${prefix}`);
  while (!signal.aborted) {
    const params: Record<string, string> = { wait: "true", recursive: "true" };
    if (next !== undefined) params.waitIndex = String(next);
    try {
      const answer = await keysRequest("GET", prefix, params, undefined, signal);
      seen({ at: new Date().toLocaleTimeString(), action: answer.action, node: answer.node });
      next = (answer.node.modifiedIndex ?? 0) + 1;
      setStatus(`watching ${prefix}`);
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.errorCode === 401) {
        // The history moved past the index: resume from now on, and say so.
        next = undefined;
        setStatus(`watching ${prefix} (events were missed: ${error.message})`);
        continue;
      }
      setStatus(`watch failed: ${errorText(error)}; retrying in 2 s`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}
