/**
 * Keeps the proxy's endpoints fresh: every refresh interval it asks the members (on their peer
 * URLs) for the member list, takes their client URLs as endpoints, and keeps the peer URLs for
 * next time and in the cluster file. While no endpoint is known it asks every second (when the
 * interval is etcd's 30 s or longer, as etcd does). A failed refresh keeps the endpoints it had:
 * the members' client ports may well answer while their peer ports do not.
 */
import { writeClusterFile } from "./cluster-file.ts";
import { ClusterUnreachable, type FetchCluster } from "./cluster-source.ts";
import type { Endpoints } from "./endpoints.ts";

export interface RefresherOptions {
  readonly file: string;
  readonly peerUrls: string[];
  readonly endpoints: Endpoints;
  readonly fetchCluster: FetchCluster;
  readonly refreshIntervalMs: number;
  readonly log: (line: string) => void;
}

/** etcd's default refresh interval; at or above it, an empty list is retried every second. */
const DEFAULT_REFRESH_MS = 30_000;
const EMPTY_RETRY_MS = 1000;

export class Refresher {
  private peerUrls: string[];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private announced = false;
  private written: string | undefined;

  constructor(private readonly o: RefresherOptions) {
    this.peerUrls = [...o.peerUrls];
  }

  start(): void {
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One refresh, then the next one scheduled. */
  async refresh(): Promise<void> {
    try {
      const view = await this.o.fetchCluster(this.peerUrls);
      this.o.endpoints.replace(view.clientUrls);
      this.remember(view.peerUrls);
      if (!this.announced && view.clientUrls.length > 0) {
        this.announced = true;
        this.o.log(`proxy: endpoints found [${view.clientUrls.join(" ")}]`);
      }
    } catch (error) {
      if (!(error instanceof ClusterUnreachable)) throw error;
      this.o.log(`proxy: ${error.message}`);
    }
    if (this.stopped) return;
    const none = this.o.endpoints.known === 0;
    const wait =
      none && this.o.refreshIntervalMs >= DEFAULT_REFRESH_MS
        ? EMPTY_RETRY_MS
        : this.o.refreshIntervalMs;
    this.timer = setTimeout(() => void this.refresh(), wait);
  }

  /** Keeps the members' peer URLs for the next refresh and in the cluster file. */
  private remember(peerUrls: string[]): void {
    const text = peerUrls.join(",");
    if (text === this.written || peerUrls.length === 0) return;
    try {
      writeClusterFile(this.o.file, peerUrls);
    } catch (error) {
      // As etcd: the proxy goes on with the list in memory and writes it at the next refresh.
      if (typeof (error as { code?: unknown }).code !== "string") throw error;
      this.o.log(
        `proxy: warning: error on writing cluster file ${this.o.file}: ${(error as Error).message}`,
      );
      this.peerUrls = peerUrls;
      return;
    }
    if (this.written !== undefined || text !== this.peerUrls.join(",")) {
      this.o.log(
        `proxy: updated peer urls in cluster file from [${this.peerUrls.join(" ")}] to [${peerUrls.join(" ")}]`,
      );
    }
    this.written = text;
    this.peerUrls = peerUrls;
  }
}
