/** The `discovery` subcommand's flags (discovery.etcd.io's -e/-h/-a and DISC_* variables). */
import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/config.ts";

describe("discovery subcommand", () => {
  test("defaults", () => {
    const r = parseConfig(["discovery"], {});
    expect(r.role).toBe("discovery");
    // No --etcd: the tokens live in an embedded member.
    expect(r.discoveryServer).toEqual({
      etcdUrl: undefined,
      hostPrefix: "http://example.com",
      listenAddr: ":8087",
      dataDir: "discovery.etcd",
      tokenTtlS: 0,
    });
  });

  test.each([
    [["-e", "http://10.0.0.1:2379", "-h", "https://d.example/", "-a", ":9000"], {}],
    [["--etcd=http://10.0.0.1:2379", "--host", "https://d.example", "-addr=:9000"], {}],
    [[], { DISC_ETCD: "http://10.0.0.1:2379", DISC_HOST: "https://d.example", DISC_ADDR: ":9000" }],
    [
      ["-a", ":9000"],
      { DISC_ETCD: "http://10.0.0.1:2379", DISC_HOST: "https://d.example", DISC_ADDR: ":1" },
    ],
  ] as const)("%j %j", (argv, env) => {
    expect(parseConfig(["discovery", ...argv], env).discoveryServer).toEqual({
      etcdUrl: "http://10.0.0.1:2379",
      hostPrefix: "https://d.example",
      listenAddr: ":9000",
      dataDir: "discovery.etcd",
      tokenTtlS: 0,
    });
  });

  test("--data-dir and --token-ttl, or DISC_DATA_DIR and DISC_TOKEN_TTL", () => {
    const config = (argv: string[], env: Record<string, string>) =>
      parseConfig(["discovery", ...argv], env).discoveryServer;
    expect(config(["--data-dir", "/d", "--token-ttl", "3600"], {})).toMatchObject({
      dataDir: "/d",
      tokenTtlS: 3600,
    });
    expect(config([], { DISC_DATA_DIR: "/e", DISC_TOKEN_TTL: "60" })).toMatchObject({
      dataDir: "/e",
      tokenTtlS: 60,
    });
  });

  test("--help asks for the discovery help; -h is --host", () => {
    expect(parseConfig(["discovery", "--help"], {})).toMatchObject({
      role: "help",
      helpTopic: "discovery",
    });
    expect(() => parseConfig(["discovery", "-h"], {})).toThrow("flag needs an argument: -h");
  });

  test.each([
    [["--name", "x"], "flag provided but not defined: -name"],
    [["-e", "foo"], "invalid --etcd foo: URL scheme must be http, https, unix, or unixs: foo"],
    [
      ["-e", "http://a:1/v2"],
      "invalid --etcd http://a:1/v2: URL must not contain a path: http://a:1/v2",
    ],
    [["extra"], "'extra' is not a valid flag"],
    [
      ["-e", "unix://sock:1"],
      "invalid --etcd unix://sock:1: the discovery service speaks http(s) only",
    ],
    [["--token-ttl", "-1"], "invalid --token-ttl -1: a whole number of seconds"],
    [["-a", "8087"], "invalid --addr 8087: want [host]:port"],
  ] as const)("%j fails", (argv, message) => {
    expect(() => parseConfig(["discovery", ...argv], {})).toThrow(message);
  });
});
