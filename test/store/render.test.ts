/** JSON rendering (spec 1.4, 1.7, 2.2): exact strings, Go escaping, times, the error table. */
import { describe, expect, test } from "bun:test";
import { allErrorCodes, EtcdError, errorMessage, errorStatus } from "../../src/store/errors.ts";
import {
  errorToJson,
  goQuote,
  rfc3339Nano,
  storeStatsJson,
  ttlSeconds,
} from "../../src/store/render.ts";
import { Store } from "../../src/store/store.ts";
import { Prng } from "../../src/util/prng.ts";
import { FakeClock, permanent } from "./helpers.ts";

describe("goQuote", () => {
  const cases: [string, string][] = [
    ["plain", `"plain"`],
    // [V] etcd 3.4.23 (Go 1.19): HTML-escaped, \b and \f as \u escapes, U+2028 escaped, é raw.
    ['<>&\b\f\u0001\u2028é"\\', `"\\u003c\\u003e\\u0026\\u0008\\u000c\\u0001\\u2028é\\"\\\\"`],
    ["a\nb\rc\td", `"a\\nb\\rc\\td"`],
    ["\u{1F600}", `"\u{1F600}"`],
    ["lone \ud800 x", `"lone \\ufffd x"`],
    ["\u007f\u2029", `"\u007f\\u2029"`],
  ];
  for (const [input, want] of cases)
    test(JSON.stringify(input), () => expect(goQuote(input)).toBe(want));

  test("agrees with a character-by-character port of Go's encoder on random strings", () => {
    const alphabet = [
      "a",
      "\\",
      '"',
      "u",
      "d",
      "8",
      "<",
      ">",
      "&",
      "\b",
      "\f",
      "\n",
      "\u0001",
      "\u001f",
      "\u007f",
      "\u2028",
      "\u2029",
      "\ud800",
      "\udc00",
      "\ud83d\ude00",
      "é",
    ];
    const prng = new Prng(7);
    for (let round = 0; round < 2000; round++) {
      let s = "";
      const length = prng.nextInt(12);
      for (let i = 0; i < length; i++) s += alphabet[prng.nextInt(alphabet.length)];
      expect({ s, quoted: goQuote(s) }).toEqual({ s, quoted: goQuoteByChar(s) });
    }
  });
});

/** Go's encodeState.string, one UTF-16 unit at a time: the reference for goQuote. */
function goQuoteByChar(s: string): string {
  const hex = "0123456789abcdef";
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s.slice(i, i + 2);
        i++;
      } else out += "\\ufffd";
    } else if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029)
      out += `\\u${hex[c >> 12]}${hex[(c >> 8) & 15]}${hex[(c >> 4) & 15]}${hex[c & 15]}`;
    else out += s[i];
  }
  return `${out}"`;
}

describe("rfc3339Nano", () => {
  const cases: [number, string][] = [
    [0, "1970-01-01T00:00:00Z"],
    [1_800_000_000_000, "2027-01-15T08:00:00Z"],
    [1_800_000_000_120, "2027-01-15T08:00:00.12Z"],
    [1_800_000_000_001, "2027-01-15T08:00:00.001Z"],
    [951_782_400_000, "2000-02-29T00:00:00Z"],
    [-1, "1969-12-31T23:59:59.999Z"],
    [253_402_300_799_000, "9999-12-31T23:59:59Z"],
  ];
  for (const [ms, want] of cases) test(want, () => expect(rfc3339Nano(ms)).toBe(want));
});

test("ttlSeconds truncates toward zero then rounds a positive remainder up (Go)", () => {
  expect([ttlSeconds(5500, 0), ttlSeconds(5000, 0), ttlSeconds(1, 0), ttlSeconds(0, 0)]).toEqual([
    6, 5, 1, 0,
  ]);
  expect([ttlSeconds(-300, 0), ttlSeconds(-1500, 0)]).toEqual([0, -1]);
});

describe("events", () => {
  test("root listing has no key or indexes; empty dir has no nodes [V]", () => {
    const clock = new FakeClock();
    const s = new Store();
    expect(eventJson(s, clock, () => s.get("/1", false, false))).toBe(
      `{"action":"get","node":{"dir":true}}\n`,
    );
    s.set("/1/e", true, "", permanent);
    expect(eventJson(s, clock, () => s.get("/1", true, false))).toBe(
      `{"action":"get","node":{"dir":true,"nodes":[{"key":"/e","dir":true,"modifiedIndex":1,"createdIndex":1}]}}\n`,
    );
  });

  test("noValueOnSuccess applies to set/create/update/CAS only [V]", () => {
    const clock = new FakeClock();
    const s = new Store();
    const o = { noValueOnSuccess: true };
    expect(eventToJson(s.set("/1/a", false, "1", permanent), clock, o)).toBe(`{"action":"set"}\n`);
    expect(eventToJson(s.update("/1/a", "2", permanent), clock, o)).toBe(`{"action":"update"}\n`);
    expect(eventToJson(s.delete("/1/a", false, false), clock, o)).toStartWith(
      `{"action":"delete","node":`,
    );
  });

  test("internal keys keep their namespace", () => {
    const clock = new FakeClock();
    const s = new Store();
    expect(eventToJson(s.set("/0/version", false, "3.4.0", permanent), clock)).toBe(
      `{"action":"set","node":{"key":"/0/version","value":"3.4.0","modifiedIndex":1,"createdIndex":1}}\n`,
    );
  });
});

import type { Event } from "../../src/store/event.ts";
import { eventToJson } from "../../src/store/render.ts";

function eventJson(_s: Store, clock: FakeClock, f: () => Event): string {
  return eventToJson(f(), clock);
}

describe("errors", () => {
  test("table matches etcd's error.go", () => {
    expect(allErrorCodes).toEqual([
      100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 200, 201, 202, 203, 204, 205, 206, 207,
      208, 209, 210, 211, 212, 300, 301, 400, 401, 402, 403, 404, 500,
    ]);
    const statuses: Record<number, number> = {
      100: 404,
      101: 412,
      102: 403,
      105: 412,
      108: 403,
      110: 401,
      300: 500,
      301: 500,
    };
    for (const c of allErrorCodes) expect(errorStatus(c)).toBe(statuses[c] ?? 400);
    expect(errorMessage(401)).toBe("The event in requested index is outdated and cleared");
    expect(errorMessage(212)).toBe("A TTL must be provided on refresh");
    expect(errorMessage(999)).toBe("");
  });

  test("JSON shape, cause trimmed of /1 and omitted when empty [V]", () => {
    expect(errorToJson(new EtcdError(100, "/1/a/b", 7))).toBe(
      `{"errorCode":100,"message":"Key not found","cause":"/a/b","index":7}\n`,
    );
    expect(errorToJson(new EtcdError(102, "/1", 18))).toBe(
      `{"errorCode":102,"message":"Not a file","index":18}\n`,
    );
    expect(JSON.stringify(new EtcdError(110, "Insufficient credentials", 0))).toBe(
      `{"errorCode":110,"message":"The request requires user authentication","cause":"Insufficient credentials","index":0}`,
    );
    expect(new EtcdError(110, "", 0).status).toBe(401);
  });
});

test("store stats JSON, etcd field order, no trailing newline [V]", () => {
  const s = new Store();
  s.set("/1/a", false, "1", permanent);
  s.watch(
    { key: "/1/a", recursive: false, stream: false, sinceIndex: 0 },
    () => {},
    () => {},
  );
  expect(storeStatsJson(s.stats)).toBe(
    `{"getsSuccess":0,"getsFail":0,"setsSuccess":1,"setsFail":0,"deleteSuccess":0,"deleteFail":0,"updateSuccess":0,"updateFail":0,"createSuccess":0,"createFail":0,"compareAndSwapSuccess":0,"compareAndSwapFail":0,"compareAndDeleteSuccess":0,"compareAndDeleteFail":0,"expireCount":0,"watchers":1}`,
  );
});
