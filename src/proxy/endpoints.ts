/**
 * The proxy's view of where to send requests (etcd's httpproxy director): the members' client
 * URLs, shuffled at each refresh so that proxies spread over the members; an endpoint that
 * failed is skipped for the failure wait, then tried again.
 */

export interface Endpoint {
  readonly url: string;
  /** When it may be tried again after a failure (ms, monotonic); 0 when available. */
  unavailableUntil: number;
  /** When it last answered (ms, monotonic; 0: never): a recent answer means a live connection. */
  answeredAt: number;
}

export interface EndpointClock {
  now(): number;
}

export class Endpoints {
  private list: Endpoint[] = [];

  constructor(
    private readonly failureWaitMs: number,
    private readonly clock: EndpointClock,
    private readonly random: () => number = Math.random,
  ) {}

  /** Replaces the list (a refresh); every endpoint starts available, as etcd's do. */
  replace(urls: readonly string[]): void {
    const answered = new Map(this.list.map((e) => [e.url, e.answeredAt]));
    const fresh = urls.map((url) => ({
      url,
      unavailableUntil: 0,
      answeredAt: answered.get(url) ?? 0,
    }));
    // Fisher-Yates, so each member is as likely to come first.
    for (let i = fresh.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const a = fresh[i] as Endpoint;
      fresh[i] = fresh[j] as Endpoint;
      fresh[j] = a;
    }
    this.list = fresh;
  }

  /** The endpoints to try now, in order. */
  available(): Endpoint[] {
    const now = this.clock.now();
    return this.list.filter((e) => e.unavailableUntil <= now);
  }

  /** Whether any endpoint is known at all (available or waiting). */
  get known(): number {
    return this.list.length;
  }

  /** `endpoint` answered a request. */
  answered(endpoint: Endpoint): void {
    endpoint.answeredAt = this.clock.now();
  }

  /** A request to `endpoint` failed: skip it for the failure wait. */
  failed(endpoint: Endpoint): boolean {
    const now = this.clock.now();
    if (endpoint.unavailableUntil > now) return false;
    endpoint.unavailableUntil = now + this.failureWaitMs;
    return true;
  }
}
