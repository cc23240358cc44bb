/**
 * The v2 keys calls the discovery protocol makes against a discovery URL's host (a discovery
 * service or any etcd): get, create, and a one-event watch. Keys are paths on that host as they
 * are (a self-hosted discovery URL holds `/v2/keys/...` itself). Answers are taken as etcd's Go
 * client takes them: an error body becomes a `KeysError`, a body that is no JSON `InvalidJson`,
 * and a host that cannot be reached `Unreachable` (the caller retries those).
 */
import { isTransportError } from "../net/fetch-error.ts";

export interface KeysNode {
  readonly key: string;
  readonly value?: string;
  readonly dir?: boolean;
  readonly nodes?: KeysNode[];
  readonly createdIndex: number;
  readonly modifiedIndex: number;
}

export interface KeysAnswer {
  readonly action: string;
  readonly node: KeysNode;
  /** `X-Etcd-Index`. */
  readonly index: number;
}

/** An etcd error answer, worded as the Go client's `Error`: `100: Key not found (/a) [7]`. */
export class KeysError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly cause_: string,
    readonly index: number,
  ) {
    super(`${code}: ${reason} (${cause_}) [${index}]`);
    this.name = "KeysError";
  }
}

export class InvalidJson extends Error {
  constructor() {
    super(
      "client: response is invalid json. The endpoint is probably not valid etcd cluster endpoint.",
    );
    this.name = "InvalidJson";
  }
}

/** The host could not be reached or did not answer in time. */
export class Unreachable extends Error {
  constructor(readonly cause_: string) {
    super(cause_);
    this.name = "Unreachable";
  }
}

/** Get and create are bounded as the Go client's default request timeout; a watch is not. */
const REQUEST_TIMEOUT_MS = 5000;

export interface KeysClientOptions {
  /** `scheme://host[:port]` of the discovery URL. */
  readonly origin: string;
  /** `--discovery-proxy`: an HTTP proxy for every request, or "" for none. */
  readonly proxy: string;
}

export class KeysClient {
  constructor(private readonly o: KeysClientOptions) {}

  get(key: string): Promise<KeysAnswer> {
    return this.call("GET", `${key}?quorum=false&recursive=false&sorted=false`, REQUEST_TIMEOUT_MS);
  }

  /** Creates `key` (fails with code 105 when it exists). */
  create(key: string, value: string): Promise<KeysAnswer> {
    return this.call("PUT", `${key}?prevExist=false`, REQUEST_TIMEOUT_MS, value);
  }

  /** The first event at or after `waitIndex` on `key` (and under it when `recursive`). */
  async watch(key: string, waitIndex: number, recursive: boolean): Promise<KeysAnswer> {
    const query = `wait=true&waitIndex=${waitIndex}${recursive ? "&recursive=true" : ""}`;
    for (;;) {
      const { res, text } = await this.send("GET", `${key}?${query}`, 0);
      // A proxy in between may end a long poll with an empty body (after its own timeout): ask
      // again, as the Go client does. Any other answer ends the watch.
      if (text !== "") return answerOf(res, text);
    }
  }

  private async call(
    method: string,
    pathAndQuery: string,
    timeoutMs: number,
    value?: string,
  ): Promise<KeysAnswer> {
    const { res, text } = await this.send(method, pathAndQuery, timeoutMs, value);
    return answerOf(res, text);
  }

  /** The host's answer and its body; `Unreachable` when there is none. */
  private async send(
    method: string,
    pathAndQuery: string,
    timeoutMs: number,
    value?: string,
  ): Promise<{ res: Response; text: string }> {
    try {
      const res = await fetch(this.o.origin + pathAndQuery, {
        method,
        ...(value === undefined
          ? {}
          : {
              body: new URLSearchParams({ value }).toString(),
              headers: { "Content-Type": "application/x-www-form-urlencoded" },
            }),
        ...(timeoutMs > 0 ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
        ...(this.o.proxy !== "" ? { proxy: this.o.proxy } : {}),
        redirect: "follow",
      });
      const text = await res.text();
      // The Go client takes any 5xx as this endpoint failing (no leader, a proxy's 502...),
      // and discovery retries it like an endpoint that did not answer.
      if (res.status >= 500) throw new Unreachable(serverError(this.o.origin, res));
      return { res, text };
    } catch (error) {
      if (!isTransportError(error)) throw error;
      throw new Unreachable(error instanceof Error ? error.message : String(error));
    }
  }
}

/** The Go client's words for a 5xx answer. */
function serverError(origin: string, res: Response): string {
  if (res.status === 500 || res.status === 503)
    return `client: etcd member ${origin} has no leader`;
  return `client: etcd member ${origin} returns server error [${STATUS_TEXT[res.status] ?? res.statusText}]`;
}

/** Go's http.StatusText for the other 5xx codes a proxy or balancer sends. */
const STATUS_TEXT: Readonly<Record<number, string>> = {
  501: "Not Implemented",
  502: "Bad Gateway",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** The Go client's reading of an answer: its node, or an error. */
function answerOf(res: Response, text: string): KeysAnswer {
  const body = parseJson(text);
  if (body === undefined || typeof body !== "object" || body === null) throw new InvalidJson();
  const index = Number(res.headers.get("x-etcd-index") ?? 0);
  if ("errorCode" in body) {
    const e = body as { errorCode: unknown; message?: unknown; cause?: unknown; index?: unknown };
    throw new KeysError(
      Number(e.errorCode),
      String(e.message ?? ""),
      String(e.cause ?? ""),
      Number(e.index ?? index),
    );
  }
  if (!("node" in body) || typeof (body as { node: unknown }).node !== "object") {
    throw new InvalidJson();
  }
  const answer = body as { action: string; node: KeysNode };
  return { action: answer.action, node: answer.node, index };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}
