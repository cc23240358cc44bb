/**
 * Sequential GETs (one at a time, keep-alive) against each URL given, two rounds: p50 and p99
 * of each. For the added latency of a proxy hop: a member directly, then proxies in front of it.
 *   bun bench/seq-get.ts http://member:2379 http://proxy:2379 ...   (keys bench/k0..k999 must exist)
 */
const urls = process.argv.slice(2);
const REQUESTS = 3000;
for (let round = 0; round < 2; round++) {
  for (const url of urls) {
    const latencies: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const started = performance.now();
      const res = await fetch(`${url}/v2/keys/bench/k${i % 1000}`);
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) => (latencies[Math.floor(REQUESTS * q)] ?? 0).toFixed(3);
    console.log(`${url} p50 ${at(0.5)} ms p99 ${at(0.99)} ms`);
  }
}

export {};
