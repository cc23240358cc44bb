/**
 * Identical long-poll watches share one upstream watch: `GET <key>?wait=true&waitIndex=W` (with
 * or without `recursive=true`, nothing else) from many local clients becomes one request to a
 * member, and its answer goes to each of them. The answer is what each would have had by itself:
 * the first event at or after W on that key, the same for everyone, unless W had left the
 * member's event history by the time a client came (etcd answers 401 "event index cleared").
 * A client joining a watch already registered is therefore checked first: the member's current
 * index, read after it came, must leave W inside the history (the last 1000 events). A client
 * that does not pass is forwarded on its own, and gets from the member what the member says.
 *
 * If the member goes away while the watch waits, the watch goes on at another member from the
 * same waitIndex, and the clients see nothing of it.
 */
import { isTransportError } from "../net/fetch-error.ts";
import type { Endpoint } from "./endpoints.ts";
import {
  cut,
  type ForwardOptions,
  HEADER_FLUSH,
  HEADER_FLUSH_MS,
  proxyError,
  sendUpstream,
  upstreamHeaders,
} from "./forward.ts";

/** etcd v2's event history keeps this many events; an older waitIndex is refused with 401. */
const HISTORY_EVENTS = 1000;
/** A key no member holds: reading it costs nothing and answers with the current index. */
const INDEX_PROBE_PATH = "/v2/keys/%00etcd-bun-proxy-index";

/** The member's answer: status and headers, then the whole body once the event came. */
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Promise<Uint8Array>;
}

interface Client {
  /** Gets the answer (or the cut) once it is known. */
  deliver(answer: Answer): void;
  fail(): void;
}

class SharedWatch {
  readonly clients = new Set<Client>();
  readonly abort = new AbortController();
  /** Settles once a member took the upstream watch (`holder`) or none could. */
  readonly registered = Promise.withResolvers<void>();
  /** The member that holds the upstream watch now (another one after a failover). */
  holder: Endpoint | undefined;
  answer: Answer | undefined;
  failed = false;
  /** Index checks: one in flight, and the clients that came after it was sent. */
  checking: Promise<void> | undefined;
  queued: ((index: number | undefined) => void)[] = [];
  constructor(readonly waitIndex: number) {}
}

/** The shareable form of a request: its key, or undefined when it must be forwarded as is. */
export function shareKey(method: string, url: URL): { key: string; waitIndex: number } | undefined {
  if (method !== "GET") return undefined;
  const q = url.searchParams;
  let waitIndex: number | undefined;
  let recursive = false;
  for (const [name, value] of q) {
    if (name === "wait" && value === "true") continue;
    if (name === "recursive" && (value === "true" || value === "false")) {
      recursive = value === "true";
      continue;
    }
    if (name === "waitIndex" && /^[1-9][0-9]{0,14}$/.test(value)) {
      waitIndex = Number(value);
      continue;
    }
    return undefined;
  }
  if (q.get("wait") !== "true" || waitIndex === undefined) return undefined;
  if ([...q.keys()].length !== new Set(q.keys()).size) return undefined;
  return { key: `${url.pathname}\n${recursive}\n${waitIndex}`, waitIndex };
}

export class WatchCoalescer {
  private readonly watches = new Map<string, SharedWatch>();

  constructor(private readonly o: ForwardOptions) {}

  /** Upstream watches open now (for tests and the proxy's own figures). */
  get upstreamCount(): number {
    return this.watches.size;
  }

  /** Answers a shareable watch (see `shareKey`); `forward` sends one that cannot share. */
  watch(
    request: Request,
    target: URL,
    share: { key: string; waitIndex: number },
    clientIp: string | undefined,
    forward: () => Promise<Response>,
  ): Promise<Response> {
    const existing = this.watches.get(share.key);
    const waiting = existing?.answer === undefined || existing.answer.status === 200;
    if (existing !== undefined && !existing.failed && waiting) {
      return this.join(existing, share.key, request, forward);
    }
    const shared = new SharedWatch(share.waitIndex);
    this.watches.set(share.key, shared);
    void this.open(shared, share.key, request, target, clientIp);
    return this.attach(shared, share.key, request);
  }

  /**
   * Sends the one upstream watch and reads its answer to the end. A member that goes away
   * before the event came is left for the next one, asked for the same waitIndex; if that one
   * answers anything but 200 (etcd's 401 "event index cleared"), every client's response is cut
   * and each watches again by itself, as from a member that went away.
   */
  private async open(
    shared: SharedWatch,
    key: string,
    request: Request,
    target: URL,
    clientIp: string | undefined,
  ): Promise<void> {
    const upstream = {
      method: "GET",
      headers: upstreamHeaders(request, clientIp),
      body: null,
      signal: shared.abort.signal,
    };
    const body = Promise.withResolvers<Uint8Array>();
    // Clients read it once they have the headers; a cut may come before any did.
    body.promise.catch(() => {});
    try {
      for (let answered = false; ; answered = true) {
        const sent = await sendUpstream(upstream, target.pathname + target.search, this.o);
        if (sent instanceof Response) {
          if (answered) return this.fail(shared, body);
          shared.registered.resolve();
          body.resolve(new Uint8Array(await sent.arrayBuffer()));
          return this.settle(shared, {
            status: sent.status,
            headers: sent.headers,
            body: body.promise,
          });
        }
        if (answered && sent.res.status !== 200) {
          sent.deadline.clear();
          await sent.res.body?.cancel();
          return this.fail(shared, body);
        }
        shared.holder = sent.endpoint;
        if (!answered) {
          shared.registered.resolve();
          const headers = new Headers(sent.res.headers);
          headers.delete("transfer-encoding");
          headers.delete("content-length");
          this.settle(shared, { status: sent.res.status, headers, body: body.promise });
        }
        try {
          body.resolve(new Uint8Array(await sent.res.arrayBuffer()));
          return;
        } catch (error) {
          if (!isTransportError(error)) throw error;
          if (shared.abort.signal.aborted || sent.res.status !== 200)
            return this.fail(shared, body);
          this.o.log(`watch on ${sent.endpoint.url} lost; going on at another member`);
          if (this.o.endpoints.failed(sent.endpoint)) {
            this.o.log(`marked endpoint ${sent.endpoint.url} unavailable`);
          }
        } finally {
          sent.deadline.clear();
        }
      }
    } finally {
      if (this.watches.get(key) === shared) this.watches.delete(key);
    }
  }

  private fail(shared: SharedWatch, body: PromiseWithResolvers<Uint8Array>): void {
    if (!shared.abort.signal.aborted) {
      this.o.log(`shared watch lost; ${shared.clients.size} client response(s) cut`);
    }
    shared.failed = true;
    body.reject(new Error("upstream watch lost"));
    for (const c of shared.clients) c.fail();
  }

  private settle(shared: SharedWatch, answer: Answer): void {
    shared.answer = answer;
    for (const c of shared.clients) c.deliver(answer);
  }

  /**
   * A client for a watch another one opened: it shares it once an index read after it came
   * shows W still inside that member's history; otherwise it is forwarded on its own.
   */
  private async join(
    shared: SharedWatch,
    key: string,
    request: Request,
    forward: () => Promise<Response>,
  ): Promise<Response> {
    const index = await this.currentIndex(shared);
    const inHistory = index !== undefined && shared.waitIndex > index - HISTORY_EVENTS;
    if (!inHistory || shared.failed) return forward();
    return this.attach(shared, key, request, index);
  }

  /**
   * The member's current index, read by a request sent after the caller came: clients that
   * come while one read is on its way wait for the next, so one read serves a whole burst.
   */
  private currentIndex(shared: SharedWatch): Promise<number | undefined> {
    const mine = new Promise<number | undefined>((resolve) => shared.queued.push(resolve));
    const run = () => {
      const batch = shared.queued;
      shared.queued = [];
      shared.checking = this.readIndex(shared).then((index) => {
        for (const resolve of batch) resolve(index);
        shared.checking = undefined;
        if (shared.queued.length > 0) run();
      });
    };
    if (shared.checking === undefined) run();
    return mine;
  }

  /** Read once the shared watch is registered, from the member that holds it. */
  private async readIndex(shared: SharedWatch): Promise<number | undefined> {
    await shared.registered.promise;
    const url = shared.holder?.url;
    if (url === undefined) return undefined;
    try {
      const res = await fetch(url + INDEX_PROBE_PATH, {
        signal: AbortSignal.timeout(5000),
        ...(this.o.upstreamTls === undefined ? {} : { tls: this.o.upstreamTls }),
      });
      await res.arrayBuffer();
      const index = Number(res.headers.get("x-etcd-index"));
      return Number.isSafeInteger(index) && index > 0 ? index : undefined;
    } catch (error) {
      if (!isTransportError(error)) throw error;
      return undefined;
    }
  }

  /** This client's response: the shared answer, headers at once, the event when it comes. */
  private attach(
    shared: SharedWatch,
    key: string,
    request: Request,
    index?: number,
  ): Promise<Response> {
    const head = Promise.withResolvers<Answer | undefined>();
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    let flushed = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const client: Client = {
      deliver: (answer) => head.resolve(answer),
      fail: () => {
        head.resolve(undefined);
        if (controller !== undefined) cut(controller);
      },
    };
    const leave = () => {
      clearTimeout(timer);
      if (!shared.clients.delete(client) || shared.clients.size > 0) return;
      // The last client went: nobody shares this watch any more.
      shared.failed = true;
      if (this.watches.get(key) === shared) this.watches.delete(key);
      shared.abort.abort();
    };
    shared.clients.add(client);
    request.signal.addEventListener("abort", leave, { once: true });
    if (shared.answer !== undefined) client.deliver(shared.answer);
    return head.promise.then((answer) => {
      if (answer === undefined) {
        leave();
        return proxyError(502, "unable to get response from 1 endpoint(s)");
      }
      const headers = new Headers(answer.headers);
      // A joiner's watch counts from the index read for it, as a watch of its own would.
      if (index !== undefined) headers.set("X-Etcd-Index", String(index));
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          controller = c;
          timer = setTimeout(() => {
            flushed = true;
            c.enqueue(HEADER_FLUSH);
          }, HEADER_FLUSH_MS);
          answer.body.then(
            (bytes) => {
              clearTimeout(timer);
              c.enqueue(flushed ? trimStart(bytes) : bytes);
              c.close();
              leave();
            },
            () => leave(),
          );
        },
        cancel: leave,
      });
      return new Response(body, { status: answer.status, headers });
    });
  }
}

/** The body without the space a member or this proxy sent to flush the headers. */
function trimStart(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0x20) i++;
  return bytes.subarray(i);
}
