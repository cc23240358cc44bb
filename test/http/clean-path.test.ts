/** Go's ServeMux path cleaning, and its fast path for the paths nearly every request has. */
import { expect, test } from "bun:test";
import { cleanPath } from "../../src/http/clean-path.ts";

test.each([
  ["", "/"],
  ["a", "/a"],
  ["//a", "/a"],
  ["/a//b/", "/a/b/"],
  ["/a/./b", "/a/b"],
  ["/a/../b", "/b"],
  ["/..", "/"],
  ["/a/..", "/"],
  ["/a/.", "/a"],
  ["/a/b/..", "/a"],
  ["/../a/", "/a/"],
  ["/.", "/"],
])("%j is cleaned to %j", (path, cleaned) => {
  expect(cleanPath(path)).toBe(cleaned);
});

test.each(["/", "/v2/keys/a", "/v2/keys/a/", "/..a", "/.a/b.", "/a/...", "/v2/keys/a b"])(
  "%j is clean and comes back as it is",
  (path) => {
    expect(cleanPath(path)).toBe(path);
  },
);
