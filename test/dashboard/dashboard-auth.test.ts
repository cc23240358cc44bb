/**
 * The dashboard under v2 auth, in headless Chromium: with the guest role revoked the key
 * browser is refused like any client, and after signing in as root the page reads the keys
 * with root's credentials. The overview stays public, as etcd's members and stats endpoints.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { basic, sendAs } from "../security/auth-cases.ts";
import { chromiumInstalled, launchBrowser, openPage } from "../support/browser.ts";
import { type MemberProcess, startMember } from "../support/cluster-process.ts";

const ROOT = basic("root", "rootpw");

describe.skipIf(!chromiumInstalled)("the dashboard in headless Chromium under v2 auth", () => {
  let member: MemberProcess;
  let browser: Browser;

  async function send(method: string, path: string, body?: string, auth?: string) {
    const { status } = await sendAs(member.clientUrl, method, path, auth, body);
    expect({ path, status: status < 300 }).toEqual({ path, status: true });
  }

  beforeAll(async () => {
    [member, browser] = await Promise.all([startMember(), launchBrowser()]);
    await send("PUT", "/v2/keys/secret", "value=hidden");
    await send("PUT", "/v2/auth/users/root", '{"user":"root","password":"rootpw"}');
    await send("PUT", "/v2/auth/enable");
    const revoke = '{"role":"guest","revoke":{"kv":{"read":["/*"],"write":["/*"]}}}';
    await send("PUT", "/v2/auth/roles/guest", revoke, ROOT);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await member?.stop();
  });

  test("keys are refused until the user signs in, then read with the user's rights", async () => {
    const { page, errors } = await openPage(browser, `${member.clientUrl}/dashboard`);
    // The overview needs no credentials.
    await page.locator('[data-testid="member-count"]', { hasText: "1" }).waitFor();
    const refused = page.locator("#keys .error");
    await refused.waitFor();
    expect(await refused.textContent()).toContain("(error 110)");
    expect(await page.locator("button.leaf").count()).toBe(0);

    await page.locator('input[name="user"]').fill("root");
    await page.locator('input[name="password"]').fill("rootpw");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("header", { hasText: "Signed in as root" }).waitFor();
    await page.locator('button.leaf[data-key="/secret"]').click();
    await page.locator('[data-testid="value"]').waitFor();
    expect(await page.locator('[data-testid="value"]').inputValue()).toBe("hidden");
    // Before signing in, Chromium logged the refused key requests; nothing else went wrong.
    const other = errors.filter((e) => !e.includes("status of 401 (Unauthorized)"));
    expect(other).toEqual([]);
    expect(errors.length).toBeGreaterThan(0);
  }, 60_000);
});
