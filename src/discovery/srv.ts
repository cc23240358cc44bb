/**
 * DNS SRV bootstrap (`--discovery-srv <domain>`): the cluster's peers from the records
 * `_etcd-server-ssl._tcp.<domain>` (https) and `_etcd-server._tcp.<domain>` (http), each target
 * resolved and compared with this member's advertised peer URLs to find itself; the others are
 * named 0, 1, ... as etcd names them. Both record sets are asked and their peers combined; the
 * bootstrap fails only when neither gives one (etcd 3.5's rule: 3.4 fails whenever the `-ssl`
 * set is missing, and drops the http peers).
 */
import * as dns from "node:dns/promises";

export interface SrvRecord {
  readonly name: string;
  readonly port: number;
}

export interface Resolver {
  resolveSrv(name: string): Promise<SrvRecord[]>;
  /** The first address of `host` (IPv4 preferred, as Go's resolver for "tcp"). */
  lookup(host: string): Promise<string>;
  /** The name server asked, for messages (`127.0.0.1:53`). */
  server(): string;
}

export const systemResolver: Resolver = {
  resolveSrv: (name) => dns.resolveSrv(name),
  async lookup(host) {
    const all = await dns.lookup(host, { all: true });
    const v4 = all.find((a) => a.family === 4);
    const first = v4 ?? all[0];
    if (first === undefined)
      throw Object.assign(new Error(`lookup ${host}: no such host`), { code: "ENOTFOUND" });
    return first.address;
  },
  server() {
    const s = dns.getServers()[0] ?? "";
    return s.includes(":") && !s.startsWith("[") && s.split(":").length > 2
      ? `[${s}]:53`
      : `${s}:53`;
  },
};

export interface SrvQuery {
  readonly domain: string;
  /** `--discovery-srv-name`: records `_etcd-server-<name>._tcp` instead. */
  readonly serviceName: string;
  /** This member's name, or "" for a proxy (it is not among the peers). */
  readonly name: string;
  /** This member's advertised peer URLs (to find itself among the targets). */
  readonly advertisePeerUrls: readonly string[];
}

export class SrvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SrvError";
  }
}

/** `name=url,...` of the cluster the records describe (the `--initial-cluster` it stands for). */
export async function srvCluster(
  q: SrvQuery,
  resolver: Resolver = systemResolver,
): Promise<string> {
  const suffix = q.serviceName === "" ? "" : `-${q.serviceName}`;
  const self = new Map<string, URL>();
  for (const raw of q.advertisePeerUrls) {
    const u = new URL(raw);
    self.set(await hostPort(resolver, u.hostname, portOf(u)), u);
  }
  const counter = { next: 0 };
  const errors: string[] = [];
  const entries: string[] = [];
  for (const [service, scheme] of [
    [`etcd-server-ssl${suffix}`, "https"],
    [`etcd-server${suffix}`, "http"],
  ] as const) {
    try {
      entries.push(...(await peersOf(resolver, q, service, scheme, self, counter)));
    } catch (error) {
      if (!(error instanceof SrvError)) throw error;
      errors.push(error.message);
    }
  }
  if (entries.length === 0) throw new SrvError(errors.join("; "));
  return entries.join(",");
}

async function peersOf(
  resolver: Resolver,
  q: SrvQuery,
  service: string,
  scheme: "http" | "https",
  self: ReadonlyMap<string, URL>,
  counter: { next: number },
): Promise<string[]> {
  const fqdn = `_${service}._tcp.${q.domain}`;
  let records: SrvRecord[];
  try {
    records = await resolver.resolveSrv(fqdn);
  } catch (error) {
    if (!isDnsError(error)) throw error;
    throw new SrvError(
      `error querying DNS SRV records for _${service} lookup ${fqdn} on ${resolver.server()}: ${dnsReason(error)}`,
    );
  }
  const found: string[] = [];
  let last = "";
  for (const r of records) {
    const target = r.name.replace(/\.$/, "");
    let resolved: string;
    try {
      resolved = await hostPort(resolver, target, r.port);
    } catch (error) {
      if (!isDnsError(error)) throw error;
      last = `lookup ${target}: ${dnsReason(error)}`;
      continue;
    }
    const url = `${scheme}://${target.includes(":") ? `[${target}]` : target}:${r.port}`;
    const mine = q.name === "" ? undefined : self.get(resolved);
    if (mine !== undefined && mine.protocol !== `${scheme}:`) {
      last = `bootstrap at ${url} from DNS for ${service} has scheme mismatch with expected peer ${mine.href.replace(/\/$/, "")}`;
      continue;
    }
    const name = mine !== undefined ? q.name : String(counter.next++);
    found.push(`${name}=${url}`);
  }
  if (found.length === 0) {
    throw new SrvError(`error querying DNS SRV records for _${service} ${last}`);
  }
  return found;
}

function portOf(u: URL): number {
  if (u.port !== "") return Number(u.port);
  return u.protocol === "https:" ? 443 : 80;
}

/** `ip:port` as Go prints a resolved TCP address. */
async function hostPort(resolver: Resolver, host: string, port: number): Promise<string> {
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  const ip = isIp(bare) ? bare : await resolver.lookup(bare);
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function isIp(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(":");
}

/** A failed lookup (the resolver's errors carry a code); anything else is a bug here. */
function isDnsError(error: unknown): boolean {
  return typeof (error as { code?: unknown } | null)?.code === "string";
}

/** Go's words for a failed lookup. */
function dnsReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOTFOUND" || code === "ENODATA" || code === "NOTFOUND") return "no such host";
  if (code === "ETIMEOUT" || code === "TIMEOUT") return "i/o timeout";
  if (code === "ECONNREFUSED" || code === "CONNREFUSED") return "connection refused";
  return error instanceof Error ? error.message : String(error);
}
