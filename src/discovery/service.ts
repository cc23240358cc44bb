/**
 * The discovery-server role (`etcd-bun discovery`): discovery.etcd.io's API on `--addr`, its
 * tokens in `--etcd` or, without it, in an embedded etcd-bun member of its own (started by the
 * caller, so that this room needs nothing from the member's).
 */

import type { Server } from "bun";
import type { DiscoveryServerConfig } from "../config/config.ts";
import { type BoundListener, bindOne } from "../net/listen.ts";
import { waitsForChange } from "../util/go-bool.ts";
import { discoveryService } from "./service-app.ts";

type Log = (line: string) => void;

/** A store the service keeps its tokens in, run by this process. */
export interface EmbeddedStore {
  /** Its client URL. */
  readonly url: string;
  stop(): Promise<void>;
}

export type StartEmbeddedStore = (dataDir: string, log: Log) => Promise<EmbeddedStore>;

export interface RunningService {
  /** The URL the service answers on (port 0 resolved). */
  readonly url: string;
  /** The store's client URL. */
  readonly storeUrl: string;
  stop(): Promise<void>;
}

/** `[host]:port` (Go's listen address) as a URL; no host means every address. */
export function listenUrlOf(addr: string): string {
  const colon = addr.lastIndexOf(":");
  const host = addr.slice(0, colon);
  return `http://${host === "" ? "0.0.0.0" : host}:${addr.slice(colon + 1)}`;
}

export async function startDiscoveryService(
  config: DiscoveryServerConfig,
  startStore: StartEmbeddedStore,
  log: Log,
): Promise<RunningService> {
  const embedded = config.etcdUrl === undefined ? await startStore(config.dataDir, log) : undefined;
  const storeUrl = config.etcdUrl ?? (embedded?.url as string);
  const service = discoveryService({
    storeUrl,
    hostPrefix: config.hostPrefix,
    tokenTtlS: config.tokenTtlS,
  });
  let bound: BoundListener;
  try {
    bound = await bindOne(listenUrlOf(config.listenAddr), (t) =>
      Bun.serve({
        hostname: t.kind === "tcp" ? t.hostname : "",
        port: t.kind === "tcp" ? t.port : 0,
        fetch(request: Request, server: Server<unknown>) {
          // A token watch (`?wait=true`) waits as long as the store does.
          if (waitsForChange(request.url)) server.timeout(request, 0);
          return service.handle(request);
        },
      }),
    );
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  log(
    `discovery service on ${bound.url}, tokens ${config.hostPrefix}/<token>, stored in ${embedded === undefined ? storeUrl : `an embedded member (data dir ${config.dataDir})`}`,
  );
  return {
    url: bound.url,
    storeUrl,
    stop: async () => {
      await bound.server.stop(true);
      await embedded?.stop();
    },
  };
}

/** How long a signalled service may take to stop before it exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

/** Runs the role until SIGINT/SIGTERM (exit 0); one line and exit 1 if it cannot start. */
export async function runDiscoveryService(
  config: DiscoveryServerConfig,
  startStore: StartEmbeddedStore,
): Promise<void> {
  const log: Log = (line) => console.error(`etcd-bun: ${line}`);
  const fail = (error: unknown) => {
    console.error(`etcd-bun: fatal: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  };
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
  let running: RunningService;
  try {
    running = await startDiscoveryService(config, startStore, log);
  } catch (error) {
    console.error(
      `etcd-bun: cannot start the discovery service: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
  const shutdown = async (signal: string) => {
    log(`received ${signal}, shutting down`);
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
    await running.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}
