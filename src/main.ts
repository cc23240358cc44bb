/**
 * Process entry: `bun src/main.ts [flags]` and the compiled binary. Parses flags and env,
 * picks the role and runs it; the exit code comes from src/cli/run.ts. The member module is
 * imported lazily so that --help, --version and configuration errors never load the server.
 */
import { runCli } from "./cli/run.ts";
import type { Config } from "./config/config.ts";

async function runMember(config: Config): Promise<void> {
  const member = await import("./member/member.ts");
  await member.runMember(config);
}

const code = await runCli(
  process.argv.slice(2),
  process.env,
  {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  },
  { runMember },
);
process.exitCode = code;
