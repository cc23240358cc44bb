/**
 * Certificate rotation without a restart, as etcd has it (it reads the files at every
 * handshake): a TLS listener whose certificate, key, CA or CRL files change takes new
 * connections with the new contents. Bun cannot change a running server's certificate, so the
 * listener is bound with SO_REUSEPORT and a new server takes the port over; the old one stops
 * accepting and keeps serving the connections it has (watches, peer streams) until they end.
 * Files that cannot be used (a key that does not match yet) leave the current server in place.
 */
import type { Server } from "bun";
import { AssertionError } from "../util/assert.ts";
import type { BoundListener, ListenTarget } from "./listen.ts";
import { fileFingerprint, serverTls, type TlsFiles } from "./tls.ts";

export type ServerTls = ReturnType<typeof serverTls>;

export interface RotationOptions {
  readonly files: TlsFiles;
  /** A new server on the same port with these TLS options (bound with reusePort). */
  readonly rebind: (tls: ServerTls, port: number) => Server<unknown>;
  readonly log: (line: string) => void;
  readonly pollMs?: number;
}

/** Wraps a bound TLS listener so that changed files take effect for new connections. */
export function rotating(
  bound: BoundListener & { readonly target: ListenTarget },
  options: RotationOptions,
): BoundListener {
  let current = bound.server;
  const draining = new Set<Server<unknown>>();
  let seen = fileFingerprint(options.files);
  let refused = "";
  const port = current.port ?? 0;
  const check = () => {
    const now = fileFingerprint(options.files);
    if (now === seen || now === refused) return;
    let next: Server<unknown>;
    try {
      next = options.rebind(serverTls(options.files), port);
    } catch (error) {
      // A broken invariant ends the process, never a skipped rotation.
      if (error instanceof AssertionError) throw error;
      // Half-written files, or a key that does not match the certificate yet: try again when
      // they change again.
      refused = now;
      const why = error instanceof Error ? error.message : String(error);
      options.log(
        `TLS files for ${bound.url} changed but cannot be used (${why}); keeping the current ones`,
      );
      return;
    }
    seen = now;
    const old = current;
    current = next;
    draining.add(old);
    void old.stop(false).then(() => draining.delete(old));
    options.log(`TLS files for ${bound.url} changed: new connections use them`);
  };
  const timer = setInterval(check, options.pollMs ?? 1000);
  timer.unref();
  return {
    url: bound.url,
    get server() {
      return current;
    },
    stop: async (force) => {
      clearInterval(timer);
      await Promise.all([current, ...draining].map((s) => s.stop(force)));
    },
  };
}
