/**
 * Go's encoding/json as etcd's members API meets it: the syntax check with Go's error texts
 * (`invalid character 'x' looking for beginning of value`, `unexpected end of JSON input`),
 * and the decoding of `{"peerURLs": [...]}` into etcd's request struct with Go's type errors.
 * Clients and scripts match on these texts, so they are reproduced, not approximated.
 */

type Step = (byte: number) => Step | string;

/** Go's scanner.go as a byte-at-a-time state machine; a string result is the error context. */
class GoScanner {
  private readonly stack: ("object-key" | "object-value" | "array")[] = [];
  private step: Step = (c) => this.beginValue(c);
  done = false;

  feed(c: number): string | undefined {
    const next = this.step(c);
    if (typeof next === "string") return next;
    this.step = next;
    return undefined;
  }

  private isSpace(c: number): boolean {
    return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  }

  private beginValue(c: number): Step | string {
    if (this.isSpace(c)) return (x) => this.beginValue(x);
    switch (String.fromCharCode(c)) {
      case "{":
        this.stack.push("object-key");
        return (x) => this.beginStringOrEmpty(x);
      case "[":
        this.stack.push("array");
        return (x) => this.beginValueOrEmpty(x);
      case '"':
        return (x) => this.inString(x);
      case "-":
        return (x) => this.neg(x);
      case "0":
        return (x) => this.afterZero(x);
      case "t":
        return this.literal("true", 1);
      case "f":
        return this.literal("false", 1);
      case "n":
        return this.literal("null", 1);
    }
    if (c >= 0x31 && c <= 0x39) return (x) => this.digits(x);
    return "looking for beginning of value";
  }

  private beginValueOrEmpty(c: number): Step | string {
    if (this.isSpace(c)) return (x) => this.beginValueOrEmpty(x);
    if (c === 0x5d) return this.endValue(c);
    return this.beginValue(c);
  }

  private beginStringOrEmpty(c: number): Step | string {
    if (this.isSpace(c)) return (x) => this.beginStringOrEmpty(x);
    if (c === 0x7d) {
      this.stack[this.stack.length - 1] = "object-value";
      return this.endValue(c);
    }
    return this.beginString(c);
  }

  private beginString(c: number): Step | string {
    if (this.isSpace(c)) return (x) => this.beginString(x);
    if (c === 0x22) return (x) => this.inString(x);
    return "looking for beginning of object key string";
  }

  private endValue(c: number): Step | string {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      this.done = true;
      return this.endTop(c);
    }
    if (this.isSpace(c)) return (x) => this.endValue(x);
    if (top === "object-key") {
      if (c !== 0x3a) return "after object key";
      this.stack[this.stack.length - 1] = "object-value";
      return (x) => this.beginValue(x);
    }
    if (top === "object-value") {
      if (c === 0x2c) {
        this.stack[this.stack.length - 1] = "object-key";
        return (x) => this.beginString(x);
      }
      if (c !== 0x7d) return "after object key:value pair";
      this.stack.pop();
      return (x) => this.endValue(x);
    }
    if (c === 0x2c) return (x) => this.beginValue(x);
    if (c !== 0x5d) return "after array element";
    this.stack.pop();
    return (x) => this.endValue(x);
  }

  private endTop(c: number): Step | string {
    if (!this.isSpace(c)) return "after top-level value";
    return (x) => this.endTop(x);
  }

  private inString(c: number): Step | string {
    if (c === 0x22) return (x) => this.endValue(x);
    if (c === 0x5c) return (x) => this.inStringEscape(x);
    if (c < 0x20) return "in string literal";
    return (x) => this.inString(x);
  }

  private inStringEscape(c: number): Step | string {
    if ('bfnrt\\/"'.includes(String.fromCharCode(c))) return (x) => this.inString(x);
    if (c === 0x75) return this.hexEscape(4);
    return "in string escape code";
  }

  private hexEscape(left: number): Step {
    return (c) => {
      if (!/[0-9a-fA-F]/.test(String.fromCharCode(c))) return "in \\u hexadecimal character escape";
      return left === 1 ? (x) => this.inString(x) : this.hexEscape(left - 1);
    };
  }

  private neg(c: number): Step | string {
    if (c === 0x30) return (x) => this.afterZero(x);
    if (c >= 0x31 && c <= 0x39) return (x) => this.digits(x);
    return "in numeric literal";
  }

  private digits(c: number): Step | string {
    if (c >= 0x30 && c <= 0x39) return (x) => this.digits(x);
    return this.afterZero(c);
  }

  private afterZero(c: number): Step | string {
    if (c === 0x2e) return (x) => this.dot(x);
    if (c === 0x65 || c === 0x45) return (x) => this.exponent(x);
    return this.endValue(c);
  }

  private dot(c: number): Step | string {
    if (c >= 0x30 && c <= 0x39) return (x) => this.fraction(x);
    return "after decimal point in numeric literal";
  }

  private fraction(c: number): Step | string {
    if (c >= 0x30 && c <= 0x39) return (x) => this.fraction(x);
    if (c === 0x65 || c === 0x45) return (x) => this.exponent(x);
    return this.endValue(c);
  }

  private exponent(c: number): Step | string {
    if (c === 0x2b || c === 0x2d) return (x) => this.exponentSign(x);
    return this.exponentSign(c);
  }

  private exponentSign(c: number): Step | string {
    if (c >= 0x30 && c <= 0x39) return (x) => this.exponentDigits(x);
    return "in exponent of numeric literal";
  }

  private exponentDigits(c: number): Step | string {
    if (c >= 0x30 && c <= 0x39) return (x) => this.exponentDigits(x);
    return this.endValue(c);
  }

  private literal(word: string, at: number): Step {
    return (c) => {
      const want = word.charCodeAt(at);
      if (c !== want) return `in literal ${word} (expecting ${quoteChar(want)})`;
      return at === word.length - 1 ? (x) => this.endValue(x) : this.literal(word, at + 1);
    };
  }

  /** True once a whole top-level value has been read (only spaces may follow). */
  complete(): boolean {
    if (this.done) return true;
    // A number or literal at top level ends with the input: feed a space to close it.
    const next = this.step(0x20);
    return typeof next !== "string" && this.done;
  }
}

/** Go's quoteChar: the byte as a single-quoted Go string literal. */
function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  const named: Record<number, string> = {
    7: "\\a",
    8: "\\b",
    12: "\\f",
    10: "\\n",
    13: "\\r",
    9: "\\t",
    11: "\\v",
    92: "\\\\",
  };
  const name = named[c];
  if (name !== undefined) return `'${name}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, "0")}'`;
  if (c >= 0x80 && c < 0xa0) return `'\\u${c.toString(16).padStart(4, "0")}'`;
  return `'${String.fromCharCode(c)}'`;
}

/** Go's json.Valid error text for `bytes`, or undefined when they are one valid JSON value. */
export function goJsonSyntaxError(bytes: Uint8Array): string | undefined {
  const scanner = new GoScanner();
  for (const c of bytes) {
    const context = scanner.feed(c);
    if (context !== undefined) return `invalid character ${quoteChar(c)} ${context}`;
  }
  return scanner.complete() ? undefined : "unexpected end of JSON input";
}

/**
 * The first JSON value of `bytes`, as Go's `json.Decoder.Decode` reads it (what follows it is
 * left unread); undefined when the bytes do not start with a complete, valid value.
 */
export function goJsonFirstValue(bytes: Uint8Array): unknown {
  const scanner = new GoScanner();
  let end = bytes.length;
  for (let i = 0; i < bytes.length && !scanner.done; i++) {
    if (scanner.feed(bytes[i] ?? 0) !== undefined) return undefined;
    if (scanner.done) end = i + 1;
  }
  if (!scanner.done && !scanner.complete()) return undefined;
  return JSON.parse(new TextDecoder().decode(bytes.subarray(0, end)));
}

const PEER_URLS_STRUCT = 'struct { PeerURLs []string "json:\\"peerURLs\\"" }';

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  return typeof value === "boolean" ? "bool" : typeof value;
}

/**
 * `json.Unmarshal(body, &struct{ PeerURLs []string })` as Go does it: keys match the field
 * name case-insensitively, the last one wins, `null` leaves the zero value, and the first type
 * error is reported. Returns the strings, or Go's error text.
 */
export function decodePeerUrls(body: Uint8Array): { urls: string[] } | { error: string } {
  const syntax = goJsonSyntaxError(body);
  if (syntax !== undefined) return { error: syntax };
  const value: unknown = JSON.parse(new TextDecoder().decode(body));
  if (value === null) return { urls: [] };
  if (typeof value !== "object" || Array.isArray(value)) {
    return {
      error: `json: cannot unmarshal ${kindOf(value)} into Go value of type ${PEER_URLS_STRUCT}`,
    };
  }
  let urls: string[] = [];
  let firstError: string | undefined;
  for (const [key, field] of Object.entries(value)) {
    if (key.toLowerCase() !== "peerurls") continue;
    if (field === null) {
      urls = [];
      continue;
    }
    if (!Array.isArray(field)) {
      firstError ??= `json: cannot unmarshal ${kindOf(field)} into Go struct field .peerURLs of type []string`;
      continue;
    }
    urls = field.map((item: unknown) => {
      if (item === null) return "";
      if (typeof item === "string") return item;
      firstError ??= `json: cannot unmarshal ${kindOf(item)} into Go struct field .peerURLs of type string`;
      return "";
    });
  }
  return firstError !== undefined ? { error: firstError } : { urls };
}
