/**
 * Whether a `fetch` failure is the network's (refused, reset, timed out, aborted) rather than a
 * bug here: Bun's fetch rejects with a TypeError carrying a string `code` (ECONNREFUSED,
 * ECONNRESET, ...) or a TimeoutError / AbortError DOMException.
 */
export function isTransportError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === "TimeoutError" ||
    error.name === "AbortError" ||
    typeof (error as { code?: unknown }).code === "string"
  );
}
