/**
 * The dashboard in real headless Chromium against a live 3-member cluster and a proxy: the
 * overview shows every member and the leader and follows a leader's death; a key edited in
 * the page lands in the store by compare-and-swap, and a conflicting change is shown, not
 * overwritten; a watch shows a write made with curl; the page logs no errors.
 * DASHBOARD_SCREENSHOT=<file.png> saves a screenshot of the page (the README's).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import {
  chromiumInstalled,
  launchBrowser,
  openPage,
  type WatchedPage,
} from "../support/browser.ts";
import {
  type ClusterProcess,
  type MemberProcess,
  startCluster,
  startProxyProcess,
} from "../support/cluster-process.ts";

describe.skipIf(!chromiumInstalled)(
  "the dashboard in headless Chromium: a 3-member cluster and a proxy",
  () => {
    let cluster: ClusterProcess;
    let proxy: MemberProcess;
    let browser: Browser;
    let leader: MemberProcess;
    let follower: MemberProcess;
    let watched: WatchedPage;
    let page: Page;

    beforeAll(async () => {
      [cluster, browser] = await Promise.all([startCluster({ size: 3 }), launchBrowser()]);
      leader = await cluster.leader();
      follower = cluster.members.find((m) => m !== leader) as MemberProcess;
      proxy = await startProxyProcess({
        initialCluster: cluster.members.map((m) => `${m.name}=${m.peerUrl}`).join(","),
      });
      watched = await openPage(browser, `${follower.clientUrl}/dashboard`);
      page = watched.page;
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      await proxy?.stop();
      await cluster?.stop();
    });

    async function put(key: string, value: string): Promise<void> {
      const res = await fetch(`${follower.clientUrl}/v2/keys${key}`, {
        method: "PUT",
        body: new URLSearchParams({ value }),
      });
      expect(res.status).toBeLessThan(300);
    }

    async function storedValue(key: string): Promise<string> {
      const res = await fetch(`${follower.clientUrl}/v2/keys${key}?quorum=true`);
      return ((await res.json()) as { node: { value: string } }).node.value;
    }

    const testId = (id: string) => `[data-testid="${id}"]`;

    /** Polls `check` until it holds (every 100 ms, up to `timeoutMs`). */
    async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
        await Bun.sleep(100);
      }
    }

    const text = async (selector: string) => (await page.locator(selector).textContent()) ?? "";

    /** Opens `key` in the page's tree (its directory first) and waits for its value to show. */
    async function openKey(dir: string, key: string, value: string): Promise<void> {
      await page.getByRole("button", { name: "Refresh" }).click();
      const dirButton = page.locator(`button.dir[data-key="${dir}"]`);
      if ((await dirButton.textContent())?.includes("▸")) await dirButton.click();
      await page.locator(`button.leaf[data-key="${key}"]`).click();
      await eventually(`${key} shows ${value}`, async () => {
        return (await page.locator(testId("value")).inputValue()) === value;
      });
    }

    test("the overview shows the three members, each healthy, and which one leads", async () => {
      await page.locator("tr[data-member]").nth(2).waitFor();
      expect(await page.locator("tr[data-member]").count()).toBe(3);
      await page.locator(testId("leader-name"), { hasText: leader.name }).waitFor();
      await eventually("every member healthy", async () => {
        const health = await page.locator(testId("health")).allTextContents();
        return health.filter((h) => h.trim() === "healthy").length === 3;
      });
      const leaderRow = page.locator(`tr[data-member="${leader.name}"]`);
      expect(await leaderRow.locator(testId("state")).textContent()).toBe("leader");
      expect(await page.locator(testId("member-count")).textContent()).toBe("3");
    }, 60_000);

    test("a key edited in the page is changed in the store (compare-and-swap)", async () => {
      await put("/browser/edit", "one");
      await openKey("/browser", "/browser/edit", "one");
      await page.locator(testId("value")).fill("two");
      await page.locator(testId("save")).click();
      await page.locator(testId("key-message"), { hasText: "Saved at index" }).waitFor();
      expect(await storedValue("/browser/edit")).toBe("two");
    }, 60_000);

    test("a change made meanwhile is shown as a conflict, not overwritten", async () => {
      await put("/browser/conflict", "first");
      await openKey("/browser", "/browser/conflict", "first");
      await put("/browser/conflict", "theirs");
      await page.locator(testId("value")).fill("mine");
      await page.locator(testId("save")).click();
      const message = page.locator(testId("key-message"));
      await message.filter({ hasText: "Not saved" }).waitFor();
      expect(await message.textContent()).toContain("changed since it was read");
      expect(await message.textContent()).toContain("Compare failed");
      expect(await storedValue("/browser/conflict")).toBe("theirs");
      // Chromium logs every 4xx answer to fetch; this one (412) is the conflict the page handled.
      const logged = watched.errors.splice(0);
      expect(logged).toEqual([
        "console: Failed to load resource: the server responded with a status of 412 (Precondition Failed)",
      ]);
    }, 60_000);

    test("a key deleted in the page is gone from the store (compare-and-delete)", async () => {
      await put("/browser/doomed", "bye");
      await openKey("/browser", "/browser/doomed", "bye");
      await page.locator(testId("delete")).click();
      await page.locator(testId("confirm-delete")).click();
      await page.locator(testId("key-message"), { hasText: "Deleted /browser/doomed" }).waitFor();
      const res = await fetch(`${follower.clientUrl}/v2/keys/browser/doomed?quorum=true`);
      expect(res.status).toBe(404);
    }, 60_000);

    test("the charts show writes per second and fdatasync latency as numbers", async () => {
      for (let i = 0; i < 20; i++) await put(`/browser/load${i % 4}`, String(i));
      await eventually("a write rate above zero", async () => {
        const shown = await text(`${testId("writes/s")} figcaption strong`);
        return Number(shown) > 0;
      });
      await eventually("an fdatasync latency above zero", async () => {
        return Number(await text(`${testId("ms")} figcaption strong`)) > 0;
      });
      expect(Number(await text(`${testId("changes")} figcaption strong`))).toBeGreaterThanOrEqual(
        1,
      );
    }, 60_000);

    test("a key created with a TTL shows it counting down", async () => {
      await page.locator(testId("new-key")).fill("/browser/ttl");
      await page.locator(testId("new-value")).fill("short-lived");
      await page.locator(testId("new-ttl")).fill("60");
      await page.locator(testId("create")).click();
      await page.locator(testId("create-message"), { hasText: "Created /browser/ttl" }).waitFor();
      expect(await storedValue("/browser/ttl")).toBe("short-lived");
      const left = async () => Number((await text(testId("ttl-left"))).match(/(\d+) s/)?.[1]);
      await page.locator(testId("ttl-left")).waitFor();
      const first = await left();
      expect(first).toBeGreaterThan(50);
      expect(first).toBeLessThanOrEqual(60);
      await eventually("the TTL counts down", async () => (await left()) < first);
    }, 60_000);

    test("a watch in the page shows a write made with curl", async () => {
      await page.locator(testId("watch-prefix")).fill("/watched");
      await page.locator(testId("watch-toggle")).click();
      // Once it says so, the page watches from the store's index then: no write after is missed.
      await page.locator(testId("watch-status"), { hasText: "watching /watched" }).waitFor();
      const curl = Bun.spawn(
        [
          "curl",
          "-sS",
          "-X",
          "PUT",
          `${leader.clientUrl}/v2/keys/watched/from-curl`,
          "-d",
          "value=hello",
        ],
        { stdout: "pipe", stderr: "pipe" },
      );
      expect(await curl.exited).toBe(0);
      const row = page.locator(`${testId("events")} tbody tr`, { hasText: "/watched/from-curl" });
      await row.waitFor();
      expect(await row.textContent()).toContain("hello");
      expect(await row.textContent()).toContain("set");
    }, 60_000);

    test("the proxy's dashboard shows the same cluster", async () => {
      const viaProxy = await openPage(browser, `${proxy.clientUrl}/dashboard`);
      await viaProxy.page.locator("tr[data-member]").nth(2).waitFor();
      await viaProxy.page.locator(testId("leader-name"), { hasText: leader.name }).waitFor();
      expect(await viaProxy.page.locator("#overview").textContent()).toContain(
        "Served by: a proxy",
      );
      await viaProxy.page.close();
      expect(viaProxy.errors).toEqual([]);
    }, 60_000);

    test("killing the leader: the page shows the new leader and the old one unreachable", async () => {
      const screenshot = process.env.DASHBOARD_SCREENSHOT;
      if (screenshot !== undefined) await page.screenshot({ path: screenshot, fullPage: true });
      const changesBefore = Number(await text(`${testId("changes")} figcaption strong`));
      await leader.kill("SIGKILL");
      await eventually(
        "another leader shown",
        async () => ![leader.name, "none", ""].includes(await text(testId("leader-name"))),
        30_000,
      );
      const oldRow = page.locator(`tr[data-member="${leader.name}"]`);
      await oldRow.locator(testId("health"), { hasText: "unreachable" }).waitFor();
      const newLeader = await page.locator(testId("leader-name")).textContent();
      expect(cluster.members.map((m) => m.name)).toContain(newLeader ?? "");
      // The member serving the page saw the second leader.
      await eventually(
        "the leader changes chart counts one more",
        async () => Number(await text(`${testId("changes")} figcaption strong`)) > changesBefore,
      );
    }, 60_000);

    test("the page logged no console errors and threw no exceptions", () => {
      expect(watched.errors).toEqual([]);
    });
  },
);
