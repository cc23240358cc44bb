/**
 * Who may do what, as etcd's v2 HTTP layer decides it: a request without an `Authorization`
 * header acts as the guest role, one with Basic credentials as that user through its roles,
 * anything else is refused. Answers synchronously while auth is off or the credentials are
 * remembered, so the common request never waits on a Promise.
 */
import type { AuthStore } from "./auth-store.ts";
import { type CredentialChecker, parseBasicAuth } from "./credentials.ts";
import { GUEST_ROLE, ROOT_ROLE, roleAllows, type User } from "./model.ts";

export interface KeyAccess {
  readonly method: string;
  /**
   * The key as the request names it and as the store cleans it: both must be allowed (etcd
   * checks only the first, which lets `/dir/*` reach the dir `/dir` itself through `/dir/`).
   */
  readonly keys: readonly string[];
  readonly recursive: boolean;
}

export type Decision = boolean | Promise<boolean>;

/** Who is asking: the request's Authorization header, and its abort signal. */
export interface Caller {
  readonly authorization: string | null;
  readonly signal?: AbortSignal;
}

export function callerOf(request: Request): Caller {
  // The signal is read only when a check has to wait (Bun makes it on first access).
  return {
    authorization: request.headers.get("authorization"),
    get signal() {
      return request.signal;
    },
  };
}

export class Access {
  constructor(
    private readonly store: AuthStore,
    private readonly credentials: CredentialChecker,
  ) {}

  /** Whether auth is on: when it is off every request is allowed. */
  get enabled(): boolean {
    return this.store.enabled();
  }

  /** etcd's hasKeyPrefixAccess. */
  keys(caller: Caller, access: KeyAccess): Decision {
    if (!this.store.enabled()) return true;
    const write = access.method !== "GET" && access.method !== "HEAD";
    if (caller.authorization === null || caller.authorization === "") {
      const guest = this.store.role(GUEST_ROLE);
      // The guest role is checked as etcd does: never as a recursive grant.
      const opts = { write, recursive: false };
      return guest !== undefined && access.keys.every((k) => roleAllows(guest, k, opts));
    }
    return this.asUser(caller, (user) =>
      access.keys.every((key) =>
        (user.roles ?? []).some((name) => {
          const role = this.store.role(name);
          return (
            role !== undefined && roleAllows(role, key, { write, recursive: access.recursive })
          );
        }),
      ),
    );
  }

  /** etcd's hasRootAccess: a user holding the root role (anyone while auth is off). */
  root(caller: Caller): Decision {
    if (!this.store.enabled()) return true;
    if (caller.authorization === null || caller.authorization === "") return false;
    return this.asUser(caller, (user) => (user.roles ?? []).includes(ROOT_ROLE));
  }

  /** etcd's hasWriteRootAccess: reads are open, anything else needs root. */
  writeRoot(method: string, caller: Caller): Decision {
    if (method === "GET" || method === "HEAD") return true;
    return this.root(caller);
  }

  /**
   * Authenticates the Basic credentials and asks `allowed` about the user. The user is read
   * again after a slow check, so a password change or deletion during it still counts.
   */
  private asUser(caller: Caller, allowed: (user: User) => boolean): Decision {
    const credentials = parseBasicAuth(caller.authorization ?? "");
    if (credentials === undefined) return false;
    const user = this.store.user(credentials.user);
    const hash = user?.password;
    const verified = this.credentials.verify(
      credentials.user,
      credentials.password,
      hash,
      caller.signal,
    );
    if (verified === true) return user !== undefined && allowed(user);
    if (verified === false) return false;
    return verified.then((ok) => {
      if (!ok) return false;
      const now = this.store.user(credentials.user);
      return now !== undefined && now.password === hash && allowed(now);
    });
  }
}
