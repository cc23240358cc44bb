/** The SRV record rules with a stand-in resolver: naming, both record sets, errors. */
import { expect, test } from "bun:test";
import { type Resolver, SrvError, srvCluster } from "../../src/discovery/srv.ts";

function resolver(records: Record<string, { name: string; port: number }[]>): Resolver & {
  asked: string[];
} {
  const asked: string[] = [];
  return {
    asked,
    async resolveSrv(name) {
      asked.push(name);
      const found = records[name];
      if (found === undefined) throw Object.assign(new Error("nope"), { code: "ENOTFOUND" });
      return found;
    },
    async lookup(host) {
      if (host.endsWith(".test")) return "10.0.0.1";
      throw Object.assign(new Error("nope"), { code: "ENOTFOUND" });
    },
    server: () => "127.0.0.1:53",
  };
}

const query = {
  domain: "d.test",
  serviceName: "",
  name: "me",
  advertisePeerUrls: ["http://10.0.0.1:2380"],
};

test("https and http records combine; this member gets its name, the others 0, 1, ...", async () => {
  const r = resolver({
    "_etcd-server-ssl._tcp.d.test": [{ name: "a.d.test.", port: 2390 }],
    "_etcd-server._tcp.d.test": [
      { name: "b.d.test.", port: 2381 },
      { name: "me.d.test.", port: 2380 },
    ],
  });
  expect(await srvCluster(query, r)).toBe(
    "0=https://a.d.test:2390,1=http://b.d.test:2381,me=http://me.d.test:2380",
  );
  expect(r.asked).toEqual(["_etcd-server-ssl._tcp.d.test", "_etcd-server._tcp.d.test"]);
});

test("--discovery-srv-name adds its suffix to both record names", async () => {
  const r = resolver({ "_etcd-server-blue._tcp.d.test": [{ name: "me.d.test", port: 2380 }] });
  expect(await srvCluster({ ...query, serviceName: "blue" }, r)).toBe("me=http://me.d.test:2380");
  expect(r.asked).toEqual(["_etcd-server-ssl-blue._tcp.d.test", "_etcd-server-blue._tcp.d.test"]);
});

test("a target that does not resolve is skipped; none left is etcd's error", async () => {
  const r = resolver({ "_etcd-server._tcp.d.test": [{ name: "gone.example", port: 1 }] });
  const error = await srvCluster(query, r).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SrvError);
  expect((error as Error).message).toBe(
    "error querying DNS SRV records for _etcd-server-ssl lookup _etcd-server-ssl._tcp.d.test on 127.0.0.1:53: no such host; error querying DNS SRV records for _etcd-server lookup gone.example: no such host",
  );
});

test("this member found under the other scheme is a scheme mismatch", async () => {
  const r = resolver({ "_etcd-server-ssl._tcp.d.test": [{ name: "me.d.test", port: 2380 }] });
  const error = await srvCluster(query, r).catch((e: unknown) => e);
  expect((error as Error).message).toContain(
    "bootstrap at https://me.d.test:2380 from DNS for etcd-server-ssl has scheme mismatch with expected peer http://10.0.0.1:2380",
  );
});

test("a proxy (no name) takes every record's peer", async () => {
  const r = resolver({
    "_etcd-server._tcp.d.test": [
      { name: "me.d.test", port: 2380 },
      { name: "b.d.test", port: 2381 },
    ],
  });
  expect(await srvCluster({ ...query, name: "", advertisePeerUrls: [] }, r)).toBe(
    "0=http://me.d.test:2380,1=http://b.d.test:2381",
  );
});
