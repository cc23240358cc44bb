/**
 * etcd's v2 auth data: users, roles and their key permissions, with the rules etcd applies to
 * them (grant/revoke merges, the root and guest roles, pattern matching). Lists keep Go's
 * distinction between a nil slice (`null` in JSON) and an empty one (`[]`): etcd renders and
 * compares them differently, and clients see the difference.
 */

export const ROOT_ROLE = "root";
export const GUEST_ROLE = "guest";
export const ROOT_USER = "root";

/** A string list as Go holds it: null is a nil slice. */
export type GoList = readonly string[] | null;

export interface KvPermissions {
  readonly read: GoList;
  readonly write: GoList;
}

export interface User {
  readonly user: string;
  /** The bcrypt hash once stored; the plain password in a request ("" = none given). */
  readonly password: string;
  readonly roles: GoList;
  readonly grant: GoList;
  readonly revoke: GoList;
}

export interface Role {
  readonly role: string;
  readonly permissions: KvPermissions;
  readonly grant: KvPermissions | null;
  readonly revoke: KvPermissions | null;
}

/** An auth refusal with its HTTP status; the message carries etcd's `auth: ` prefix. */
export class AuthError extends Error {
  override name = "AuthError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(`auth: ${message}`);
  }
}

const ALL_KEYS: KvPermissions = { read: ["/*"], write: ["/*"] };
export const rootRole: Role = { role: ROOT_ROLE, permissions: ALL_KEYS, grant: null, revoke: null };
export const guestRole: Role = {
  role: GUEST_ROLE,
  permissions: ALL_KEYS,
  grant: null,
  revoke: null,
};

/** A pattern ending in `*` matches keys with its prefix; any other pattern one key exactly. */
function simpleMatch(pattern: string, key: string): boolean {
  if (pattern.endsWith("*")) return key.startsWith(pattern.slice(0, -1));
  return key === pattern;
}

/** A recursive request needs a `*` pattern covering the key's prefix. */
function prefixMatch(pattern: string, key: string): boolean {
  return pattern.endsWith("*") && key.startsWith(pattern.slice(0, -1));
}

/** Whether `role` allows reading (or writing) `key`, recursively or not. */
export function roleAllows(
  role: Role,
  key: string,
  opts: { readonly write: boolean; readonly recursive: boolean },
): boolean {
  if (role.role === ROOT_ROLE) return true;
  const list = (opts.write ? role.permissions.write : role.permissions.read) ?? [];
  const match = opts.recursive ? prefixMatch : simpleMatch;
  return list.some((pattern) => pattern !== "" && match(pattern, key));
}

/** The root user always holds the root role (added when read and when created, as etcd). */
export function withRootRole(user: User): User {
  if (user.user !== ROOT_USER || (user.roles ?? []).includes(ROOT_ROLE)) return user;
  return { ...user, roles: [...(user.roles ?? []), ROOT_ROLE] };
}

function sortedSet(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(byteOrder);
}

/** Go's sort.Strings order (bytewise on UTF-8; code points compare the same way). */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * A user after a request's password, grant and revoke (etcd's `User.merge`); `hashed` is the
 * new password's hash, if one was given. The result's roles are always a list, never nil.
 */
export function mergeUser(old: User, change: User, hashed: string | undefined): User {
  const roles = new Set(old.roles ?? []);
  for (const g of change.grant ?? []) {
    if (roles.has(g)) throw new AuthError(409, `Granting duplicate role ${g} for user ${old.user}`);
    roles.add(g);
  }
  for (const r of change.revoke ?? []) {
    if (!roles.has(r))
      throw new AuthError(409, `Revoking ungranted role ${r} for user ${old.user}`);
    roles.delete(r);
  }
  return {
    user: old.user,
    password: hashed ?? old.password,
    roles: sortedSet(roles),
    grant: null,
    revoke: null,
  };
}

/** A role after a request's grant and revoke (etcd's `Role.merge`). */
export function mergeRole(old: Role, change: Role): Role {
  let permissions = old.permissions;
  if (change.grant !== null) permissions = grant(permissions, change.grant);
  if (change.revoke !== null) permissions = revoke(permissions, change.revoke);
  return { role: old.role, permissions, grant: null, revoke: null };
}

function grant(current: KvPermissions, added: KvPermissions): KvPermissions {
  const read = new Set(current.read ?? []);
  for (const r of added.read ?? []) {
    if (read.has(r)) throw new AuthError(409, `Granting duplicate read permission ${r}`);
    read.add(r);
  }
  const write = new Set(current.write ?? []);
  for (const w of added.write ?? []) {
    if (write.has(w)) throw new AuthError(409, `Granting duplicate write permission ${w}`);
    write.add(w);
  }
  return { read: sortedSet(read), write: sortedSet(write) };
}

/** Revoking a permission the role does not hold is ignored, as etcd does. */
function revoke(current: KvPermissions, removed: KvPermissions): KvPermissions {
  const read = new Set(current.read ?? []);
  for (const r of removed.read ?? []) read.delete(r);
  const write = new Set(current.write ?? []);
  for (const w of removed.write ?? []) write.delete(w);
  return { read: sortedSet(read), write: sortedSet(write) };
}

function sameList(a: GoList, b: GoList): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function samePermissions(a: KvPermissions | null, b: KvPermissions | null): boolean {
  if (a === null || b === null) return a === b;
  return sameList(a.read, b.read) && sameList(a.write, b.write);
}

/** Go's reflect.DeepEqual on two users (nil and empty lists differ). */
export function sameUser(a: User, b: User): boolean {
  return (
    a.user === b.user &&
    a.password === b.password &&
    sameList(a.roles, b.roles) &&
    sameList(a.grant, b.grant) &&
    sameList(a.revoke, b.revoke)
  );
}

/** Go's reflect.DeepEqual on two roles. */
export function sameRole(a: Role, b: Role): boolean {
  return (
    a.role === b.role &&
    samePermissions(a.permissions, b.permissions) &&
    samePermissions(a.grant, b.grant) &&
    samePermissions(a.revoke, b.revoke)
  );
}

export function isEmptyPermissions(p: KvPermissions | null): boolean {
  return p === null || ((p.read ?? []).length === 0 && (p.write ?? []).length === 0);
}
