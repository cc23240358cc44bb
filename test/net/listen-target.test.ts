/** Where a listen URL binds: etcd's unix sockets named by the host part, and default ports. */
import { expect, test } from "bun:test";
import { listenTargetOf } from "../../src/net/listen.ts";

test("a TCP URL binds its host and port, the scheme's default port when it names none", () => {
  expect(listenTargetOf("http://127.0.0.1:2380")).toEqual({
    kind: "tcp",
    hostname: "127.0.0.1",
    port: 2380,
  });
  expect(listenTargetOf("http://127.0.0.1:80")).toEqual({
    kind: "tcp",
    hostname: "127.0.0.1",
    port: 80,
  });
  expect(listenTargetOf("http://[::1]:2379")).toEqual({ kind: "tcp", hostname: "::1", port: 2379 });
});

test("a unix URL binds a socket file named by its host part, as etcd does", () => {
  expect(listenTargetOf("unix://localhost:12345")).toEqual({
    kind: "unix",
    path: "localhost:12345",
  });
});
