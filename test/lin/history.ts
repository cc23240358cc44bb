/**
 * Records a concurrent history for the linearizability checker (check.ts): each operation's
 * invocation time, response time and output, per client.
 *
 * The recorder only timestamps; it does not interpret inputs or outputs and must not judge
 * them. Times come from a monotonic clock (`performance.now()` unless one is injected), never
 * from the wall clock, which can step backwards.
 */

import { assert } from "../../src/util/assert.ts";

/** Fields common to every recorded operation. Times are milliseconds on the recorder's clock. */
interface OperationBase<I> {
  /** Dense id in invocation order: `[0, n)` over one recorder. */
  readonly id: number;
  /** The issuing client; informational (the checker does not require clients to be sequential). */
  readonly clientId: number;
  /** The partition (etcd key) the operation touches; "" when the input names none. */
  readonly key: string;
  readonly input: I;
  readonly callMs: number;
}

/** An operation whose response was received: it took effect once, in `[callMs, returnMs]`. */
export interface CompletedOperation<I, O> extends OperationBase<I> {
  readonly status: "ok";
  readonly output: O;
  readonly returnMs: number;
}

/**
 * An operation whose fate is unknown (timeout, connection lost): it may have taken effect at
 * any time after `callMs`, or never. `returnMs` is always `Infinity`.
 */
export interface UnknownOperation<I> extends OperationBase<I> {
  readonly status: "unknown";
  readonly returnMs: number;
}

export type Operation<I, O> = CompletedOperation<I, O> | UnknownOperation<I>;

/** Exactly one of these must be called, once. */
export interface OperationHandle<O> {
  /** The response arrived. Include "expected" failures (a 412 compare failure) as outputs. */
  ok(output: O): void;
  /** The request definitely did not take effect (e.g. refused before being proposed). */
  fail(): void;
  /** The request may or may not have taken effect (timeout, connection reset). */
  unknown(): void;
}

export interface RecorderOptions {
  /** Monotonic milliseconds; defaults to `performance.now`. Inject one for deterministic tests. */
  readonly now?: () => number;
}

type Pending<I> = OperationBase<I> & { resolved: boolean };

/**
 * Collects operations from concurrent clients. Operations never resolved by the time
 * `history()` is called are reported as unknown: a test that stops with requests in flight
 * cannot know whether they were applied.
 */
export class HistoryRecorder<I, O> {
  private readonly now: () => number;
  private readonly pending = new Map<number, Pending<I>>();
  private readonly done: Operation<I, O>[] = [];
  private nextId = 0;
  private failedCount = 0;

  constructor(options: RecorderOptions = {}) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Records the invocation now. `input.key`, if a string, names the partition. */
  invoke(clientId: number, input: I): OperationHandle<O> {
    const id = this.nextId++;
    const callMs = this.now();
    assert(Number.isFinite(callMs), `history: clock returned ${callMs}`);
    const op: Pending<I> = { id, clientId, key: keyOf(input), input, callMs, resolved: false };
    this.pending.set(id, op);
    const settle = (): number => {
      assert(!op.resolved, `history: operation ${id} resolved twice`);
      op.resolved = true;
      this.pending.delete(id);
      return this.now();
    };
    const base = (): OperationBase<I> => ({ id, clientId, key: op.key, input, callMs });
    return {
      ok: (output) => {
        const returnMs = settle();
        assert(returnMs >= callMs, `history: clock went backwards for operation ${id}`);
        this.done.push({ ...base(), status: "ok", output, returnMs });
      },
      fail: () => {
        settle();
        this.failedCount++;
      },
      unknown: () => {
        settle();
        this.done.push({ ...base(), status: "unknown", returnMs: Number.POSITIVE_INFINITY });
      },
    };
  }

  /** Operations that may have taken effect, in invocation order. Failed ones are omitted. */
  history(): Operation<I, O>[] {
    const inFlight: Operation<I, O>[] = [...this.pending.values()].map((p) => ({
      id: p.id,
      clientId: p.clientId,
      key: p.key,
      input: p.input,
      callMs: p.callMs,
      status: "unknown",
      returnMs: Number.POSITIVE_INFINITY,
    }));
    return [...this.done, ...inFlight].sort((a, b) => a.id - b.id);
  }

  /** How many operations were reported as definitely not applied. */
  failed(): number {
    return this.failedCount;
  }
}

function keyOf(input: unknown): string {
  if (typeof input !== "object" || input === null || !("key" in input)) return "";
  return typeof input.key === "string" ? input.key : "";
}
