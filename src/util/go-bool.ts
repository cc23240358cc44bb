/** Go's `strconv.ParseBool`, as etcd parses flags and query parameters; undefined otherwise. */
export function parseGoBool(s: string): boolean | undefined {
  switch (s) {
    case "1":
    case "t":
    case "T":
    case "TRUE":
    case "true":
    case "True":
      return true;
    case "0":
    case "f":
    case "F":
    case "FALSE":
    case "false":
    case "False":
      return false;
    default:
      return undefined;
  }
}

/**
 * Whether a v2 keys request waits for a change (`?wait=` true in any of Go's spellings), read
 * from its URL text: the parse is skipped for the requests that carry no `wait=` at all.
 */
export function waitsForChange(url: string): boolean {
  if (!url.includes("wait=")) return false;
  const query = url.indexOf("?");
  if (query < 0) return false;
  const wait = new URLSearchParams(url.slice(query + 1)).get("wait");
  return wait !== null && parseGoBool(wait) === true;
}
