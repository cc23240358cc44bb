/** The dashboard page: polls the cluster view each second and renders the four panels. */
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ClusterView } from "../status.ts";
import { errorText, getJson, signedInAs, signIn, signOut } from "./api.ts";
import { addSample, Charts, emptySeries } from "./charts.ts";
import { html } from "./html.ts";
import { KeyBrowser } from "./keys.ts";
import { Overview } from "./overview.ts";
import { WatchPanel } from "./watch.ts";

const POLL_MS = 1000;

function App() {
  const [view, setView] = useState<ClusterView | undefined>(undefined);
  const [error, setError] = useState("");
  const [now, setNow] = useState(Date.now());
  const [version, setVersion] = useState(0);
  const series = useRef(emptySeries());

  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const next = await getJson<ClusterView>("/dashboard/api/cluster");
        addSample(series.current, next, Date.now());
        setView(next);
        setVersion((v) => v + 1);
        setError("");
      } catch (e) {
        setError(`The cluster view could not be loaded: ${errorText(e)}`);
      }
      setNow(Date.now());
      if (!stopped) setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
    };
  }, []);

  return html`<header>
      <h1>etcd-bun</h1>
      <${Account} />
    </header>
    <main>
      <${Overview} view=${view} error=${error} />
      <${Charts} series=${series.current} version=${version} />
      <div class="columns">
        <${KeyBrowser} now=${now} />
        <${WatchPanel} />
      </div>
    </main>`;
}

function signOutAndReload(): void {
  signOut();
  location.reload();
}

/** Sign in when auth is enabled: the page then sends the user's credentials with key requests. */
function Account() {
  const [enabled, setEnabled] = useState<boolean | undefined>(undefined);
  const [user, setUser] = useState(signedInAs());
  useEffect(() => {
    getJson<{ enabled: boolean }>("/v2/auth/enable")
      .then((a) => setEnabled(a.enabled))
      .catch(() => setEnabled(undefined));
  }, []);
  if (user !== undefined)
    return html`<p class="account">Signed in as <strong>${user}</strong>
      <button type="button" onClick=${signOutAndReload}>Sign out</button></p>`;
  if (enabled !== true)
    return html`<p class="account hint">${enabled === false ? "Auth is off" : ""}</p>`;
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    signIn(String(form.get("user")), String(form.get("password")));
    setUser(signedInAs());
    location.reload();
  };
  return html`<form class="account" onSubmit=${submit}>
    Auth is on:
    <input name="user" placeholder="user" required />
    <input name="password" type="password" placeholder="password" required />
    <button type="submit">Sign in</button>
  </form>`;
}

const root = document.getElementById("app");
if (root !== null) render(html`<${App} />`, root);
