/**
 * The key browser: a lazily loaded tree of directories, one key's value and indexes (a TTL
 * counting down), editing by compare-and-swap on the index the value was read at (a change made
 * meanwhile is shown, never overwritten), creating keys and directories, deleting.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, type EtcdNode, errorText, keysRequest } from "./api.ts";
import { html } from "./html.ts";

type Listing = Readonly<Record<string, readonly EtcdNode[]>>;

export function KeyBrowser({ now }: { now: number }) {
  const [listing, setListing] = useState<Listing>({});
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set(["/"]));
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [treeError, setTreeError] = useState("");

  const loadDir = async (dir: string) => {
    try {
      const answer = await keysRequest("GET", dir, { sorted: "true" });
      setListing((l) => ({ ...l, [dir]: answer.node.nodes ?? [] }));
      setTreeError("");
    } catch (error) {
      setTreeError(`${dir}: ${errorText(error)}`);
    }
  };
  const reloadOpen = () => {
    for (const dir of open) void loadDir(dir);
  };
  useEffect(() => void loadDir("/"), []);

  const toggle = (dir: string) => {
    const next = new Set(open);
    if (next.has(dir)) next.delete(dir);
    else {
      next.add(dir);
      void loadDir(dir);
    }
    setOpen(next);
  };
  const changed = (key: string | undefined) => {
    reloadOpen();
    if (key !== undefined) setSelected(key);
  };

  return html`<section class="card" id="keys">
    <h2>Keys <button type="button" onClick=${reloadOpen}>Refresh</button></h2>
    ${treeError === "" ? null : html`<p class="error">${treeError}</p>`}
    <div class="keys">
      <ul class="tree" data-testid="tree">
        <${TreeDir} dir="/" listing=${listing} open=${open} toggle=${toggle} select=${setSelected} selected=${selected} />
      </ul>
      <div class="detail">
        ${
          selected === undefined
            ? html`<p class="hint">Select a key, or create one below.</p>`
            : html`<${KeyDetail} key=${selected} keyPath=${selected} now=${now} changed=${changed} />`
        }
        <${CreateForm} created=${changed} />
      </div>
    </div>
  </section>`;
}

interface TreeProps {
  dir: string;
  listing: Listing;
  open: ReadonlySet<string>;
  toggle: (dir: string) => void;
  select: (key: string) => void;
  selected: string | undefined;
}

function TreeDir({ dir, listing, open, toggle, select, selected }: TreeProps) {
  const children = listing[dir];
  if (children === undefined) return html`<li class="hint">…</li>`;
  if (children.length === 0) return html`<li class="hint">(empty)</li>`;
  return children.map((node) => {
    const key = node.key ?? "";
    const name = key.slice(key.lastIndexOf("/") + 1);
    if (node.dir === true) {
      const isOpen = open.has(key);
      return html`<li>
        <button type="button" class="dir" data-key=${key} onClick=${() => toggle(key)}>
          ${isOpen ? "▾" : "▸"} ${name}/
        </button>
        ${isOpen ? html`<ul><${TreeDir} dir=${key} listing=${listing} open=${open} toggle=${toggle} select=${select} selected=${selected} /></ul>` : null}
      </li>`;
    }
    return html`<li>
      <button type="button" class=${`leaf${key === selected ? " selected" : ""}`} data-key=${key} onClick=${() => select(key)}>${name}</button>
    </li>`;
  });
}

interface DetailProps {
  keyPath: string;
  now: number;
  changed: (key: string | undefined) => void;
}

function KeyDetail({ keyPath, now, changed }: DetailProps) {
  const [node, setNode] = useState<EtcdNode | undefined>(undefined);
  const [draft, setDraft] = useState("");
  const [ttl, setTtl] = useState("");
  const [message, setMessage] = useState<{ text: string; error: boolean } | undefined>();
  const [confirmDelete, setConfirmDelete] = useState(false);

  const load = async () => {
    try {
      const answer = await keysRequest("GET", keyPath);
      setNode(answer.node);
      setDraft(answer.node.value ?? "");
      setTtl(answer.node.ttl === undefined ? "" : String(answer.node.ttl));
      setConfirmDelete(false);
    } catch (error) {
      setNode(undefined);
      setMessage({ text: errorText(error), error: true });
    }
  };
  useEffect(() => {
    setMessage(undefined);
    void load();
  }, [keyPath]);

  if (node === undefined)
    return html`<div class="node">${message === undefined ? html`<p>Loading ${keyPath}…</p>` : html`<p class=${message.error ? "error" : "ok"} data-testid="key-message">${message.text}</p>`}</div>`;

  const save = async () => {
    const form: Record<string, string> = { value: draft };
    if (ttl.trim() !== "") form.ttl = ttl.trim();
    try {
      const answer = await keysRequest(
        "PUT",
        keyPath,
        { prevIndex: String(node.modifiedIndex) },
        form,
      );
      setNode(answer.node);
      setMessage({ text: `Saved at index ${answer.node.modifiedIndex}.`, error: false });
      changed(undefined);
    } catch (error) {
      const conflict = error instanceof ApiError && error.errorCode === 101;
      setMessage({
        text: conflict
          ? `Not saved: ${keyPath} changed since it was read at index ${node.modifiedIndex} (${error.message}). Reload to see the current value.`
          : `Not saved: ${errorText(error)}`,
        error: true,
      });
    }
  };
  const remove = async () => {
    const params: Record<string, string> =
      node.dir === true
        ? { dir: "true", recursive: "true" }
        : { prevIndex: String(node.modifiedIndex) };
    try {
      await keysRequest("DELETE", keyPath, params);
      changed(undefined);
      setMessage({ text: `Deleted ${keyPath}.`, error: false });
      setNode(undefined);
    } catch (error) {
      setMessage({ text: `Not deleted: ${errorText(error)}`, error: true });
      setConfirmDelete(false);
    }
  };

  const left =
    node.expiration === undefined
      ? undefined
      : Math.max(0, Math.ceil((Date.parse(node.expiration) - Math.max(now, Date.now())) / 1000));
  return html`<div class="node" data-testid="node">
    <h3 class="mono">${keyPath}${node.dir === true ? "/" : ""}</h3>
    <p class="meta">
      created at index ${node.createdIndex} · modified at index <span data-testid="modified-index">${node.modifiedIndex}</span>
      ${left === undefined ? null : html` · <span class="ttl" data-testid="ttl-left">expires in ${left} s</span>`}
    </p>
    ${
      node.dir === true
        ? html`<p class="hint">A directory: open it in the tree.</p>`
        : html`
      <label>Value<textarea data-testid="value" rows="5" value=${draft} onInput=${(e: Event) => setDraft((e.target as HTMLTextAreaElement).value)}></textarea></label>
      <label>TTL (s, empty for none)<input data-testid="ttl" value=${ttl} onInput=${(e: Event) => setTtl((e.target as HTMLInputElement).value)} /></label>`
    }
    <p class="actions">
      ${node.dir === true ? null : html`<button type="button" data-testid="save" onClick=${save}>Save (compare-and-swap)</button>`}
      <button type="button" onClick=${load}>Reload</button>
      ${
        confirmDelete
          ? html`<button type="button" class="danger" data-testid="confirm-delete" onClick=${remove}>Really delete${node.dir === true ? " recursively" : ""}?</button>`
          : html`<button type="button" data-testid="delete" onClick=${() => setConfirmDelete(true)}>Delete</button>`
      }
    </p>
    ${message === undefined ? null : html`<p class=${message.error ? "error" : "ok"} data-testid="key-message">${message.text}</p>`}
  </div>`;
}

function CreateForm({ created }: { created: (key: string | undefined) => void }) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [ttl, setTtl] = useState("");
  const [dir, setDir] = useState(false);
  const [message, setMessage] = useState<{ text: string; error: boolean } | undefined>();
  const create = async (event: Event) => {
    event.preventDefault();
    const path = `/${key
      .split("/")
      .filter((p) => p !== "")
      .join("/")}`;
    const form: Record<string, string> = dir ? { dir: "true" } : { value };
    if (ttl.trim() !== "") form.ttl = ttl.trim();
    try {
      const answer = await keysRequest("PUT", path, { prevExist: "false" }, form);
      setMessage({ text: `Created ${path} at index ${answer.node.modifiedIndex}.`, error: false });
      created(dir ? undefined : path);
    } catch (error) {
      setMessage({ text: `Not created: ${errorText(error)}`, error: true });
    }
  };
  return html`<form class="create" onSubmit=${create}>
    <h3>Create</h3>
    <input data-testid="new-key" placeholder="/path/to/key" required value=${key} onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)} />
    <input data-testid="new-value" placeholder="value" disabled=${dir} value=${value} onInput=${(e: Event) => setValue((e.target as HTMLInputElement).value)} />
    <input data-testid="new-ttl" placeholder="TTL (s)" size="6" value=${ttl} onInput=${(e: Event) => setTtl((e.target as HTMLInputElement).value)} />
    <label class="inline"><input type="checkbox" checked=${dir} onChange=${(e: Event) => setDir((e.target as HTMLInputElement).checked)} />directory</label>
    <button type="submit" data-testid="create">Create</button>
    ${message === undefined ? null : html`<p class=${message.error ? "error" : "ok"} data-testid="create-message">${message.text}</p>`}
  </form>`;
}
