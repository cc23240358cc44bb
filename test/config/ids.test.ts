/** Member and cluster IDs against values printed by the real etcd 3.4.23. */
import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/config.ts";
import { clusterIdFor, initialMembers, memberIdFor } from "../../src/config/ids.ts";

describe("ids match etcd 3.4", () => {
  test("one member, default token", () => {
    // etcd --initial-cluster default=http://127.0.0.1:23800 (token etcd-cluster)
    const id = memberIdFor(["http://127.0.0.1:23800"], "etcd-cluster");
    expect(id).toBe("2e1259d415f2a040");
    expect(clusterIdFor([id])).toBe("48276a8f75b6a87");
  });

  test("two members, one with two URLs, custom token", () => {
    // etcd --initial-cluster a=http://127.0.0.1:41380,b=http://127.0.0.1:41390,
    //   b=http://127.0.0.1:41391 --initial-cluster-token tok-x
    const a = memberIdFor(["http://127.0.0.1:41380"], "tok-x");
    const b = memberIdFor(["http://127.0.0.1:41391", "http://127.0.0.1:41390"], "tok-x");
    expect([a, b]).toEqual(["3513e65d460e4002", "e5b135e5f9c29795"]);
    expect(clusterIdFor([b, a])).toBe("1aa34ea591ac819d");
  });

  test("initialMembers from a parsed config", () => {
    const { config } = parseConfig(
      [
        "--name",
        "a",
        "--initial-advertise-peer-urls",
        "http://127.0.0.1:41380",
        "--initial-cluster",
        "b=http://127.0.0.1:41390,a=http://127.0.0.1:41380,b=http://127.0.0.1:41391",
        "--initial-cluster-token",
        "tok-x",
      ],
      {},
    );
    expect(initialMembers(config)).toEqual([
      { id: "3513e65d460e4002", name: "a", peerUrls: ["http://127.0.0.1:41380"] },
      {
        id: "e5b135e5f9c29795",
        name: "b",
        peerUrls: ["http://127.0.0.1:41390", "http://127.0.0.1:41391"],
      },
    ]);
  });
});

describe("id properties", () => {
  test("the time salt changes the id (runtime-added members)", () => {
    const urls = ["http://10.0.0.9:2380"];
    const plain = memberIdFor(urls, "");
    expect(memberIdFor(urls, "", 1700000000)).not.toBe(plain);
    expect(memberIdFor(urls, "", 1700000000)).toBe(memberIdFor(urls, "", 1700000000));
  });

  test("hex without zero padding", () => {
    for (let port = 1; port < 200; port++) {
      const id = memberIdFor([`http://h:${port}`], "t");
      expect(id).toMatch(/^[1-9a-f][0-9a-f]{0,15}$/);
    }
  });

  test("cluster id sorts ids numerically, not as text", () => {
    // "a" (10) < "1f" (31) numerically but not as text.
    expect(clusterIdFor(["a", "1f"])).toBe(clusterIdFor(["1f", "a"]));
  });

  test("the discovery URL is the token", () => {
    const { config } = parseConfig(["--discovery", "https://discovery.etcd.io/abc"], {});
    expect(initialMembers(config)[0]?.id).toBe(
      memberIdFor(["http://localhost:2380"], "https://discovery.etcd.io/abc"),
    );
  });
});
