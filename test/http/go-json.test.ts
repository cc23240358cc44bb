/**
 * Go's JSON error texts as etcd 3.4's members API returns them (each expected text was read
 * from the real etcd; the differential suite re-checks them against it when it is installed).
 */
import { expect, test } from "bun:test";
import { decodePeerUrls, goJsonSyntaxError } from "../../src/http/go-json.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

test.each([
  ["", "unexpected end of JSON input"],
  ["{", "unexpected end of JSON input"],
  ["tru", "unexpected end of JSON input"],
  ["abc", "invalid character 'a' looking for beginning of value"],
  ['{"a":1} x', "invalid character 'x' after top-level value"],
  ['{"a":1}{', "invalid character '{' after top-level value"],
  ["[1,]", "invalid character ']' looking for beginning of value"],
  ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
  ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
  ['{"a":nul}', "invalid character '}' in literal null (expecting 'l')"],
  ['{"a" 1}', "invalid character '1' after object key"],
  ['{"a":1 "b":2}', "invalid character '\"' after object key:value pair"],
  ["[1 2]", "invalid character '2' after array element"],
  ['{"a":1.}', "invalid character '}' after decimal point in numeric literal"],
  ['{"a":1e}', "invalid character '}' in exponent of numeric literal"],
  ['{"a":-}', "invalid character '}' in numeric literal"],
  ['{"a":"\\q"}', "invalid character 'q' in string escape code"],
  ['{"a":"\\u12x4"}', "invalid character 'x' in \\u hexadecimal character escape"],
  ['{"a":"\t"}', "invalid character '\\t' in string literal"],
  ["'x'", "invalid character '\\'' looking for beginning of value"],
])("syntax error of %j: %s", (text, message) => {
  expect(goJsonSyntaxError(bytes(text))).toBe(message);
});

test.each(["null", "1", "-0.5e+3", '"s"', "[]", "{}", ' {"a":[true,false,null]} '])(
  "%j is valid",
  (text) => {
    expect(goJsonSyntaxError(bytes(text))).toBeUndefined();
  },
);

const STRUCT = 'struct { PeerURLs []string "json:\\"peerURLs\\"" }';

test.each([
  ["[]", { error: `json: cannot unmarshal array into Go value of type ${STRUCT}` }],
  ['"s"', { error: `json: cannot unmarshal string into Go value of type ${STRUCT}` }],
  ["true", { error: `json: cannot unmarshal bool into Go value of type ${STRUCT}` }],
  [
    '{"peerURLs":"x"}',
    { error: "json: cannot unmarshal string into Go struct field .peerURLs of type []string" },
  ],
  [
    '{"peerURLs":[1]}',
    { error: "json: cannot unmarshal number into Go struct field .peerURLs of type string" },
  ],
  ["null", { urls: [] }],
  ['{"peerURLs":null}', { urls: [] }],
  ['{"peerURLs":[null,"a"]}', { urls: ["", "a"] }],
  ['{"PEERURLS":["a"],"other":1}', { urls: ["a"] }],
  ['{"peerURLs":["a"],"peerurls":["b"]}', { urls: ["b"] }],
])("decoding %j", (text, result) => {
  expect(decodePeerUrls(bytes(text))).toEqual(result);
});
