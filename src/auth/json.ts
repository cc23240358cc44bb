/**
 * Users and roles to and from JSON as etcd's Go structs read and write them: field names match
 * case-insensitively (the last one wins), `null` leaves a field at its zero value, a value of
 * the wrong type refuses the whole body, unknown fields are ignored, and `omitempty` fields are
 * left out when empty.
 */
import type { GoList, KvPermissions, Role, User } from "./model.ts";

/** The body is not one JSON object of the expected shape. */
export class JsonShapeError extends Error {
  override name = "JsonShapeError";
}

type Fields = Readonly<Record<string, unknown>>;

/** Parses one JSON value; `null` is Go's zero value, anything but an object a type error. */
function objectOf(value: unknown): Fields {
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new JsonShapeError("not an object");
  return value as Fields;
}

function field(obj: Fields, name: string): unknown {
  let found: unknown;
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === name) found = v;
  return found;
}

function stringField(obj: Fields, name: string): string {
  const v = field(obj, name);
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new JsonShapeError(`${name}: not a string`);
  return v;
}

function listField(obj: Fields, name: string): GoList {
  const v = field(obj, name);
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new JsonShapeError(`${name}: not a list`);
  return v.map((item) => {
    // Go leaves a null element as "".
    if (item === null) return "";
    if (typeof item !== "string") throw new JsonShapeError(`${name}: not a list of strings`);
    return item;
  });
}

function permissionsOf(value: unknown): KvPermissions {
  const kv = objectOf(field(objectOf(value), "kv") ?? null);
  return { read: listField(kv, "read"), write: listField(kv, "write") };
}

function optionalPermissions(obj: Fields, name: string): KvPermissions | null {
  const v = field(obj, name);
  return v === undefined || v === null ? null : permissionsOf(v);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new JsonShapeError("invalid JSON");
  }
}

export function decodeUser(text: string): User {
  const obj = objectOf(parse(text));
  return {
    user: stringField(obj, "user"),
    password: stringField(obj, "password"),
    roles: listField(obj, "roles"),
    grant: listField(obj, "grant"),
    revoke: listField(obj, "revoke"),
  };
}

export function decodeRole(text: string): Role {
  const obj = objectOf(parse(text));
  return {
    role: stringField(obj, "role"),
    permissions: permissionsOf(field(obj, "permissions") ?? null),
    grant: optionalPermissions(obj, "grant"),
    revoke: optionalPermissions(obj, "revoke"),
  };
}

/** A user as etcd's `User` struct encodes (password, grant and revoke are omitempty). */
export function userJson(user: User): Record<string, unknown> {
  return {
    user: user.user,
    ...(user.password !== "" && { password: user.password }),
    roles: user.roles,
    ...(user.grant !== null && user.grant.length > 0 && { grant: user.grant }),
    ...(user.revoke !== null && user.revoke.length > 0 && { revoke: user.revoke }),
  };
}

function permissionsJson(p: KvPermissions): Record<string, unknown> {
  return { kv: { read: p.read, write: p.write } };
}

/** A role as etcd's `Role` struct encodes (grant and revoke are omitempty pointers). */
export function roleJson(role: Role): Record<string, unknown> {
  return {
    role: role.role,
    permissions: permissionsJson(role.permissions),
    ...(role.grant !== null && { grant: permissionsJson(role.grant) }),
    ...(role.revoke !== null && { revoke: permissionsJson(role.revoke) }),
  };
}
