/**
 * A TCP relay in front of a member's peer port, for partition tests. Members advertise the
 * relay's URL; the relay forwards bytes to the real peer listener. It reads the sender's member
 * id from the first request's `X-Server-From` header, so `block(ids)` can cut exactly the links
 * from those members (existing connections are closed, new ones refused) and `heal()` restores
 * them. Only 127.0.0.1.
 */
import type { Socket, TCPSocketListener } from "bun";

interface Pair {
  client: Socket<PairData>;
  upstream: Socket<UpstreamData> | undefined;
  from: string | undefined;
  buffered: Uint8Array[];
  /** Bytes a socket did not take yet (Bun's write may be partial), per direction. */
  toClient: Uint8Array[];
  toUpstream: Uint8Array[];
}

/** Writes what the socket takes now and queues the rest for its drain event. */
function send(socket: Socket<unknown>, queue: Uint8Array[], chunk: Uint8Array): void {
  if (queue.length > 0) {
    queue.push(chunk);
    return;
  }
  const written = socket.write(chunk);
  if (written < chunk.length) queue.push(chunk.subarray(Math.max(0, written)));
}

function drain(socket: Socket<unknown>, queue: Uint8Array[]): void {
  while (queue.length > 0) {
    const chunk = queue[0] as Uint8Array;
    const written = socket.write(chunk);
    if (written < chunk.length) {
      queue[0] = chunk.subarray(Math.max(0, written));
      return;
    }
    queue.shift();
  }
}
interface PairData {
  pair: Pair;
  head: string;
}
interface UpstreamData {
  pair: Pair;
}

/** How much of a request head is read before giving up on finding the sender header. */
const HEAD_BYTES_MAX = 16 * 1024;

export class PeerRelay {
  private listener: TCPSocketListener<PairData> | undefined;
  private readonly pairs = new Set<Pair>();
  private blocked = new Set<string>();

  /** The real peer port behind the relay; set before members dial it. */
  targetPort = 0;

  get port(): number {
    if (this.listener === undefined) throw new Error("relay not started");
    return this.listener.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(port = 0): this {
    const relay = this;
    this.listener = Bun.listen<PairData>({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(client) {
          const pair: Pair = {
            client,
            upstream: undefined,
            from: undefined,
            buffered: [],
            toClient: [],
            toUpstream: [],
          };
          client.data = { pair, head: "" };
          relay.pairs.add(pair);
        },
        data(client, chunk) {
          relay.onClientData(client, chunk);
        },
        drain(client) {
          drain(client, client.data.pair.toClient);
        },
        close(client) {
          relay.drop(client.data.pair);
        },
        error(client) {
          relay.drop(client.data.pair);
        },
      },
    });
    return this;
  }

  /** Cuts every link from the given member ids to this member. */
  block(ids: readonly string[]): void {
    this.blocked = new Set(ids);
    for (const pair of this.pairs)
      if (pair.from !== undefined && this.blocked.has(pair.from)) this.drop(pair);
  }

  heal(): void {
    this.blocked.clear();
  }

  stop(): void {
    for (const pair of this.pairs) this.drop(pair);
    this.listener?.stop(true);
  }

  private onClientData(client: Socket<PairData>, chunk: Uint8Array): void {
    const pair = client.data.pair;
    if (pair.upstream !== undefined && pair.from !== undefined) {
      send(pair.upstream, pair.toUpstream, chunk);
      return;
    }
    pair.buffered.push(chunk);
    if (pair.from === undefined) {
      client.data.head += new TextDecoder().decode(chunk);
      const end = client.data.head.indexOf("\r\n\r\n");
      if (end < 0 && client.data.head.length < HEAD_BYTES_MAX) return;
      const match = /\r\nx-server-from:\s*([0-9a-f]+)/i.exec(client.data.head);
      pair.from = match?.[1] ?? "";
      if (this.blocked.has(pair.from)) {
        this.drop(pair);
        return;
      }
      void this.connectUpstream(pair);
    }
  }

  private async connectUpstream(pair: Pair): Promise<void> {
    try {
      pair.upstream = await Bun.connect<UpstreamData>({
        hostname: "127.0.0.1",
        port: this.targetPort,
        data: { pair },
        socket: {
          data(_upstream, chunk) {
            send(pair.client, pair.toClient, chunk);
          },
          drain(upstream) {
            drain(upstream, pair.toUpstream);
          },
          close: () => this.drop(pair),
          error: () => this.drop(pair),
        },
      });
      const upstream = pair.upstream;
      for (const chunk of pair.buffered.splice(0)) send(upstream, pair.toUpstream, chunk);
    } catch {
      this.drop(pair);
    }
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.end();
    pair.upstream?.end();
  }
}
