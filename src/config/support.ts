/**
 * What etcd-bun does with each etcd 3.4 flag it knows but does not (yet) act on: `v3-only`
 * flags concern only etcd's v3 API and are accepted with one warning; `refused` flags would
 * change behaviour we do not have, so giving one (with a value other than its default) stops
 * the start with one line saying why. Every other flag in the table
 * works as in etcd. Data only.
 */

export type FlagSupport =
  | { readonly status: "v3-only" }
  | { readonly status: "refused"; readonly reason: string };

const PROXY_WRITE = "no per-write deadline toward the members; --proxy-read-timeout bounds answers";
const PPROF =
  "Go's pprof profiles have no Bun equivalent; /metrics and /debug/vars show the runtime";

const V3_ONLY = [
  "auth-token",
  "auth-token-ttl",
  "auto-compaction-mode",
  "auto-compaction-retention",
  "backend-batch-interval",
  "backend-batch-limit",
  "bcrypt-cost",
  "experimental-backend-bbolt-freelist-type",
  "experimental-compaction-batch-limit",
  "experimental-corrupt-check-time",
  "experimental-enable-lease-checkpoint",
  "experimental-enable-v2v3",
  "experimental-initial-corrupt-check",
  "experimental-warning-apply-duration",
  "experimental-watch-progress-notify-interval",
  "grpc-keepalive-interval",
  "grpc-keepalive-min-time",
  "grpc-keepalive-timeout",
  "max-concurrent-streams",
  // etcd 3.4 bounds only gRPC requests with it; v2 forms have Go's 10 MiB limit (measured).
  "max-request-bytes",
  "max-txn-ops",
  // "extensive" adds only gRPC histograms (etcd 3.4 takes any other value as "basic").
  "metrics",
  "quota-backend-bytes",
] as const;

const REFUSED: Readonly<Record<string, string>> = {
  "proxy-write-timeout": PROXY_WRITE,
  "enable-pprof": PPROF,
  "enable-v2": "etcd-bun serves the v2 API only; without it there would be nothing to serve",
};

/** How a flag is supported; undefined means it works as in etcd. */
export function flagSupport(name: string): FlagSupport | undefined {
  const reason = REFUSED[name];
  if (reason !== undefined) return { status: "refused", reason };
  if ((V3_ONLY as readonly string[]).includes(name)) return { status: "v3-only" };
  return undefined;
}
