/**
 * A TLS listener that looks at the client's certificate before anything is served: etcd's
 * `--peer-cert-allowed-cn`, `--peer-cert-allowed-hostname` and `--client-cert-allowed-hostname`.
 * Bun's HTTP server does not show a handler the peer certificate, so the public port is a TLS
 * socket listener (which does) and each admitted connection is relayed, bytes as they are, to
 * the plain HTTP server behind it on a unix socket in a private (0700) directory. A certificate
 * that is not admitted ends the connection right after the handshake; nothing reaches the
 * server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import type { Socket, TCPSocketListener } from "bun";
import type { ServerTls } from "./tls-rotation.ts";

/** Who may connect: a CN, or a host name/IP the certificate's SANs must name (Go's rules). */
export interface CertificateRule {
  readonly allowedCn: string;
  readonly allowedHostname: string;
}

export function admits(rule: CertificateRule, cert: PeerCertificate | undefined): boolean {
  if (cert === undefined || cert.subject === undefined) return false;
  if (rule.allowedCn !== "" && cert.subject.CN !== rule.allowedCn) return false;
  if (rule.allowedHostname !== "" && checkServerIdentity(rule.allowedHostname, cert) !== undefined)
    return false;
  return true;
}

/** Bytes to one side of the relay, kept in order while the other side is not ready. */
class Outbox {
  private socket: Socket<unknown> | undefined;
  private readonly queue: Uint8Array[] = [];
  private ending = false;

  attach(socket: Socket<unknown>): void {
    this.socket = socket;
    this.flush();
  }

  push(data: Uint8Array): void {
    // Copied: the runtime reuses its read buffer once the callback returns.
    this.queue.push(new Uint8Array(data));
    this.flush();
  }

  end(): void {
    this.ending = true;
    this.flush();
  }

  /** Writes what the socket takes now; the rest waits for its drain. */
  flush(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Uint8Array;
      const written = socket.write(next);
      if (written < next.length) {
        this.queue[0] = next.subarray(Math.max(written, 0));
        return;
      }
      this.queue.shift();
    }
    if (this.ending) socket.end();
  }
}

interface Relay {
  /** Toward the server behind the gate. */
  readonly inward: Outbox;
  /** Toward the client. */
  readonly outward: Outbox;
  upstream: Socket<unknown> | undefined;
}

export interface TlsGate {
  readonly port: number;
  /** Where the server behind the gate must listen. */
  readonly unixPath: string;
  stop(): void;
}

/**
 * Listens on `hostname:port` with `tls` (which must ask for a client certificate) and relays
 * admitted connections to `unixPath` (serve the HTTP server there).
 */
export function startTlsGate(options: {
  readonly hostname: string;
  readonly port: number;
  readonly tls: ServerTls;
  readonly rule: CertificateRule;
  readonly log: (line: string) => void;
}): TlsGate {
  const dir = mkdtempSync(join(tmpdir(), "etcd-bun-gate-"));
  const unixPath = join(dir, "server.sock");
  const relays = new WeakMap<Socket<unknown>, Relay>();
  const connectInward = async (client: Socket<unknown>, relay: Relay) => {
    try {
      relay.upstream = await Bun.connect({
        unix: unixPath,
        socket: {
          data: (_s, data) => relay.outward.push(data),
          drain: () => relay.inward.flush(),
          close: () => relay.outward.end(),
          error: () => relay.outward.end(),
        },
      });
      relay.inward.attach(relay.upstream as Socket<unknown>);
    } catch {
      client.end();
    }
  };
  const listener: TCPSocketListener<unknown> = Bun.listen<unknown>({
    hostname: options.hostname,
    port: options.port,
    tls: options.tls,
    socket: {
      open: (client) => {
        const relay: Relay = { inward: new Outbox(), outward: new Outbox(), upstream: undefined };
        relay.outward.attach(client);
        relays.set(client, relay);
      },
      handshake: (client, success) => {
        const relay = relays.get(client);
        if (!success || relay === undefined || !admits(options.rule, client.getPeerCertificate())) {
          client.end();
          return;
        }
        void connectInward(client, relay);
      },
      data: (client, data) => relays.get(client)?.inward.push(data),
      drain: (client) => relays.get(client)?.outward.flush(),
      close: (client) => relays.get(client)?.inward.end(),
      error: (client) => relays.get(client)?.inward.end(),
    },
  });
  return {
    port: listener.port,
    unixPath,
    stop: () => {
      listener.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
