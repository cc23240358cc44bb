/**
 * The proxy's Prometheus metrics with etcd 3.4's proxy names (`etcd_proxy_*`), plus the
 * process_* and runtime metrics, served at the proxy's own `/metrics` as etcd's proxy does.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import { exponentialBuckets } from "../util/buckets.ts";
import { exposition } from "../util/exposition.ts";

/** Why the proxy answered a request itself (etcd's `proxying_error` label). */
export type ProxyingError = "zero_endpoints" | "failed_getting_response";

export interface ProxyMetrics {
  incoming(method: string): void;
  /** A request the members answered, with their status code. */
  handled(method: string, code: number, seconds: number): void;
  dropped(method: string, why: ProxyingError): void;
  /** `/metrics`: the exposition text. */
  scrape(): Promise<Response>;
}

export function proxyMetrics(): ProxyMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const incoming = new Counter({
    name: "etcd_proxy_requests_total",
    help: "Counter requests incoming by method.",
    labelNames: ["method"],
    registers,
  });
  const handled = new Counter({
    name: "etcd_proxy_handled_total",
    help: "Counter of requests fully handled (by authoratitave servers)",
    labelNames: ["method", "code"],
    registers,
  });
  const dropped = new Counter({
    name: "etcd_proxy_dropped_total",
    help: "Counter of requests dropped on the proxy.",
    labelNames: ["method", "proxying_error"],
    registers,
  });
  const duration = new Histogram({
    name: "etcd_proxy_handling_duration_seconds",
    help: "Bucketed histogram of handling time of successful events (non-watches), by method (GET/PUT etc.).",
    labelNames: ["method"],
    buckets: exponentialBuckets(0.0005, 2, 13),
    registers,
  });
  return {
    incoming: (method) => incoming.inc({ method }),
    handled: (method, code, seconds) => {
      handled.inc({ method, code: String(code) });
      duration.observe({ method }, seconds);
    },
    dropped: (method, why) => dropped.inc({ method, proxying_error: why }),
    scrape: () => exposition(registry),
  };
}
