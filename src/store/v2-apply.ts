/**
 * Applying a v2 keys request to the store (etcd's `apply_v2.go` plus the GET branch of its
 * request handler). `V2Request` is what travels in the raft log, so it is plain JSON data.
 * This module decides which store operation a request means; it does not parse HTTP.
 */
import { assert, assertNever } from "../util/assert.ts";
import type { Event } from "./event.ts";
import { cleanStorePath, join } from "./path.ts";
import { storeKeysPrefix } from "./render.ts";
import type { ExpireOptions, Store } from "./store.ts";

export type V2Method = "PUT" | "POST" | "DELETE" | "QGET" | "GET" | "SYNC";

/** etcd's `etcdserverpb.Request` for the v2 keys API. All times are ms since the epoch. */
export interface V2Request {
  method: V2Method;
  /** User key path, rooted and cleaned ("/" = the keys root); `/1` is added when applying. */
  path: string;
  val: string;
  dir: boolean;
  /** "" = no value condition. */
  prevValue: string;
  /** 0 = no index condition. */
  prevIndex: number;
  /** undefined = not given (differs from false). */
  prevExist: boolean | undefined;
  /** Absolute expire time; 0 = no TTL. */
  expiration: number;
  wait: boolean;
  /** waitIndex; 0 = from the next change. */
  since: number;
  recursive: boolean;
  sorted: boolean;
  quorum: boolean;
  stream: boolean;
  refresh: boolean | undefined;
  noValueOnSuccess: boolean;
  /** The proposer's clock; SYNC expires keys whose expire time is ≤ this. */
  time: number;
}

/** A request with every field at its zero value but those given. */
export function v2Request(fields: Partial<V2Request> & Pick<V2Request, "method">): V2Request {
  return {
    path: "",
    val: "",
    dir: false,
    prevValue: "",
    prevIndex: 0,
    prevExist: undefined,
    expiration: 0,
    wait: false,
    since: 0,
    recursive: false,
    sorted: false,
    quorum: false,
    stream: false,
    refresh: undefined,
    noValueOnSuccess: false,
    time: 0,
    ...fields,
  };
}

/** The SYNC request the leader proposes to expire TTL keys as of `timeMs`. */
export function syncRequest(timeMs: number): V2Request {
  return v2Request({ method: "SYNC", time: timeMs });
}

/** The store path of a user key: `/1` + the cleaned key. */
export function userStorePath(path: string): string {
  return join(storeKeysPrefix, cleanStorePath(path));
}

/** The auth data's top-level dir (users, roles, the enabled flag), as etcd keeps it. */
export const AUTH_STORE_PREFIX = "/2";

/** The store path of an auth resource: `/2` + the cleaned path. */
export function authStorePath(path: string): string {
  return join(AUTH_STORE_PREFIX, cleanStorePath(path));
}

/**
 * Applies a request on user keys (`req.path` is relative to `/1`). Returns the event, or
 * undefined for SYNC. Throws EtcdError. A GET with `wait` is a watch and must go to
 * `store.watch` instead (a quorum GET with `wait` is a QGET: etcd ignores `wait` then).
 */
export function applyV2Request(store: Store, req: V2Request): Event | undefined {
  return applyV2StoreRequest(store, req, userStorePath(req.path));
}

/**
 * Like `applyV2Request`, for an absolute store path (e.g. the server's `/0/...` writes).
 */
export function applyV2StoreRequest(
  store: Store,
  req: V2Request,
  storePath: string,
): Event | undefined {
  switch (req.method) {
    case "PUT":
      return applyPut(store, req, storePath);
    case "POST":
      return store.create(storePath, req.dir, req.val, true, expireOptions(req));
    case "DELETE":
      if (req.prevIndex > 0 || req.prevValue !== "") {
        return store.compareAndDelete(storePath, req.prevValue, req.prevIndex);
      }
      return store.delete(storePath, req.dir, req.recursive);
    case "QGET":
      return store.get(storePath, req.recursive, req.sorted);
    case "GET":
      assert(!req.wait, "applyV2Request: a wait GET is a watch");
      return store.get(storePath, req.recursive, req.sorted);
    case "SYNC":
      store.deleteExpiredKeys(req.time);
      return undefined;
    default:
      return assertNever(req.method, "applyV2Request: unknown method");
  }
}

function applyPut(store: Store, req: V2Request, p: string): Event {
  const opts = expireOptions(req);
  if (req.prevExist === true) {
    if (req.prevIndex === 0 && req.prevValue === "") return store.update(p, req.val, opts);
    return store.compareAndSwap(p, req.prevValue, req.prevIndex, req.val, opts);
  }
  if (req.prevExist === false) return store.create(p, req.dir, req.val, false, opts);
  if (req.prevIndex > 0 || req.prevValue !== "") {
    return store.compareAndSwap(p, req.prevValue, req.prevIndex, req.val, opts);
  }
  return store.set(p, req.dir, req.val, opts);
}

/** etcd's `TTLOptions()`. */
export function expireOptions(req: V2Request): ExpireOptions {
  return { expireTime: req.expiration, refresh: req.refresh === true };
}
