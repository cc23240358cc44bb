/**
 * A small authoritative DNS server over UDP for tests: SRV and A records from a map, NXDOMAIN
 * for any other name. Enough for resolvers (c-ares in Bun, Go's in etcd) to do real lookups.
 */

export interface SrvRecord {
  readonly priority?: number;
  readonly weight?: number;
  readonly port: number;
  readonly target: string;
}

export interface Zone {
  /** `_etcd-server._tcp.example.test` → its SRV records. */
  readonly srv: Readonly<Record<string, readonly SrvRecord[]>>;
  /** `m0.example.test` → an IPv4 address. */
  readonly a: Readonly<Record<string, string>>;
}

const TYPE_A = 1;
const TYPE_SRV = 33;
const CLASS_IN = 1;
const TTL_S = 5;

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.replace(/\.$/, "").split(".")) {
    if (label === "") continue;
    const bytes = new TextEncoder().encode(label);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

/** The question's name, type and where it ends. */
function readQuestion(msg: Uint8Array): { name: string; type: number; end: number } | undefined {
  let at = 12;
  const labels: string[] = [];
  while (at < msg.length) {
    const len = msg[at] ?? 0;
    if (len === 0) break;
    if (len >= 0xc0) return undefined;
    labels.push(new TextDecoder().decode(msg.subarray(at + 1, at + 1 + len)));
    at += 1 + len;
  }
  if (at + 5 > msg.length) return undefined;
  const type = ((msg[at + 1] ?? 0) << 8) | (msg[at + 2] ?? 0);
  return { name: labels.join(".").toLowerCase(), type, end: at + 5 };
}

const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

function answer(query: Uint8Array, zone: Zone): Uint8Array | undefined {
  const q = readQuestion(query);
  if (q === undefined) return undefined;
  const records: number[][] = [];
  const known = q.name in zone.srv || q.name in zone.a;
  if (q.type === TYPE_SRV) {
    for (const r of zone.srv[q.name] ?? []) {
      const target = encodeName(r.target);
      const rdata = [...u16(r.priority ?? 0), ...u16(r.weight ?? 0), ...u16(r.port), ...target];
      records.push([
        0xc0,
        12,
        ...u16(TYPE_SRV),
        ...u16(CLASS_IN),
        ...u32(TTL_S),
        ...u16(rdata.length),
        ...rdata,
      ]);
    }
  } else if (q.type === TYPE_A) {
    const ip = zone.a[q.name];
    if (ip !== undefined) {
      const rdata = ip.split(".").map(Number);
      records.push([
        0xc0,
        12,
        ...u16(TYPE_A),
        ...u16(CLASS_IN),
        ...u32(TTL_S),
        ...u16(4),
        ...rdata,
      ]);
    }
  }
  const header = [
    query[0] ?? 0,
    query[1] ?? 0,
    // Response, authoritative, recursion desired copied; recursion available; NXDOMAIN if unknown.
    0x84 | ((query[2] ?? 0) & 0x01),
    0x80 | (known ? 0 : 3),
    ...u16(1),
    ...u16(records.length),
    ...u16(0),
    ...u16(0),
  ];
  return new Uint8Array([...header, ...query.subarray(12, q.end), ...records.flat()]);
}

/** Serves `zone` on UDP `hostname:port` until stopped. */
export async function startDnsServer(zone: Zone, hostname = "127.0.0.1", port = 53) {
  const socket = await Bun.udpSocket({
    hostname,
    port,
    socket: {
      data(s, data, remotePort, remoteAddress) {
        const reply = answer(new Uint8Array(data), zone);
        if (reply !== undefined) s.send(reply, remotePort, remoteAddress);
      },
    },
  });
  return { port: socket.port, stop: () => socket.close() };
}
