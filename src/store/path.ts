/**
 * Go's `path` package semantics (Clean, Join, Split) for store keys. Keys must be cleaned
 * exactly as etcd cleans them, or "/a//b" and "/a/b" would be different nodes.
 */

/** True when `p` is already what `clean` would return for a rooted path (the common case). */
function isCleanRooted(p: string): boolean {
  if (p.length === 0 || p.charCodeAt(0) !== 47) return false;
  if (p.length === 1) return true;
  if (p.charCodeAt(p.length - 1) === 47) return false;
  // Reject "//", "/." and "/.." segments; a segment merely starting with "." (e.g. ".a") is fine.
  for (let i = 0; i < p.length; i++) {
    if (p.charCodeAt(i) !== 47) continue;
    const next = p.charCodeAt(i + 1);
    if (next === 47) return false;
    if (next === 46) {
      const after = p.charCodeAt(i + 2);
      if (Number.isNaN(after) || after === 47) return false;
      if (after === 46) {
        const after2 = p.charCodeAt(i + 3);
        if (Number.isNaN(after2) || after2 === 47) return false;
      }
    }
  }
  return true;
}

/** Go's `path.Clean`: the shortest lexically equivalent path ("." for ""). */
export function clean(p: string): string {
  if (p === "") return ".";
  if (isCleanRooted(p)) return p;
  const rooted = p.charCodeAt(0) === 47;
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const body = out.join("/");
  if (rooted) return `/${body}`;
  return body === "" ? "." : body;
}

/** Go's `path.Join`: non-empty elements joined by "/", then cleaned; "" if all are empty. */
export function join(...elems: string[]): string {
  const parts = elems.filter((e) => e !== "");
  if (parts.length === 0) return "";
  return clean(parts.join("/"));
}

/** `clean(join("/", p))`: how the store normalises every key it is given. */
export function cleanStorePath(p: string): string {
  if (isCleanRooted(p)) return p;
  return clean(`/${p}`);
}

/** Go's `path.Split`: [dir including its trailing "/", last element]. */
export function split(p: string): [string, string] {
  const i = p.lastIndexOf("/");
  return [p.slice(0, i + 1), p.slice(i + 1)];
}
