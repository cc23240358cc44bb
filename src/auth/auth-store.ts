/**
 * The auth data kept in the replicated store under `/2` (`/2/users/<name>`, `/2/roles/<name>`,
 * `/2/enabled`), read and written the way etcd's v2 auth store does, so it reaches every member
 * through Raft and lives in snapshots and backups. Reads for access checks are local and cached
 * until the data's revision changes; changes read through a linearizable read first and write
 * with a compare-and-swap on the index they read, so two concurrent grants cannot lose one.
 */
import { ErrorCode, EtcdError } from "../store/errors.ts";
import type { Event } from "../store/event.ts";
import { type V2Request, v2Request } from "../store/v2-apply.ts";
import { decodeRole, decodeUser, JsonShapeError, roleJson, userJson } from "./json.ts";
import {
  AuthError,
  byteOrder,
  GUEST_ROLE,
  guestRole,
  mergeRole,
  mergeUser,
  ROOT_ROLE,
  ROOT_USER,
  type Role,
  rootRole,
  sameRole,
  sameUser,
  type User,
  withRootRole,
} from "./model.ts";

/** What the auth store needs from the member: paths are relative to `/2`. */
export interface AuthBackend {
  /** A local read; throws EtcdError (100 when absent). */
  get(path: string): Event;
  /** Resolves once a local read sees everything committed before the call. */
  linearizableRead(): Promise<void>;
  propose(req: V2Request): Promise<{ readonly error: EtcdError | undefined }>;
  /** Changes whenever anything under `/2` changes. */
  revision(): number;
}

/** Hashes a new password (bcrypt). */
export type PasswordHasher = (password: string) => Promise<string>;

interface Stored<T> {
  readonly value: T;
  readonly modifiedIndex: number;
}

/** How many times a change is re-read and retried when another change raced it. */
const CAS_ATTEMPTS = 5;

export class AuthStore {
  private cachedRevision = Number.NaN;
  private enabledCache = false;
  private readonly users = new Map<string, User | null>();
  private readonly roles = new Map<string, Role | null>();
  private directoriesMade = false;

  constructor(
    private readonly backend: AuthBackend,
    private readonly hash: PasswordHasher,
  ) {}

  private fresh(): void {
    const revision = this.backend.revision();
    if (revision === this.cachedRevision) return;
    this.cachedRevision = revision;
    this.users.clear();
    this.roles.clear();
    const enabled = this.read("/enabled");
    this.enabledCache = enabled?.value === "true";
  }

  /** Whether auth is on (`/2/enabled` holds `true`). */
  enabled(): boolean {
    this.fresh();
    return this.enabledCache;
  }

  /** The user as stored here (cached), or undefined. */
  user(name: string): User | undefined {
    this.fresh();
    let user = this.users.get(name);
    if (user === undefined) {
      user = this.parsed(`/users/${name}`, (text) => withRootRole(decodeUser(text)))?.value ?? null;
      this.users.set(name, user);
    }
    return user ?? undefined;
  }

  /** The role as stored here (cached; root is built in), or undefined. */
  role(name: string): Role | undefined {
    if (name === ROOT_ROLE) return rootRole;
    this.fresh();
    let role = this.roles.get(name);
    if (role === undefined) {
      role = this.parsed(`/roles/${name}`, decodeRole)?.value ?? null;
      this.roles.set(name, role);
    }
    return role ?? undefined;
  }

  /** Names of all users, sorted. */
  allUsers(): string[] {
    return this.childNames("/users");
  }

  /** Names of all roles with root, sorted. */
  allRoles(): string[] {
    return [ROOT_ROLE, ...this.childNames("/roles")].sort(byteOrder);
  }

  getUser(name: string): User {
    const user = this.user(name);
    if (user === undefined) throw new AuthError(404, `User ${name} does not exist.`);
    return user;
  }

  getRole(name: string): Role {
    const role = this.role(name);
    if (role === undefined) throw new AuthError(404, `Role ${name} does not exist.`);
    return role;
  }

  /** Creates a user, or changes its password if it exists: `created` says which. */
  async createOrUpdateUser(user: User): Promise<{ user: User; created: boolean }> {
    await this.backend.linearizableRead();
    if (this.storedUser(user.user) !== undefined)
      return { user: await this.updateUser(user), created: false };
    return { user: await this.createUser(user), created: true };
  }

  async createUser(input: User): Promise<User> {
    const user = input.user === ROOT_USER ? withRootRole(input) : input;
    if (user.password === "")
      throw new AuthError(400, `Cannot create user ${user.user} with an empty password`);
    const stored = { ...user, password: await this.hash(user.password) };
    const error = await this.write(`/users/${user.user}`, userJson(stored), { create: true });
    if (error?.code === ErrorCode.nodeExist)
      throw new AuthError(409, `User ${user.user} already exists.`);
    if (error !== undefined) throw error;
    return stored;
  }

  async updateUser(change: User): Promise<User> {
    return this.retryingRaces(async () => {
      await this.backend.linearizableRead();
      const old = this.storedUser(change.user);
      if (old === undefined) throw new AuthError(404, `User ${change.user} does not exist.`);
      const hashed = change.password === "" ? undefined : await this.hash(change.password);
      const next = mergeUser(old.value, change, hashed);
      if (sameUser(old.value, next))
        throw new AuthError(400, "User not updated. Use grant/revoke/password to update the user.");
      const path = `/users/${change.user}`;
      return {
        error: await this.write(path, userJson(next), { prevIndex: old.modifiedIndex }),
        next,
      };
    });
  }

  async deleteUser(name: string): Promise<void> {
    if (this.enabled() && name === ROOT_USER)
      throw new AuthError(403, "Cannot delete root user while auth is enabled.");
    const error = await this.remove(`/users/${name}`);
    if (error?.code === ErrorCode.keyNotFound)
      throw new AuthError(404, `User ${name} does not exist`);
    if (error !== undefined) throw error;
  }

  async createRole(role: Role): Promise<void> {
    if (role.role === ROOT_ROLE)
      throw new AuthError(403, `Cannot modify role ${role.role}: is root role.`);
    const error = await this.write(`/roles/${role.role}`, roleJson(role), { create: true });
    if (error?.code === ErrorCode.nodeExist)
      throw new AuthError(409, `Role ${role.role} already exists.`);
    if (error !== undefined) throw error;
  }

  async updateRole(change: Role): Promise<Role> {
    if (change.role === ROOT_ROLE)
      throw new AuthError(403, `Cannot modify role ${change.role}: is root role.`);
    return this.retryingRaces(async () => {
      await this.backend.linearizableRead();
      const old = this.parsed(`/roles/${change.role}`, decodeRole);
      if (old === undefined) throw new AuthError(404, `Role ${change.role} does not exist.`);
      const next = mergeRole(old.value, change);
      if (sameRole(old.value, next))
        throw new AuthError(400, "Role not updated. Use grant/revoke to update the role.");
      const path = `/roles/${change.role}`;
      return {
        error: await this.write(path, roleJson(next), { prevIndex: old.modifiedIndex }),
        next,
      };
    });
  }

  async deleteRole(name: string): Promise<void> {
    if (name === ROOT_ROLE) throw new AuthError(403, `Cannot modify role ${name}: is root role.`);
    const error = await this.remove(`/roles/${name}`);
    if (error?.code === ErrorCode.keyNotFound)
      throw new AuthError(404, `Role ${name} doesn't exist.`);
    if (error !== undefined) throw error;
  }

  /** Turns auth on: needs a root user; creates the guest role (all keys) if there is none. */
  async enableAuth(): Promise<void> {
    if (this.enabled()) throw new AuthError(409, "already enabled");
    await this.backend.linearizableRead();
    if (this.storedUser(ROOT_USER) === undefined)
      throw new AuthError(409, "No root user available, please create one");
    if (this.parsed(`/roles/${GUEST_ROLE}`, decodeRole) === undefined)
      await this.createRole(guestRole);
    await this.setEnabled(true);
  }

  async disableAuth(): Promise<void> {
    if (!this.enabled()) throw new AuthError(409, "already disabled");
    await this.setEnabled(false);
  }

  private async setEnabled(on: boolean): Promise<void> {
    const error = await this.write("/enabled", on, { update: true });
    if (error !== undefined) throw error;
  }

  /** The user as stored (after a linearizable read), with the index to compare against. */
  private storedUser(name: string): Stored<User> | undefined {
    return this.parsed(`/users/${name}`, (text) => withRootRole(decodeUser(text)));
  }

  /** Runs a read-modify-write again when its compare-and-swap lost a race. */
  private async retryingRaces<T>(
    attempt: () => Promise<{ error: EtcdError | undefined; next: T }>,
  ): Promise<T> {
    for (let i = 1; ; i++) {
      const { error, next } = await attempt();
      if (error === undefined) return next;
      if (error.code !== ErrorCode.testFailed || i === CAS_ATTEMPTS) throw error;
    }
  }

  /** A file's node, or undefined when it is absent or a dir. */
  private read(path: string): { value: string; modifiedIndex: number } | undefined {
    try {
      const node = this.backend.get(path).node;
      if (node.value === undefined) return undefined;
      return { value: node.value, modifiedIndex: node.modifiedIndex };
    } catch (error) {
      if (error instanceof EtcdError) return undefined;
      throw error;
    }
  }

  /**
   * `/users/<name>` or `/roles/<name>` decoded; undefined when absent or not of the shape. A
   * name is one path element: "a/b", "." or ".." (say, from a Basic auth header) would reach
   * another node.
   */
  private parsed<T>(path: string, decode: (text: string) => T): Stored<T> | undefined {
    const name = path.slice(path.indexOf("/", 1) + 1);
    if (name === "" || name === "." || name === ".." || name.includes("/")) return undefined;
    const node = this.read(path);
    if (node === undefined) return undefined;
    try {
      return { value: decode(node.value), modifiedIndex: node.modifiedIndex };
    } catch (error) {
      if (error instanceof JsonShapeError) return undefined;
      throw error;
    }
  }

  private childNames(dir: string): string[] {
    let event: Event;
    try {
      event = this.backend.get(dir);
    } catch (error) {
      if (error instanceof EtcdError && error.code === ErrorCode.keyNotFound) return [];
      throw error;
    }
    const names = (event.node.nodes ?? []).map((n) => n.key.slice(n.key.lastIndexOf("/") + 1));
    return names.sort(byteOrder);
  }

  /** etcd makes `/2`, `/2/users`, `/2/roles` and `/2/enabled=false` before its first write. */
  private async ensureDirectories(): Promise<void> {
    if (this.directoriesMade) return;
    for (const path of ["/", "/users", "/roles"]) {
      const { error } = await this.backend.propose(
        v2Request({ method: "PUT", path, dir: true, prevExist: false }),
      );
      if (error !== undefined && error.code !== ErrorCode.nodeExist) throw error;
    }
    const { error } = await this.backend.propose(
      v2Request({ method: "PUT", path: "/enabled", val: "false", prevExist: false }),
    );
    if (error !== undefined && error.code !== ErrorCode.nodeExist) throw error;
    this.directoriesMade = true;
  }

  private async write(
    path: string,
    value: unknown,
    how: { create: true } | { update: true } | { prevIndex: number },
  ): Promise<EtcdError | undefined> {
    await this.ensureDirectories();
    const condition =
      "create" in how
        ? { prevExist: false }
        : "update" in how
          ? { prevExist: true }
          : { prevIndex: how.prevIndex };
    const val = JSON.stringify(value);
    const { error } = await this.backend.propose(
      v2Request({ method: "PUT", path, val, ...condition }),
    );
    return error;
  }

  private async remove(path: string): Promise<EtcdError | undefined> {
    await this.ensureDirectories();
    const { error } = await this.backend.propose(
      v2Request({ method: "DELETE", path, prevExist: true }),
    );
    return error;
  }
}
