/**
 * Crash safety: a child process appends batches and reports each acknowledged index; it is
 * SIGKILLed at a random moment. Reopening must find every acknowledged entry, intact, and the
 * log must accept more writes (the next round reopens the same directory and crashes again).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as path from "node:path";
import { Wal } from "../../src/wal/index.ts";
import { crashEntry, makeTempDir, removeDir, SMALL_SEGMENT_BYTES } from "./helpers.ts";

const CHILD = path.join(import.meta.dir, "crash-child.ts");
/** Rounds per writer: each is a bun start-up (~0.1 s) plus up to a second of appends. */
const ROUNDS = 4;

/** Runs the child until it has acknowledged something, then kills it after a random delay. */
async function crashRound(dir: string, writer: string, seed: number): Promise<number> {
  const child = Bun.spawn({
    cmd: [process.execPath, CHILD, dir, writer, String(SMALL_SEGMENT_BYTES), String(seed)],
    stdout: "pipe",
    stderr: "inherit",
  });
  const killAfterMs = 50 + Math.floor(Math.random() * 400);
  let maxAck = 0;
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    text += decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    text = lines.pop() ?? "";
    for (const line of lines) {
      const [word, n] = line.split(" ");
      if (word === "ack") maxAck = Math.max(maxAck, Number(n));
      if (word === "start" && timer === undefined) {
        timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      }
    }
  }
  const code = await child.exited;
  expect(child.signalCode).toBe("SIGKILL");
  expect(code).not.toBe(0);
  return maxAck;
}

describe.each(["mmap", "pwrite"])("crash safety (%s writer)", (writer) => {
  let root = "";
  beforeAll(() => {
    root = makeTempDir("walcrash");
  });
  afterAll(() => removeDir(root));

  test("every acknowledged entry survives SIGKILL, round after round", async () => {
    const dir = path.join(root, "wal");
    let acked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const maxAck = await crashRound(dir, writer, round * 7919 + 17);
      expect(maxAck).toBeGreaterThanOrEqual(acked);
      acked = maxAck;
      const r = await Wal.open(dir, undefined, {
        segmentSizeBytes: SMALL_SEGMENT_BYTES,
        log: () => {},
      });
      expect(r.entries.length).toBeGreaterThanOrEqual(acked);
      for (const e of r.entries) expect(e).toEqual(crashEntry(e.index));
      expect(r.entries.map((e) => e.index)).toEqual(r.entries.map((_, i) => i + 1));
      expect(r.hardState.commit).toBeGreaterThanOrEqual(acked);
      await r.wal.close();
    }
    expect(acked).toBeGreaterThan(0);
  }, 30_000);
});
