/**
 * Where the discovery service keeps its tokens: `/_etcd/registry/<token>` in the v2 keys of a
 * backing etcd or etcd-bun (or the service's own embedded member), as discovery.etcd.io does.
 */
import { isTransportError } from "../net/fetch-error.ts";

const REGISTRY = "/v2/keys/_etcd/registry";
/** The store's answers a client gets as they are; the connection's own headers stay behind. */
const NOT_COPIED = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);
const WRITE_TIMEOUT_MS = 5000;

export class TokenStore {
  constructor(
    /** The store's client URL (`scheme://host:port`). */
    private readonly storeUrl: string,
    /** Seconds until a new token expires; 0: never. */
    private readonly ttlS: number,
  ) {}

  /** A new token: its directory (with its time to live) and its size key. */
  async create(token: string, size: number): Promise<boolean> {
    const base = `${this.storeUrl}${REGISTRY}/${token}`;
    if (this.ttlS > 0) {
      const dir = await this.write(`${base}?prevExist=false`, "PUT", `dir=true&ttl=${this.ttlS}`);
      if (dir !== 201) return false;
    }
    return (
      (await this.write(`${base}/_config/size?prevExist=false`, "PUT", `value=${size}`)) === 201
    );
  }

  /** Makes a token and removes it again: whether the store takes writes. */
  async healthy(token: string): Promise<boolean> {
    const base = `${this.storeUrl}${REGISTRY}/${token}`;
    const made = await this.write(`${base}/_config/size?prevExist=false`, "PUT", "value=1");
    const removed = await this.write(`${base}?recursive=true&dir=true`, "DELETE");
    return made === 201 && removed === 200;
  }

  /**
   * `request` sent on to `<registry><storePath><search>`, and the store's answer, whole; or
   * undefined when the store cannot be reached.
   */
  async passOn(request: Request, storePath: string, search: string): Promise<Response | undefined> {
    const body = request.method === "GET" ? undefined : await request.text();
    const type = request.headers.get("content-type");
    let res: Response;
    let bytes: ArrayBuffer;
    try {
      res = await fetch(`${this.storeUrl}${REGISTRY}${storePath}${search}`, {
        method: request.method,
        ...(body === undefined ? {} : { body }),
        ...(type === null ? {} : { headers: { "Content-Type": type } }),
        signal: request.signal,
      });
      bytes = await res.arrayBuffer();
    } catch (error) {
      if (isTransportError(error)) return undefined;
      throw error;
    }
    const headers = new Headers();
    for (const [name, value] of res.headers) if (!NOT_COPIED.has(name)) headers.append(name, value);
    return new Response(bytes, { status: res.status, headers });
  }

  /** The status of a form write, or undefined when the store cannot be reached. */
  private async write(url: string, method: string, form?: string): Promise<number | undefined> {
    try {
      const res = await fetch(url, {
        method,
        ...(form === undefined
          ? {}
          : { body: form, headers: { "Content-Type": "application/x-www-form-urlencoded" } }),
        signal: AbortSignal.timeout(WRITE_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      return res.status;
    } catch (error) {
      if (isTransportError(error)) return undefined;
      throw error;
    }
  }
}
