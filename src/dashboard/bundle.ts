/**
 * Bundles the page's browser code and styles. Imported as a Bun macro (assets.ts): it runs when
 * the server's code is transpiled or compiled, so the results are string constants inside the
 * binary; the page needs no files, CDN or network at run time. Bun.build cannot be called
 * from inside a macro (the bundler waits on it), so the bundler's CLI is run instead.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export function bundleDashboardScript(): string {
  const entry = join(import.meta.dir, "ui", "main.ts");
  const built = Bun.spawnSync([
    process.execPath,
    "build",
    entry,
    "--target=browser",
    "--format=esm",
    "--minify",
  ]);
  if (built.exitCode !== 0)
    throw new Error(`the dashboard's script did not bundle: ${built.stderr.toString()}`);
  return built.stdout.toString();
}

export function dashboardStyles(): string {
  const chartStyles = readFileSync(
    Bun.resolveSync("uplot/dist/uPlot.min.css", import.meta.dir),
    "utf8",
  );
  const own = readFileSync(join(import.meta.dir, "ui", "dashboard.css"), "utf8");
  return `${chartStyles}\n${own}`;
}
