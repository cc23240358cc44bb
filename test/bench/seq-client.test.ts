import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  completeResponseLength,
  runSequential,
  seqResult,
  statusOf,
} from "../../bench/seq-client.ts";
import { startTestMember, type TestMember } from "../support/in-process.ts";

const ok = (body: string, extra = "") =>
  `HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

describe("seq-client response framing", () => {
  test("a Content-Length response is complete only with its whole body", () => {
    const full = Buffer.from(ok('{"action":"set"}'));
    expect(completeResponseLength(full)).toBe(full.length);
    expect(completeResponseLength(full.subarray(0, full.length - 1))).toBe(0);
    expect(completeResponseLength(full.subarray(0, 20))).toBe(0);
    expect(statusOf(full)).toBe(201);
  });

  test("two pipelined answers: the first one's length is reported", () => {
    const first = ok("{}");
    expect(completeResponseLength(Buffer.from(first + ok('{"x":1}')))).toBe(first.length);
  });

  test("a chunked response ends at its last chunk, and header names are case-insensitive", () => {
    const head = "HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: chunked\r\n\r\n";
    const partial = `${head}5\r\nhello\r\n`;
    expect(completeResponseLength(Buffer.from(partial))).toBe(0);
    const full = `${partial}0\r\n\r\n`;
    expect(completeResponseLength(Buffer.from(full))).toBe(full.length);
  });

  test("percentiles come from the recorded latencies", () => {
    const latencies = Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000);
    const r = seqResult(latencies, 2, 1000);
    expect(r.requests).toBe(1000);
    // Nearest rank (bench/stats.ts), as the watch figures use.
    expect(r.p50Us).toBe(500);
    expect(r.p99Us).toBe(990);
    expect(r.maxUs).toBe(1000);
    expect(r.errors).toBe(2);
  });
});

describe("seq-client against a member", () => {
  let m: TestMember;
  beforeAll(async () => {
    m = await startTestMember();
  });
  afterAll(async () => {
    await m.stop();
  });

  test("one request at a time: latencies add up to no more than the run", async () => {
    const r = await runSequential({
      mode: "seq",
      url: m.url,
      prefix: "/v2/keys/seq/",
      keys: 5,
      valueBytes: 256,
      durationMs: 300,
    });
    expect(r.errors).toBe(0);
    expect(r.requests).toBeGreaterThan(10);
    expect(r.meanUs * r.requests).toBeLessThanOrEqual(r.durationUs);
    expect(r.p50Us).toBeLessThanOrEqual(r.p99Us);
    const res = await fetch(`${m.url}/v2/keys/seq/k1`);
    const body = (await res.json()) as { node: { value: string } };
    expect(body.node.value).toBe("v".repeat(256));
  });
});
