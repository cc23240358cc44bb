/** Prometheus client_golang's ExponentialBuckets(start, factor, count): etcd's histogram bounds. */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}
