/**
 * `--host-whitelist` (etcd's defence against DNS rebinding, CVE-2018-5702): a request to a
 * plain-HTTP client listener whose Host header (without its port) is not listed gets 421 with
 * etcd's text, before anything else looks at it (OPTIONS and path cleaning included). `*` (the
 * default) allows every host; TLS listeners are not checked.
 */

export type HostCheck = (request: Request) => Response | undefined;

/** Go's net.SplitHostPort host, or the whole value when it has no port. */
function hostOf(header: string): string {
  if (header.startsWith("[")) {
    const close = header.indexOf("]");
    return close === -1 ? header : header.slice(1, close);
  }
  const colon = header.lastIndexOf(":");
  return colon === -1 || header.indexOf(":") !== colon ? header : header.slice(0, colon);
}

function misdirected(host: string): Response {
  const text = `
etcd received your request, but the Host header was unrecognized.

To fix this, choose one of the following options:
- Enable TLS, then any HTTPS request will be allowed.
- Add the hostname you want to use to the whitelist in settings.
  - e.g. etcd --host-whitelist "${host}"

This requirement has been added to help prevent "DNS Rebinding" attacks (CVE-2018-5702).
`;
  return new Response(`${text}\n`, {
    status: 421,
    headers: { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
  });
}

/** undefined when every host is allowed (nothing to check). */
export function hostCheck(whitelist: readonly string[]): HostCheck | undefined {
  if (whitelist.length === 0 || whitelist.includes("*")) return undefined;
  const allowed = new Set(whitelist);
  return (request) => {
    const host = hostOf(request.headers.get("host") ?? "");
    return allowed.has(host) ? undefined : misdirected(host);
  };
}
