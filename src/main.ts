/**
 * Process entry: `bun src/main.ts [flags]` and the compiled binary. Parses flags and env,
 * picks the role and runs it; the exit code comes from src/cli/run.ts. The role modules are
 * imported lazily so that --help, --version and configuration errors never load a server.
 */
import { runCli } from "./cli/run.ts";
import type { Config, DiscoveryServerConfig } from "./config/config.ts";

async function runMember(config: Config): Promise<undefined | "proxy"> {
  const member = await import("./member/member.ts");
  return member.runMember(config);
}

async function runProxy(config: Config): Promise<void> {
  const proxy = await import("./proxy/proxy.ts");
  await proxy.runProxy(config);
}

async function runDiscovery(config: DiscoveryServerConfig): Promise<void> {
  const [service, store] = await Promise.all([
    import("./discovery/service.ts"),
    import("./member/embedded-store.ts"),
  ]);
  await service.runDiscoveryService(config, store.startEmbeddedStore);
}

const code = await runCli(
  process.argv.slice(2),
  process.env,
  {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  },
  { runMember, runProxy, runDiscovery },
);
process.exitCode = code;
