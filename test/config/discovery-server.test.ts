/** The `discovery` subcommand's flags (discovery.etcd.io's -e/-h/-a and DISC_* variables). */
import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/config.ts";

describe("discovery subcommand", () => {
  test("defaults", () => {
    const r = parseConfig(["discovery"], {});
    expect(r.role).toBe("discovery");
    expect(r.discoveryServer).toEqual({
      etcdUrl: "http://127.0.0.1:2379",
      hostPrefix: "http://example.com",
      listenAddr: ":8087",
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
  ] as const)("%j fails", (argv, message) => {
    expect(() => parseConfig(["discovery", ...argv], {})).toThrow(message);
  });
});
