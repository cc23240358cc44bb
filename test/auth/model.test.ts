import { describe, expect, test } from "bun:test";
import { decodeRole, decodeUser, JsonShapeError, roleJson, userJson } from "../../src/auth/json.ts";
import {
  AuthError,
  mergeRole,
  mergeUser,
  type Role,
  roleAllows,
  rootRole,
  sameRole,
  sameUser,
  type User,
  withRootRole,
} from "../../src/auth/model.ts";

const role = (read: string[] | null, write: string[] | null): Role => ({
  role: "r",
  permissions: { read, write },
  grant: null,
  revoke: null,
});
const user = (roles: string[] | null): User => ({
  user: "bob",
  password: "hash",
  roles,
  grant: null,
  revoke: null,
});

describe("permissions", () => {
  const r = role(["/a/*", "/exact"], ["/w/*"]);
  const read = { write: false, recursive: false };
  test("a * pattern is a prefix, any other pattern one key", () => {
    expect(roleAllows(r, "/a/b/c", read)).toBe(true);
    expect(roleAllows(r, "/a", read)).toBe(false);
    expect(roleAllows(r, "/exact", read)).toBe(true);
    expect(roleAllows(r, "/exact/child", read)).toBe(false);
    expect(roleAllows(r, "/EXACT", read)).toBe(false);
  });
  test("reads and writes are granted apart", () => {
    expect(roleAllows(r, "/w/x", read)).toBe(false);
    expect(roleAllows(r, "/w/x", { write: true, recursive: false })).toBe(true);
    expect(roleAllows(r, "/a/x", { write: true, recursive: false })).toBe(false);
  });
  test("a recursive request needs a * pattern covering the key", () => {
    expect(roleAllows(r, "/a/b", { write: false, recursive: true })).toBe(true);
    expect(roleAllows(r, "/exact", { write: false, recursive: true })).toBe(false);
  });
  test("the root role allows everything; an empty pattern nothing", () => {
    expect(roleAllows(rootRole, "/anything", { write: true, recursive: true })).toBe(true);
    expect(roleAllows(role([""], null), "/x", read)).toBe(false);
  });
});

describe("merges", () => {
  test("granting a held role or revoking an ungranted one is a conflict", () => {
    const u = user(["a"]);
    expect(() => mergeUser(u, { ...u, grant: ["a"] }, undefined)).toThrow(AuthError);
    expect(() => mergeUser(u, { ...u, revoke: ["b"] }, undefined)).toThrow(
      "auth: Revoking ungranted role b for user bob",
    );
  });
  test("a merged user has sorted roles, never nil, and the new hash when one is given", () => {
    const merged = mergeUser(user(null), { ...user(null), grant: ["z", "a"] }, "new");
    expect(merged).toEqual({
      user: "bob",
      password: "new",
      roles: ["a", "z"],
      grant: null,
      revoke: null,
    });
    // nil and empty differ, as Go's DeepEqual says: the first no-op update of a nil list writes.
    expect(sameUser(user(null), mergeUser(user(null), user(null), undefined))).toBe(false);
    expect(sameUser(user([]), mergeUser(user([]), user(null), undefined))).toBe(true);
  });
  test("revoking an absent permission is ignored; a duplicate grant conflicts", () => {
    const r = role(["/a"], null);
    const change = (grant: Role["grant"], revoke: Role["revoke"]): Role => ({
      ...r,
      grant,
      revoke,
    });
    expect(
      sameRole(role(["/a"], []), mergeRole(r, change(null, { read: ["/x"], write: null }))),
    ).toBe(true);
    expect(() => mergeRole(r, change({ read: ["/a"], write: null }, null))).toThrow(
      "auth: Granting duplicate read permission /a",
    );
  });
  test("the root user always holds the root role", () => {
    expect(withRootRole({ ...user(null), user: "root" }).roles).toEqual(["root"]);
    expect(withRootRole(user(null)).roles).toBeNull();
  });
});

describe("Go-style JSON", () => {
  test("field names match case-insensitively; null is the zero value; types are checked", () => {
    expect(decodeUser('{"User":"bob","PASSWORD":"x"}')).toMatchObject({
      user: "bob",
      password: "x",
    });
    expect(decodeUser("null")).toMatchObject({ user: "", roles: null });
    expect(() => decodeUser('{"user":"bob","roles":"r"}')).toThrow(JsonShapeError);
    expect(() => decodeUser('{"user":1}')).toThrow(JsonShapeError);
    expect(() => decodeUser("[]")).toThrow(JsonShapeError);
    expect(() => decodeRole("{")).toThrow(JsonShapeError);
  });
  test("nil lists render as null; empty omitempty fields are left out; a password never", () => {
    expect(JSON.stringify(roleJson(decodeRole('{"role":"r"}')))).toBe(
      '{"role":"r","permissions":{"kv":{"read":null,"write":null}}}',
    );
    expect(JSON.stringify(userJson({ ...user(null), password: "" }))).toBe(
      '{"user":"bob","roles":null}',
    );
  });
});
