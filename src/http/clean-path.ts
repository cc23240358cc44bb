/**
 * Go's ServeMux path handling, which etcd's client listener has: the request path is
 * percent-decoded, and a path that is not clean (`//`, `.`, `..`) is answered with 301 to the
 * cleaned path instead of being served. A trailing slash is kept, as Go does.
 */
import { RAW_DEPTH_MAX, type RawTarget } from "./raw-target.ts";

export function cleanPath(path: string): string {
  // Nearly every request's path is clean already: skip splitting it (a measurable share of a
  // GET's CPU).
  if (isClean(path)) return path;
  if (path === "") return "/";
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  let cleaned = `/${parts.join("/")}`;
  if (path.endsWith("/") && cleaned !== "/") cleaned += "/";
  return cleaned;
}

/** No empty, `.` or `..` segment, and rooted: cleanPath would return it unchanged. */
function isClean(path: string): boolean {
  return (
    path.startsWith("/") &&
    !path.includes("//") &&
    !path.includes("/./") &&
    !path.includes("/../") &&
    !path.endsWith("/.") &&
    !path.endsWith("/..")
  );
}

/**
 * Where a request goes: its URL (rewritten when the raw path had a `\` or `#` that the URL
 * parser changed), or the response that ends it: 400 for a malformed %-escape, as Go's URL
 * parser refuses it, 301 for an unclean path, 414 for one too deep to check.
 */
export function routeTarget(method: string, url: URL, raw: RawTarget | undefined): URL | Response {
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return badRequest();
  }
  if (raw?.kind === "too-deep") {
    return new Response(`path deeper than ${RAW_DEPTH_MAX} segments\n`, {
      status: 414,
      headers: { "Content-Type": "text/plain; charset=utf-8" },
    });
  }
  const path = raw?.kind === "path" ? raw.decodedPath : decoded;
  const cleaned = cleanPath(path);
  if (cleaned !== path || raw?.kind === "unclean") {
    return movedPermanently(method, escapePath(cleaned) + url.search);
  }
  if (raw?.kind !== "path") return url;
  // The query of a target with `#` in its path landed in the URL's fragment.
  const hashQuery = url.hash.indexOf("?");
  const query = hashQuery >= 0 ? url.hash.slice(hashQuery) : url.search;
  return new URL(escapePath(path) + query, url.origin);
}

/** Go's http.Redirect: an HTML body for GET, a Content-Type for GET and HEAD only. */
function movedPermanently(method: string, location: string): Response {
  if (method !== "GET" && method !== "HEAD")
    return new Response(null, { status: 301, headers: { Location: location } });
  const body =
    method === "GET" ? `<a href="${htmlEscape(location)}">Moved Permanently</a>.\n\n` : null;
  return new Response(body, {
    status: 301,
    headers: { Location: location, "Content-Type": "text/html; charset=utf-8" },
  });
}

/** Go's url.PathEscape for a whole path: unreserved bytes and `$&+,/:;=@` stay as they are. */
export function escapePath(path: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(path)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c)
      ? c
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&#34;",
  "'": "&#39;",
};

function htmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

function badRequest(): Response {
  return new Response("400 Bad Request", {
    status: 400,
    headers: { "Content-Type": "text/plain; charset=utf-8", Connection: "close" },
  });
}
