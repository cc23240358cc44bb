/**
 * Normalisation for the differential test: keeps everything a client can observe, replacing
 * only values that must differ between two servers (index offsets, ids, URLs, times, counters,
 * the server's version string) and the unspecified order of unsorted listings.
 */
import type { MemberProcess } from "../support/cluster-process.ts";
import type { DiffRequest } from "./cases.ts";

export interface Normalized {
  readonly request: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

interface Context {
  readonly base: number;
  readonly member: MemberProcess;
  readonly request: DiffRequest;
}

/** Headers whose exact value clients read; others are compared for presence only. */
const EXACT_HEADERS = [
  "content-type",
  "allow",
  "location",
  "access-control-allow-origin",
  "access-control-allow-methods",
  "access-control-allow-headers",
];
const PRESENCE_HEADERS = ["x-etcd-cluster-id", "x-raft-index", "x-raft-term", "transfer-encoding"];
const INDEX_FIELDS = new Set(["modifiedIndex", "createdIndex", "index"]);
/** Endpoints whose values are per-server (counters, times, versions): compare the shape. */
const SHAPE_ONLY = ["/v2/stats/", "/version"];

function relative(value: number, base: number): string {
  return value === 0 ? "0" : `base${value - base >= 0 ? "+" : ""}${value - base}`;
}

function normalizeJson(value: unknown, ctx: Context, key = ""): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => normalizeJson(v, ctx));
    if (key === "nodes") {
      items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    }
    return items;
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalizeJson(v, ctx, k);
    return out;
  }
  if (typeof value === "number" && INDEX_FIELDS.has(key)) return relative(value, ctx.base);
  if (key === "expiration") return "<time>";
  if (key === "ttl" && typeof value === "number") return value > 0 ? "<ttl>" : value;
  if (typeof value === "string") return normalizeText(value, ctx);
  return value;
}

function normalizeText(text: string, ctx: Context): string {
  return text
    .replaceAll(ctx.member.clientUrl, "<client-url>")
    .replaceAll(ctx.member.peerUrl, "<peer-url>")
    .replace(/\/(\d{20})/g, (_, n: string) => `/<inorder:${relative(Number(n), ctx.base)}>`)
    .replace(
      /\[(\d+)\/(\d+)\]/g,
      (_, a: string, b: string) => `[${relative(Number(a), ctx.base)}/${b}]`,
    );
}

/** Replaces every value by its type, keeping keys and nesting (for per-server endpoints). */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
  }
  return typeof value;
}

function normalizeIds(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value).replace(/"(id|leader)":"[0-9a-f]+"/g, '"$1":"<id>"'));
}

export async function normalizeResponse(res: Response, ctx: Context): Promise<Normalized> {
  const text = await res.text();
  const headers: Record<string, string> = {};
  for (const h of EXACT_HEADERS) {
    const v = res.headers.get(h);
    if (v !== null) headers[h] = normalizeText(v, ctx);
  }
  for (const h of PRESENCE_HEADERS) if (res.headers.has(h)) headers[h] = "<present>";
  if (ctx.request.ignoreLocation === true && headers.location !== undefined)
    headers.location = "<present>";
  const etcdIndex = res.headers.get("x-etcd-index");
  if (etcdIndex !== null) headers["x-etcd-index"] = relative(Number(etcdIndex), ctx.base);
  let body: unknown = normalizeText(text, ctx);
  // A redirect's body names its Location.
  if (ctx.request.ignoreLocation === true && res.status === 301) body = "<redirect>";
  const isJson = (res.headers.get("content-type") ?? "").includes("json") || text.startsWith("{");
  if (isJson && text.trim() !== "") {
    const parsed: unknown = JSON.parse(text.split("\n")[0] ?? "");
    const shapeOnly = SHAPE_ONLY.some((p) => ctx.request.path.startsWith(p));
    // A string, so field order is compared too (clients may depend on it).
    const normalized = shapeOnly ? shapeOf(parsed) : normalizeIds(normalizeJson(parsed, ctx));
    body = { json: JSON.stringify(normalized), trailingNewline: text.endsWith("\n") };
  }
  return {
    request: `${ctx.request.method} ${ctx.request.path}`,
    status: res.status,
    headers,
    body,
  };
}
