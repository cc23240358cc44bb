/**
 * The page's calls: the v2 keys API (with the signed-in user's credentials, so auth applies to
 * the page exactly as to any client) and the dashboard's own cluster view.
 */

export interface EtcdNode {
  readonly key?: string;
  readonly value?: string;
  readonly dir?: boolean;
  readonly nodes?: readonly EtcdNode[];
  readonly createdIndex?: number;
  readonly modifiedIndex?: number;
  readonly ttl?: number;
  readonly expiration?: string;
}

export interface KeysAnswer {
  readonly action: string;
  readonly node: EtcdNode;
  readonly prevNode?: EtcdNode;
}

interface EtcdErrorBody {
  readonly errorCode?: number;
  readonly message?: string;
  readonly cause?: string;
  readonly index?: number;
}

/** A request the API refused: its HTTP status and etcd's error code and words. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly errorCode: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const CREDENTIALS_KEY = "etcd-bun-dashboard-credentials";

export function signedInAs(): string | undefined {
  const saved = sessionStorage.getItem(CREDENTIALS_KEY);
  return saved === null ? undefined : saved.slice(0, saved.indexOf(":"));
}

export function signIn(user: string, password: string): void {
  sessionStorage.setItem(CREDENTIALS_KEY, `${user}:${password}`);
}

export function signOut(): void {
  sessionStorage.removeItem(CREDENTIALS_KEY);
}

function authHeaders(): Record<string, string> {
  const saved = sessionStorage.getItem(CREDENTIALS_KEY);
  if (saved === null) return {};
  const bytes = new TextEncoder().encode(saved);
  return { Authorization: `Basic ${btoa(String.fromCharCode(...bytes))}` };
}

/** `/a b/c` → `/v2/keys/a%20b/c`. */
function keyUrl(key: string, params: Readonly<Record<string, string>> = {}): string {
  const path = key
    .split("/")
    .filter((part) => part !== "")
    .map(encodeURIComponent)
    .join("/");
  const query = new URLSearchParams(params).toString();
  return `/v2/keys/${path}${query === "" ? "" : `?${query}`}`;
}

export async function keysRequest(
  method: "GET" | "PUT" | "DELETE",
  key: string,
  params: Readonly<Record<string, string>> = {},
  form?: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<KeysAnswer> {
  const headers: Record<string, string> = authHeaders();
  const init: RequestInit = { method, headers };
  if (form !== undefined) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    init.body = new URLSearchParams(form).toString();
  }
  if (signal !== undefined) init.signal = signal;
  const res = await fetch(keyUrl(key, params), init);
  const text = await res.text();
  if (!res.ok) throw refusal(res.status, text);
  return JSON.parse(text) as KeysAnswer;
}

function refusal(status: number, text: string): ApiError {
  let body: EtcdErrorBody = {};
  try {
    body = JSON.parse(text) as EtcdErrorBody;
  } catch {
    body = { message: text.trim() || `HTTP ${status}` };
  }
  const cause = body.cause === undefined || body.cause === "" ? "" : ` [${body.cause}]`;
  const code = body.errorCode === undefined ? "" : ` (error ${body.errorCode})`;
  return new ApiError(status, body.errorCode, `${body.message ?? `HTTP ${status}`}${cause}${code}`);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, signal === undefined ? {} : { signal });
  if (!res.ok) throw new ApiError(res.status, undefined, `${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
