/**
 * Where a watch relayed through the proxy stands, so that it can go on at another member when
 * its member goes away: the index its next event will have at the least. That is the client's
 * own `waitIndex`, or one past the index the member named in `X-Etcd-Index` when the client
 * gave none (the watch counts from there), or one past the last event relayed (a stream).
 * Another member asked from that index gives what this one would have: the same events in the
 * same order, or etcd's 401 "event index cleared" when they left its history, which the client
 * then gets by watching again, as it would from a member that went away.
 */
export class WatchPosition {
  private next: number | undefined;
  /** Relayed bytes not yet a whole event (a stream), or any event bytes at all (a long poll). */
  private unread = "";
  /** Something was relayed that names no index: the client's place is no longer known. */
  private lost = false;
  private readonly text = new TextDecoder();

  constructor(
    private readonly target: URL,
    indexHeader: string | null,
  ) {
    // waitIndex=0 is no index at all, to etcd.
    const start = positive(indexHeader);
    this.next =
      positive(target.searchParams.get("waitIndex")) ??
      (start === undefined ? undefined : start + 1);
  }

  private get stream(): boolean {
    return this.target.searchParams.get("stream") === "true";
  }

  /** A chunk was relayed to the client. */
  observe(chunk: Uint8Array): void {
    this.unread += this.text.decode(chunk, { stream: true });
    if (!this.stream) return;
    const lines = this.unread.split("\n");
    this.unread = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      const index = eventIndex(line);
      if (index === undefined) this.lost = true;
      else this.next = index + 1;
    }
  }

  /** The request that goes on from here, or undefined when the client must watch again itself. */
  resumePath(): string | undefined {
    if (this.lost || this.next === undefined || this.unread.trim() !== "") return undefined;
    const query = new URLSearchParams(this.target.search);
    query.set("waitIndex", String(this.next));
    return `${this.target.pathname}?${query}`;
  }
}

/** An event's index: its node's modifiedIndex (for deletes and expiries too). */
function eventIndex(line: string): number | undefined {
  try {
    const event = JSON.parse(line) as { node?: { modifiedIndex?: unknown } };
    const index = event.node?.modifiedIndex;
    return typeof index === "number" && Number.isSafeInteger(index) && index > 0
      ? index
      : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function positive(text: string | null): number | undefined {
  if (text === null || !/^[0-9]{1,15}$/.test(text)) return undefined;
  const n = Number(text);
  return n > 0 ? n : undefined;
}
