/**
 * Replays a transcript recorded with curl against the real etcd 3.4.23 (`--enable-v2`, fresh
 * 1-member cluster) through parseKeyRequest → applyV2Request/watch → render, and compares
 * every response body byte for byte. Keys, indexes, causes and error order are all checked.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { mergeParams, parseKeyRequest } from "../../src/http/key-request.ts";
import { EtcdError } from "../../src/store/errors.ts";
import type { Event } from "../../src/store/event.ts";
import { errorToJson, eventToJson } from "../../src/store/render.ts";
import type { Store } from "../../src/store/store.ts";
import { applyV2Request, userStorePath } from "../../src/store/v2-apply.ts";
import { FakeClock, freshEtcdStore } from "./helpers.ts";

const transcript = readFileSync(
  new URL("./testdata/etcd-3.4.23-transcript.txt", import.meta.url),
  "utf8",
);

function respond(store: Store, clock: FakeClock, method: string, target: string): string {
  const q = target.indexOf("?");
  const keyPath = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? "" : target.slice(q + 1);
  try {
    const params = mergeParams(query, "", null, method);
    const req = parseKeyRequest(method, decodeURIComponent(keyPath), params, clock.now());
    if (req.method === "GET" && req.wait) {
      let got: Event | undefined;
      const w = store.watch(
        {
          key: userStorePath(req.path),
          recursive: req.recursive,
          stream: req.stream,
          sinceIndex: req.since,
        },
        (e) => {
          got = e;
        },
        () => {},
      );
      w.remove();
      if (got === undefined) throw new Error(`watch ${target} did not fire from history`);
      return eventToJson(got, clock);
    }
    const e = applyV2Request(store, req);
    if (e === undefined) throw new Error("no event");
    return eventToJson(e, clock, { noValueOnSuccess: req.noValueOnSuccess });
  } catch (err) {
    if (err instanceof EtcdError) return errorToJson(err);
    throw err;
  }
}

test("replays the etcd 3.4.23 transcript byte for byte", () => {
  const clock = new FakeClock();
  const store = freshEtcdStore();
  const lines = transcript.split("\n");
  let checked = 0;
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [method, target] = (lines[i] as string).split(" ") as [string, string];
    const expected = `${lines[i + 1]}\n`;
    expect(`${method} ${target} => ${respond(store, clock, method, target)}`).toBe(
      `${method} ${target} => ${expected}`,
    );
    checked++;
  }
  expect(checked).toBe(107);
});
