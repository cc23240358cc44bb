/** A prom-client registry's metrics as a `/metrics` response (the Prometheus text format). */
import type { Registry } from "prom-client";

export async function exposition(registry: Registry): Promise<Response> {
  const text = await registry.metrics();
  return new Response(text, { headers: { "Content-Type": registry.contentType } });
}
