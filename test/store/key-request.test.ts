/**
 * parseKeyRequest and mergeParams against etcd's parseKeyRequest / Go's ParseForm. Error
 * cases were checked with curl on etcd 3.4.23 ([V]); the transcript test covers more.
 */
import { describe, expect, test } from "bun:test";
import { mergeParams, parseKeyRequest } from "../../src/http/key-request.ts";
import { EtcdError } from "../../src/store/errors.ts";
import { parseGoBool, waitsForChange } from "../../src/util/go-bool.ts";

const now = 1_800_000_000_000;

function parse(method: string, query: string, keyPath = "/k") {
  return parseKeyRequest(method, keyPath, mergeParams(query, "", null, method), now);
}

function errorOf(f: () => unknown): [number, string, number] | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof EtcdError) return [err.code, err.cause, err.index];
    throw err;
  }
  return undefined;
}

describe("parseKeyRequest errors [V]", () => {
  const cases: [string, string, [number, string, number]][] = [
    ["PUT", "prevIndex=x&recursive=2&ttl=a", [203, `invalid value for "prevIndex"`, 0]],
    ["GET", "wait=true&waitIndex=abc", [203, `invalid value for "waitIndex"`, 0]],
    ["PUT", "recursive=2&ttl=a&prevValue=", [209, `invalid value for "recursive"`, 0]],
    ["GET", "sorted=yes", [209, `invalid value for "sorted"`, 0]],
    ["GET", "quorum=on", [209, `invalid value for "quorum"`, 0]],
    ["GET", "stream=2", [209, `invalid value for "stream"`, 0]],
    ["PUT", "dir=x", [209, `invalid value for "dir"`, 0]],
    ["PUT", "wait=true", [209, `"wait" can only be used with GET requests`, 0]],
    ["HEAD", "wait=true", [209, `"wait" can only be used with GET requests`, 0]],
    ["PUT", "ttl=a&prevValue=", [201, `"prevValue" cannot be empty`, 0]],
    ["PUT", "ttl=a&noValueOnSuccess=x", [209, `invalid value for "noValueOnSuccess"`, 0]],
    ["PUT", "ttl=-1", [202, `invalid value for "ttl"`, 0]],
    ["PUT", "ttl=%2B5", [202, `invalid value for "ttl"`, 0]],
    ["PUT", "ttl=18446744073709551616", [202, `invalid value for "ttl"`, 0]],
    ["PUT", "prevExist=maybe", [209, "invalid value for prevExist", 0]],
    ["PUT", "refresh=yes", [209, "invalid value for refresh", 0]],
    ["PUT", "ttl=1&refresh=true&value=1", [211, "A value was provided on a refresh", 0]],
    ["PUT", "refresh=true", [212, "No TTL value set", 0]],
    ["PUT", "ttl=&refresh=true", [212, "No TTL value set", 0]],
  ];
  for (const [method, query, want] of cases) {
    test(`${method} ?${query}`, () => expect(errorOf(() => parse(method, query))).toEqual(want));
  }
});

describe("parseKeyRequest values", () => {
  test("defaults", () => {
    expect(parse("PUT", "")).toEqual({
      method: "PUT",
      path: "/k",
      val: "",
      dir: false,
      prevValue: "",
      prevIndex: 0,
      prevExist: undefined,
      expiration: 0,
      wait: false,
      since: 0,
      recursive: false,
      sorted: false,
      quorum: false,
      stream: false,
      refresh: undefined,
      noValueOnSuccess: false,
      time: now,
    });
  });

  test("fields, ttl, Go bools, first value wins", () => {
    const r = parse(
      "PUT",
      "value=a&value=b&ttl=5&prevExist=F&prevIndex=07&refresh=0&dir=T&prevValue=p",
    );
    expect([r.val, r.expiration, r.prevExist, r.prevIndex, r.refresh, r.dir, r.prevValue]).toEqual([
      "a",
      now + 5000,
      false,
      7,
      false,
      true,
      "p",
    ]);
    expect(parse("PUT", "ttl=0").expiration).toBe(now);
    expect(parse("PUT", "ttl=").expiration).toBe(0);
    expect(parse("PUT", "ttl=1&refresh=true&value=").refresh).toBe(true);
  });

  test("methods: quorum GET is QGET (even with wait), HEAD reads locally", () => {
    expect(parse("GET", "quorum=true").method).toBe("QGET");
    expect(parse("GET", "quorum=true&wait=true").method).toBe("QGET");
    expect(parse("HEAD", "quorum=true").method).toBe("GET");
    expect(parse("GET", "wait=true&waitIndex=12&stream=1&recursive=true")).toMatchObject({
      method: "GET",
      wait: true,
      since: 12,
      stream: true,
      recursive: true,
    });
    expect(parse("POST", "value=x").method).toBe("POST");
    expect(parse("DELETE", "").method).toBe("DELETE");
  });

  test("key path is rooted and cleaned", () => {
    expect(parse("GET", "", "").path).toBe("/");
    expect(parse("GET", "", "/").path).toBe("/");
    expect(parse("GET", "", "/a/../../b//c/").path).toBe("/b/c");
  });

  test("absurd TTLs wrap like Go's 64-bit Duration and UnixNano", () => {
    // 2^63 ns is about 292 years: ttl=10^10 s wraps to about -267 years.
    expect(parse("PUT", "ttl=10000000000").expiration).toBe(-6_646_744_073_710); // floor of the ns value
    expect(parse("PUT", "ttl=31536000").expiration).toBe(now + 31_536_000_000);
  });

  test("parseGoBool", () => {
    for (const t of ["1", "t", "T", "TRUE", "true", "True"]) expect(parseGoBool(t)).toBe(true);
    for (const f of ["0", "f", "F", "FALSE", "false", "False"]) expect(parseGoBool(f)).toBe(false);
    for (const x of ["", "yes", "tRUE", " true"]) expect(parseGoBool(x)).toBeUndefined();
  });

  test("waitsForChange reads wait= as the keys API does", () => {
    for (const url of ["/v2/keys/a?wait=true", "/k?x=1&wait=1", "/k?wait=T&waitIndex=3"])
      expect(waitsForChange(`http://h${url}`)).toBe(true);
    for (const url of ["/v2/keys/a", "/k?wait=false", "/k?wait=yes", "/k?nowait=1", "/k/wait=1"])
      expect(waitsForChange(`http://h${url}`)).toBe(false);
  });
});

describe("mergeParams", () => {
  const form = "application/x-www-form-urlencoded";
  test("body wins over query for the same name [V]", () => {
    const p = mergeParams("value=q&ttl=5", "value=body", form);
    expect([p.get("value"), p.get("ttl"), p.getAll("value")]).toEqual(["body", "5", ["body", "q"]]);
  });
  test("leading ? tolerated; + and %XX decoded; bare names are empty values", () => {
    const p = mergeParams("?a=x+y%20z&b&c=%E2%82%AC", "", null);
    expect([p.get("a"), p.get("b"), p.get("c")]).toEqual(["x y z", "", "€"]);
  });
  test("body ignored without a form content type, or for DELETE [V]", () => {
    expect(mergeParams("", "value=1", null).get("value")).toBeNull();
    expect(mergeParams("", "value=1", "multipart/form-data").get("value")).toBeNull();
    expect(mergeParams("", "value=1", form, "DELETE").get("value")).toBeNull();
    expect(mergeParams("", "value=1", `${form}; charset=utf-8`, "PUT").get("value")).toBe("1");
    expect(mergeParams("", "value=1", "Application/X-WWW-Form-Urlencoded").get("value")).toBe("1");
  });
  const errors: [string, string, string | null, string][] = [
    ["a=%zz", "", null, `invalid URL escape "%zz"`],
    ["a=%4", "", null, `invalid URL escape "%4"`],
    ["a=1;b=2", "", null, "invalid semicolon separator in query"],
    ["", "value=%", form, `invalid URL escape "%"`],
    ["", "v=1", "bogus/", "mime: expected token after slash"],
    ["", "v=1", "a b", "mime: expected slash after first token"],
    ["", "v=1", ";x=1", "mime: no media type"],
    ["", "v=1", "text/plain extra", "mime: unexpected content after media subtype"],
    ["", "v=1", `${form}; charset`, "mime: invalid media parameter"],
    ["", "v=1", `${form}; a=1; A=2`, "mime: duplicate parameter name"],
  ];
  for (const [query, body, ct, cause] of errors) {
    test(`210 ${cause} [V for the first three and "bogus/"]`, () => {
      expect(errorOf(() => mergeParams(query, body, ct))).toEqual([210, cause, 0]);
    });
  }
  test("a trailing semicolon in the content type is fine", () => {
    expect(mergeParams("", "v=1", `${form};`).get("v")).toBe("1");
  });
});
