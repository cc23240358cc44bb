/**
 * The discovery service's request counters under discovery.etcd.io's names
 * (`endpoint_{new,token,health}_requests_total{code,method}`), in Prometheus' text format.
 */

const HELP = {
  new: "How many /new requests processed, partitioned by status code and HTTP method.",
  token: "How many /token requests processed, partitioned by status code and HTTP method.",
  health: "How many /health requests processed, partitioned by status code and HTTP method.",
} as const;

export type Endpoint = keyof typeof HELP;

export interface ServiceMetrics {
  count(endpoint: Endpoint, method: string, status: number): void;
  render(): string;
}

export function serviceMetrics(): ServiceMetrics {
  const counts = new Map<string, number>();
  const keyOf = (endpoint: Endpoint, method: string, status: number) =>
    `${endpoint}\n${status}\n${method}`;
  return {
    count(endpoint, method, status) {
      const key = keyOf(endpoint, method, status);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
    render() {
      const lines: string[] = [];
      for (const endpoint of Object.keys(HELP) as Endpoint[]) {
        const name = `endpoint_${endpoint}_requests_total`;
        lines.push(`# HELP ${name} ${HELP[endpoint]}`, `# TYPE ${name} counter`);
        const rows = [...counts]
          .map(([key, n]) => [key.split("\n"), n] as const)
          .filter(([[e]]) => e === endpoint)
          .sort(([a], [b]) => a.join().localeCompare(b.join()));
        for (const [[, code, method], n] of rows) {
          lines.push(`${name}{code="${code}",method="${method}"} ${n}`);
        }
      }
      return `${lines.join("\n")}\n`;
    },
  };
}
