/**
 * Real headless Chromium (Debian's `chromium`, driven by playwright-core) for the dashboard's
 * tests. Every page records console errors and uncaught exceptions, for the tests to assert none.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Browser tests are skipped without it, as the etcd comparisons without etcd (.ci/run installs both). */
export const chromiumInstalled = existsSync(CHROMIUM);

export interface WatchedPage {
  readonly page: Page;
  /** Console errors and page exceptions so far. */
  readonly errors: string[];
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], timeout: 30_000 });
}

export async function openPage(browser: Browser, url: string): Promise<WatchedPage> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`exception: ${error.message}`));
  page.setDefaultTimeout(20_000);
  await page.goto(url);
  return { page, errors };
}
