/**
 * `/v2/auth`: the enable flag, users and roles, with etcd's routes, method checks, JSON shapes
 * (Go's nulls and omitted fields), status codes and messages. Everything but reading the flag
 * needs the root role once auth is on.
 */
import { type Access, callerOf, type Decision } from "../auth/access.ts";
import type { AuthStore } from "../auth/auth-store.ts";
import { decodeRole, decodeUser, JsonShapeError, roleJson, userJson } from "../auth/json.ts";
import { AuthError, isEmptyPermissions, type Role, type User } from "../auth/model.ts";
import { EtcdError } from "../store/errors.ts";
import { AssertionError } from "../util/assert.ts";
import type { MemberApi } from "./member-api.ts";
import {
  insufficientCredentials,
  JSON_TYPE,
  keysErrorResponse,
  messageResponse,
  methodNotAllowed,
} from "./responses.ts";

export const AUTH_PREFIX = "/v2/auth";

export interface AuthContext {
  readonly server: MemberApi;
  readonly store: AuthStore;
  readonly access: Access;
}

/** A request refused before the auth store is asked: status and message. */
class BadRequest extends Error {}

/** Serves `/v2/auth/...`; `path` is the request's decoded path. Undefined: not an auth route. */
export function handleAuth(
  ctx: AuthContext,
  request: Request,
  path: string,
): Promise<Response> | undefined {
  const sub = path.slice(AUTH_PREFIX.length);
  if (sub === "/enable") return enableDisable(ctx, request);
  for (const kind of ["users", "roles"] as const) {
    if (sub === `/${kind}`) return listAll(ctx, request, kind);
    if (!sub.startsWith(`/${kind}/`)) continue;
    // Go's path.Clean, then "/kind" or "/kind/name".
    const pieces = sub.split("/").filter((p, i) => i === 0 || p !== "");
    if (pieces.length === 2) return listAll(ctx, request, kind);
    // Refused before the handler sets the cluster id header, as etcd does.
    if (pieces.length !== 3)
      return Promise.resolve(messageResponse(400, "Invalid path", undefined));
    const name = pieces[2] ?? "";
    return kind === "users" ? forUser(ctx, request, name) : forRole(ctx, request, name);
  }
  return undefined;
}

function jsonResponse(ctx: AuthContext, status: number, body: unknown): Response {
  return new Response(body === undefined ? "" : `${JSON.stringify(body)}\n`, {
    status,
    headers: { "Content-Type": JSON_TYPE, "X-Etcd-Cluster-Id": ctx.server.clusterId },
  });
}

function message(ctx: AuthContext, status: number, text: string): Response {
  return messageResponse(status, text, ctx.server.clusterId);
}

/** The method check, the access check, then the work; errors become etcd's answers. */
async function guarded(
  ctx: AuthContext,
  request: Request,
  opts: { readonly allow: string; readonly decide: Decision },
  work: () => Promise<Response> | Response,
): Promise<Response> {
  if (!opts.allow.split(",").includes(request.method)) return methodNotAllowed(opts.allow);
  if (!(await opts.decide)) return insufficientCredentials();
  try {
    return await work();
  } catch (error) {
    if (error instanceof AuthError) return message(ctx, error.status, error.message);
    if (error instanceof BadRequest) return message(ctx, 400, error.message);
    if (error instanceof EtcdError) return keysErrorResponse(ctx.server.clusterId, error);
    if (error instanceof AssertionError) throw error;
    ctx.server.log(`auth request failed unexpectedly: ${String(error)}`);
    return message(ctx, 500, "Internal Server Error");
  }
}

function enableDisable(ctx: AuthContext, request: Request): Promise<Response> {
  const decide = ctx.access.writeRoot(request.method, callerOf(request));
  return guarded(ctx, request, { allow: "GET,PUT,DELETE", decide }, async () => {
    if (request.method === "GET") return jsonResponse(ctx, 200, { enabled: ctx.store.enabled() });
    if (request.method === "PUT") await ctx.store.enableAuth();
    else await ctx.store.disableAuth();
    return jsonResponse(ctx, 200, undefined);
  });
}

function listAll(ctx: AuthContext, request: Request, kind: "users" | "roles") {
  const decide = ctx.access.root(callerOf(request));
  return guarded(ctx, request, { allow: "GET", decide }, () => {
    if (kind === "roles") {
      const roles = ctx.store.allRoles().map((name) => roleJson(ctx.store.getRole(name)));
      return jsonResponse(ctx, 200, { roles });
    }
    const names = ctx.store.allUsers();
    // A user's missing role is left out of the list (it fails a single-user GET).
    const users = names.map((name) => userWithRoles(ctx, ctx.store.getUser(name), false));
    return jsonResponse(ctx, 200, { users: users.length === 0 ? null : users });
  });
}

/** etcd's userWithRoles: the user's roles in full, `roles` left out when there are none. */
function userWithRoles(ctx: AuthContext, user: User, strict: boolean) {
  const roles: Record<string, unknown>[] = [];
  for (const name of user.roles ?? []) {
    const role = strict ? ctx.store.getRole(name) : ctx.store.role(name);
    if (role !== undefined) roles.push(roleJson(role));
  }
  return { user: user.user, ...(roles.length > 0 && { roles }) };
}

async function bodyOf<T>(request: Request, decode: (text: string) => T): Promise<T> {
  try {
    return decode(await request.text());
  } catch (error) {
    if (error instanceof JsonShapeError) throw new BadRequest("Invalid JSON in request body.");
    throw error;
  }
}

function forUser(ctx: AuthContext, request: Request, name: string): Promise<Response> {
  const decide = ctx.access.root(callerOf(request));
  return guarded(ctx, request, { allow: "GET,PUT,DELETE", decide }, async () => {
    if (request.method === "GET")
      return jsonResponse(ctx, 200, userWithRoles(ctx, ctx.store.getUser(name), true));
    if (request.method === "DELETE") {
      await ctx.store.deleteUser(name);
      return jsonResponse(ctx, 200, undefined);
    }
    const change = await bodyOf(request, decodeUser);
    if (change.user !== name)
      throw new BadRequest("User JSON name does not match the name in the URL");
    const { user, created } = await putUser(ctx, change);
    return jsonResponse(ctx, created ? 201 : 200, userJson({ ...user, password: "" }));
  });
}

/** No grant/revoke: create (roles given) or create-or-update; otherwise an update. */
async function putUser(ctx: AuthContext, change: User): Promise<{ user: User; created: boolean }> {
  const granting = (change.grant ?? []).length > 0 || (change.revoke ?? []).length > 0;
  const hasRoles = (change.roles ?? []).length > 0;
  if (!granting) {
    if (hasRoles) return { user: await ctx.store.createUser(change), created: false };
    return ctx.store.createOrUpdateUser(change);
  }
  if (hasRoles) throw new BadRequest("User JSON contains both roles and grant/revoke");
  return { user: await ctx.store.updateUser(change), created: false };
}

function forRole(ctx: AuthContext, request: Request, name: string): Promise<Response> {
  const decide = ctx.access.root(callerOf(request));
  return guarded(ctx, request, { allow: "GET,PUT,DELETE", decide }, async () => {
    if (request.method === "GET") return jsonResponse(ctx, 200, roleJson(ctx.store.getRole(name)));
    if (request.method === "DELETE") {
      await ctx.store.deleteRole(name);
      return jsonResponse(ctx, 200, undefined);
    }
    const change = await bodyOf(request, decodeRole);
    if (change.role !== name)
      throw new BadRequest("Role JSON name does not match the name in the URL");
    return putRole(ctx, change);
  });
}

async function putRole(ctx: AuthContext, change: Role): Promise<Response> {
  if (isEmptyPermissions(change.grant) && isEmptyPermissions(change.revoke)) {
    await ctx.store.createRole(change);
    return jsonResponse(ctx, 201, roleJson(change));
  }
  if (!isEmptyPermissions(change.permissions))
    throw new BadRequest("Role JSON contains both permissions and grant/revoke");
  return jsonResponse(ctx, 200, roleJson(await ctx.store.updateRole(change)));
}
