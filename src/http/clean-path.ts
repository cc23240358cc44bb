/**
 * Go's ServeMux path cleaning: a request path that is not canonical (`//`, `/./`, `/../`) is
 * answered with 301 to the cleaned path. A trailing slash is kept, as Go does.
 */
export function cleanPath(path: string): string {
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

/** A 301 redirect if `pathname` is not canonical, else undefined. */
export function redirectIfUnclean(url: URL): Response | undefined {
  const cleaned = cleanPath(url.pathname);
  if (cleaned === url.pathname) return undefined;
  const location = cleaned + url.search;
  return new Response(`<a href="${location}">Moved Permanently</a>.\n\n`, {
    status: 301,
    headers: { Location: location, "Content-Type": "text/html; charset=utf-8" },
  });
}
