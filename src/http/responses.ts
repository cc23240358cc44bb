/** Response builders shared by the client API handlers: etcd's headers, bodies and errors. */
import { EtcdError } from "../store/errors.ts";
import { errorToJson } from "../store/render.ts";
import { AssertionError } from "../util/assert.ts";

export const JSON_TYPE = "application/json";

/** The headers every keys response carries. */
export function etcdHeaders(clusterId: string, etcdIndex: number): Record<string, string> {
  return {
    "Content-Type": JSON_TYPE,
    "X-Etcd-Cluster-Id": clusterId,
    "X-Etcd-Index": String(etcdIndex),
  };
}

export function keysErrorResponse(clusterId: string, error: EtcdError): Response {
  return new Response(errorToJson(error), {
    status: error.status,
    headers: etcdHeaders(clusterId, error.index),
  });
}

/**
 * Maps anything thrown by a keys handler to etcd's error JSON: an EtcdError keeps its code,
 * anything else becomes 300 with its message, as etcd's writeKeyError does, and is logged (it is
 * a bug, though one that cannot have changed the store: handlers only read and propose). A
 * broken invariant is rethrown: it must end the process, not become a response.
 */
export function toEtcdError(error: unknown, log?: (line: string) => void): EtcdError {
  if (error instanceof EtcdError) return error;
  if (error instanceof AssertionError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  log?.(
    `keys request failed unexpectedly: ${error instanceof Error ? (error.stack ?? message) : message}`,
  );
  // etcd writes these with index 0 (body and X-Etcd-Index), whatever the store's index.
  return new EtcdError(300, message, 0);
}

export function textResponse(status: number, body: string, extra?: Record<string, string>) {
  return new Response(body, {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", ...extra },
  });
}

export function methodNotAllowed(allow: string): Response {
  return textResponse(405, "Method Not Allowed\n", {
    Allow: allow,
    "X-Content-Type-Options": "nosniff",
  });
}

export function notFound(): Response {
  return textResponse(404, "404 page not found\n", { "X-Content-Type-Options": "nosniff" });
}

/** etcd's non-keys JSON errors: `{"message":".."}` without a trailing newline. */
export function messageResponse(
  status: number,
  message: string,
  clusterId: string | undefined,
): Response {
  const headers: Record<string, string> = { "Content-Type": JSON_TYPE };
  if (clusterId !== undefined) headers["X-Etcd-Cluster-Id"] = clusterId;
  return new Response(JSON.stringify({ message }), { status, headers });
}

/** etcd's writeNoAuth (members and auth APIs): 401 without the cluster id header. */
export function insufficientCredentials(): Response {
  return messageResponse(401, "Insufficient credentials", undefined);
}
