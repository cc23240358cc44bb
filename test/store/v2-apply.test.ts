/** applyV2Request: which store operation each request means (etcd's apply_v2.go). */
import { expect, test } from "bun:test";
import { Store } from "../../src/store/store.ts";
import { applyV2Request, applyV2StoreRequest, type V2Request } from "../../src/store/v2-apply.ts";

const t0 = 1_800_000_000_000;

function req(over: Partial<V2Request>): V2Request {
  return {
    method: "PUT",
    path: "/k",
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
    time: t0,
    ...over,
  };
}

test("PUT/POST/DELETE/QGET/GET map to the store operations", () => {
  const s = new Store();
  const act = (r: Partial<V2Request>) => applyV2Request(s, req(r))?.action;
  expect(act({ val: "1" })).toBe("set");
  expect(act({ val: "2", prevExist: true })).toBe("update");
  expect(act({ val: "3", prevExist: true, prevIndex: 2 })).toBe("compareAndSwap");
  expect(act({ val: "4", prevValue: "3" })).toBe("compareAndSwap");
  expect(act({ path: "/n", val: "1", prevExist: false, prevValue: "ignored" })).toBe("create");
  expect(act({ val: "5", prevIndex: 0 })).toBe("set");
  expect(act({ method: "POST", path: "/q", val: "x" })).toBe("create");
  expect(act({ method: "QGET", path: "/q", recursive: true })).toBe("get");
  expect(act({ method: "GET", path: "/" })).toBe("get");
  expect(act({ method: "DELETE", prevValue: "5" })).toBe("compareAndDelete");
  expect(act({ method: "DELETE", path: "/q", recursive: true })).toBe("delete");
  expect(applyV2Request(s, req({ method: "GET", path: "/n" }))?.node.key).toBe("/1/n");
  expect(() => applyV2Request(s, req({ method: "GET", wait: true }))).toThrow(/watch/);
});

test("expiration and refresh reach the store; SYNC expires up to its time", () => {
  const s = new Store();
  applyV2Request(s, req({ val: "v", expiration: t0 + 1000 }));
  const r = applyV2Request(s, req({ prevExist: true, expiration: t0 + 3000, refresh: true }));
  expect([r?.node.value, r?.node.expireTime, r?.refresh]).toEqual(["v", t0 + 3000, true]);
  expect(applyV2Request(s, req({ method: "SYNC", time: t0 + 2999 }))).toBeUndefined();
  expect(s.index()).toBe(2);
  applyV2Request(s, req({ method: "SYNC", time: t0 + 3000 }));
  expect([s.index(), s.hasTTLKeys()]).toEqual([3, false]);
});

test("user paths cannot escape /1; store requests can address /0", () => {
  const s = new Store();
  expect(applyV2Request(s, req({ path: "/../0/x", val: "v" }))?.node.key).toBe("/1/0/x");
  expect(applyV2StoreRequest(s, req({ val: "3.4.0" }), "/0/version")?.node.key).toBe("/0/version");
});
