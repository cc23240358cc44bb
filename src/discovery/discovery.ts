/**
 * etcd's v2 discovery protocol (`--discovery`): a new member registers `name=peerURL` under the
 * token and waits until the token's size is reached; the first `size` registrations by
 * createdIndex form the cluster. A proxy only reads the result. Errors and log lines are worded
 * as etcd 3.4's, so operators' scripts and searches keep working.
 */
import { parseInitialCluster } from "../config/values.ts";
import { InvalidJson, KeysClient, KeysError, type KeysNode, Unreachable } from "./keys-client.ts";

/** What went wrong, as etcd's `discovery` package says it. */
export class DiscoveryError extends Error {
  constructor(
    readonly kind: DiscoveryErrorKind,
    message: string = MESSAGES[kind],
  ) {
    super(message);
    this.name = "DiscoveryError";
  }
}

const MESSAGES = {
  invalidUrl: "discovery: invalid URL",
  badSizeKey: "discovery: size key is bad",
  duplicateId: "discovery: found duplicate id",
  duplicateName: "discovery: found duplicate name",
  fullCluster: "discovery: cluster is full",
  badEndpoint: "discovery: bad discovery endpoint",
  /** Any other answer (an etcd error the protocol does not name). */
  other: "",
} as const;
export type DiscoveryErrorKind = keyof typeof MESSAGES;

/** etcd's Go client code for "Key already exists". */
const NODE_EXIST = 105;
/** etcd's backoff doubles from 2 s up to 2^8 s, then stays there. */
const MAX_BACKOFF_EXPONENT = 8;

export interface DiscoveryOptions {
  /** The discovery URL: the token's directory on its host. */
  readonly url: string;
  /** `--discovery-proxy`, or "". */
  readonly proxy: string;
  readonly log: (line: string) => void;
  /** Waits between retries (tests pass a fast one). */
  readonly sleep?: (ms: number) => Promise<void>;
}

interface Found {
  readonly nodes: KeysNode[];
  readonly size: number;
  readonly index: number;
}

class Discovery {
  private readonly client: KeysClient;
  private readonly token: string;
  private readonly origin: string;
  private retries = 0;

  constructor(
    private readonly o: DiscoveryOptions,
    /** This member's id (hex), or "" for a proxy. */
    private readonly id: string,
  ) {
    const u = new URL(o.url);
    this.origin = u.origin;
    this.token = u.pathname.replace(/\/+$/, "");
    this.client = new KeysClient({ origin: this.origin, proxy: o.proxy });
  }

  private get selfKey(): string {
    return `${this.token}/${this.id}`;
  }

  async join(config: string): Promise<string> {
    // Fast path: a full token fails before this member registers.
    await this.check();
    await this.createSelf(config);
    const found = await this.check();
    return nodesToCluster(await this.waitNodes(found), found.size);
  }

  async get(): Promise<string> {
    try {
      const found = await this.check();
      return nodesToCluster(await this.waitNodes(found), found.size);
    } catch (error) {
      if (!(error instanceof FullWith)) throw error;
      return nodesToCluster(error.nodes, error.size);
    }
  }

  private async createSelf(config: string): Promise<void> {
    let created: Awaited<ReturnType<KeysClient["create"]>>;
    try {
      created = await this.client.create(this.selfKey, config);
    } catch (error) {
      if (error instanceof KeysError && error.code === NODE_EXIST) {
        throw new DiscoveryError("duplicateId");
      }
      throw asDiscoveryError(error);
    }
    // Until its own key shows on the host it asks, the member would not find itself.
    await this.client.watch(this.selfKey, created.node.createdIndex, false);
  }

  /** The registrations in createdIndex order; the cluster is full when this member is late. */
  private async check(): Promise<Found> {
    for (;;) {
      try {
        return await this.checkOnce();
      } catch (error) {
        if (!(error instanceof Unreachable)) throw error;
        await this.backoff("cluster status check", error);
      }
    }
  }

  private async checkOnce(): Promise<Found> {
    const configKey = `${this.token}/_config`;
    let sizeText: string | undefined;
    try {
      sizeText = (await this.client.get(`${configKey}/size`)).node.value;
    } catch (error) {
      // etcd's check for "size key not found" never matches its client's error type, so it
      // says the member's own words instead (`100: Key not found (...)`): so do we.
      if (error instanceof InvalidJson) throw new DiscoveryError("badEndpoint");
      throw unlessUnreachable(error);
    }
    const size = parseSize(sizeText ?? "");
    if (size === undefined) throw new DiscoveryError("badSizeKey");
    const listing = await this.client.get(this.token).catch((error: unknown) => {
      throw unlessUnreachable(error);
    });
    const nodes = (listing.node.nodes ?? [])
      .filter((n) => base(n.key) !== "_config")
      .sort((a, b) => a.createdIndex - b.createdIndex);
    // A proxy (no id of its own) is never among them: it takes the first `size`.
    const self = nodes.findIndex((n) => base(n.key) === this.id);
    if (nodes.length >= size && (self < 0 || self >= size)) {
      throw new FullWith(nodes.slice(0, size), size);
    }
    return { nodes, size, index: listing.index };
  }

  /** Watches the token until `size` registrations are known. */
  private async waitNodes(found: Found): Promise<KeysNode[]> {
    const all = found.nodes.slice(0, found.size);
    for (const n of all) {
      const who = base(n.key) === this.id ? "self" : "peer";
      this.o.log(`discovery: found ${who} ${base(n.key)} in the cluster`);
    }
    let waitIndex = found.index + 1;
    while (all.length < found.size) {
      this.o.log(
        `discovery: found ${all.length} peer(s), waiting for ${found.size - all.length} more`,
      );
      let event: Awaited<ReturnType<KeysClient["watch"]>>;
      try {
        event = await this.client.watch(this.token, waitIndex, true);
      } catch (error) {
        if (!(error instanceof Unreachable)) throw asDiscoveryError(error);
        await this.backoff("waiting for other nodes", error);
        return this.waitNodes(await this.check());
      }
      waitIndex = event.node.modifiedIndex + 1;
      // Only a new registration counts (etcd counts any event: a deleted or rewritten key, or
      // the size key changing, would take a place).
      if (!isRegistration(event, all)) continue;
      this.o.log(`discovery: found peer ${base(event.node.key)} in the cluster`);
      all.push(event.node);
    }
    this.o.log(`discovery: found ${all.length} needed peer(s)`);
    return all;
  }

  private async backoff(step: string, error: Unreachable): Promise<void> {
    this.retries++;
    const seconds = 2 ** Math.min(this.retries, MAX_BACKOFF_EXPONENT);
    this.o.log(`discovery: error #0: ${error.message}`);
    this.o.log(`discovery: ${step}: error connecting to ${this.origin}, retrying in ${seconds}s`);
    await (this.o.sleep ?? Bun.sleep)(seconds * 1000);
  }
}

/** The cluster is full; for a proxy, the members it holds. */
class FullWith extends DiscoveryError {
  constructor(
    readonly nodes: KeysNode[],
    readonly size: number,
  ) {
    super("fullCluster");
  }
}

function isRegistration(
  event: { action: string; node: KeysNode },
  known: readonly KeysNode[],
): boolean {
  const { node } = event;
  if (event.action !== "create" && event.action !== "set") return false;
  if (node.dir === true || base(node.key) === "_config" || node.createdIndex !== node.modifiedIndex)
    return false;
  return !known.some((k) => k.key === node.key);
}

/** Unreachable stays as it is (check() retries it); other answers end the discovery. */
function unlessUnreachable(error: unknown): unknown {
  return error instanceof Unreachable ? error : asDiscoveryError(error);
}

function asDiscoveryError(error: unknown): unknown {
  if (error instanceof KeysError) return new DiscoveryError("other", error.message);
  if (error instanceof InvalidJson) return new DiscoveryError("other", error.message);
  if (error instanceof Unreachable) return new DiscoveryError("other", error.message);
  return error;
}

function parseSize(text: string): number | undefined {
  if (!/^[0-9]{1,9}$/.test(text)) return undefined;
  return Number(text);
}

function base(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

/** `name=url,...` of the registrations; each must parse and each name appear once. */
function nodesToCluster(nodes: readonly KeysNode[], size: number): string {
  const text = nodes.map((n) => n.value ?? "").join(",");
  const parsed = parseInitialCluster(text);
  if (!parsed.ok) throw new DiscoveryError("invalidUrl");
  if (parsed.value.size !== size) throw new DiscoveryError("duplicateName");
  return text;
}

/**
 * Registers member `id` (hex) with `config` (`name=peerURL,...`) and waits for the cluster:
 * its `--initial-cluster` text. `DiscoveryError` when the token cannot bootstrap it.
 */
export function joinCluster(o: DiscoveryOptions, id: string, config: string): Promise<string> {
  return new Discovery(o, id).join(config);
}

/** The cluster a proxy forwards to: the first `size` registrations, once there are that many. */
export function getCluster(o: DiscoveryOptions): Promise<string> {
  return new Discovery(o, "").get();
}
