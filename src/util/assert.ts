/**
 * Assertions for invariants. A failed assertion is a bug: it throws and is never caught,
 * so the process exits rather than running on with corrupt state.
 */
export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertNever(value: never, message = "unexpected value"): never {
  throw new AssertionError(`${message}: ${JSON.stringify(value)}`);
}
