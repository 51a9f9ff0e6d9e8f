import { expect } from "chai";
import type { Page } from "playwright-core";
import { createApiKey } from "../src/store/merchantStore";
import { pageScreenshot } from "./support/browser";
import { usePhoneBrowser } from "./support/phoneBrowser";
import { injectKeyWallet, useDashboardStack, type DashboardFixture } from "./support/dashboardStack";
import { CHAIN_ID, catchUp, localIndexer, mine, SETTINGS, useLocalChain } from "./support/localChain";
import { payOnChain } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";

describe("dashboard API keys and overview in a real browser (Chromium)", function () {
  this.timeout(120_000);
  const chain = useLocalChain();
  const phone = usePhoneBrowser();
  const dashboardStack = useDashboardStack(chain);
  let stack: DashboardFixture;

  beforeEach(async function () {
    stack = dashboardStack();
  });

  /** The dashboard, signed in with the merchant's wallet. */
  const signedIn = async (): Promise<Page> => {
    const page = await phone.newPage();
    await injectKeyWallet(page, stack.merchantKey, CHAIN_ID);
    await page.goto(`${stack.url}/dashboard`);
    await page.getByRole("button", { name: "Sign in with wallet" }).click();
    await page.locator("#merchant-name").waitFor();
    return page;
  };
  const expectOnlyOwnRequests = () => phone.expectOnlyRequestsTo(stack.url);

  it("creates a key shown once, sees its last use, and revokes it: the API refuses it at once", async function () {
    const page = await signedIn();
    await page.getByLabel("Key name").fill("Shop server");
    await page.getByRole("button", { name: "Create key" }).click();
    const shown = page.locator("#new-key-value");
    await shown.waitFor();
    const key = (await shown.textContent())!;
    expect(key).to.match(/^op_test_/);
    await page.locator("#dashboard-status", { hasText: 'Key "Shop server" created' }).waitFor();
    const row = page.locator("#key-list tbody tr", { hasText: "Shop server" });
    expect(await row.locator("td").allTextContents()).to.include.members(["Shop server", `${key.slice(0, 12)}…`, "test"]);
    expect(await row.locator(".last-used").textContent()).to.equal("never");

    // Used against the real API; after a reload the key is not shown anywhere, and its last use is.
    expect((await call(stack, "POST", "/v1/payments", { key, body: { amount_usd: "12.00", order_id: "by-new-key" } })).status).to.equal(201);
    await stack.context.auth.lastUse.flushed();
    await page.reload();
    await row.waitFor();
    expect(await page.locator("#new-key").isHidden()).to.equal(true);
    expect(await page.content()).to.not.include(key);
    expect(await row.locator(".last-used").textContent()).to.match(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    await pageScreenshot(page, "dashboard-api-keys", "#api-keys");

    await page.getByRole("button", { name: "Revoke Shop server" }).click();
    await page.locator("#dashboard-status", { hasText: "Key revoked" }).waitFor();
    expect(await row.locator("td").last().textContent()).to.match(/^revoked /);
    const refused = await call(stack, "GET", "/v1/payments", { key });
    expect(refused.status).to.equal(401);
    expectOnlyOwnRequests();
  });

  it("shows today's figures of the payments made, drawn without leaving the page's origin", async function () {
    const { key } = await createApiKey(stack.store.db, stack.merchant.id, "test");
    const made = [];
    for (const amount of ["15.00", "27.50"]) made.push((await call(stack, "POST", "/v1/payments", { key, body: { amount_usd: amount } })).body);
    await payOnChain(chain(), made[1], "full", "USDT");
    await catchUp(localIndexer(chain(), stack.store.db));
    await mine(SETTINGS.confirmations.depth);
    await catchUp(localIndexer(chain(), stack.store.db));

    const page = await signedIn();
    // The page came without them: its script puts them in.
    const figures = page.locator("#overview-figures tbody tr");
    await figures.first().waitFor();
    expect(await page.locator("#overview").getAttribute("aria-busy")).to.equal(null);
    const rowOf = async (name: string) => figures.filter({ hasText: name }).locator("td").allTextContents();
    expect(await rowOf("Payments created")).to.deep.equal(["2", "2"]);
    expect(await rowOf("Opened")).to.deep.equal(["1", "1"]);
    expect(await rowOf("Paid volume (USD)")).to.deep.equal(["27.50", "27.50"]);
    expect(await rowOf("Expired")).to.deep.equal(["0", "0"]);
    expect(await page.locator("#indexer-health").textContent()).to.match(/^The indexer is at block \d+ \(block time .+\)/);
    const chart = page.locator("#conversion-chart svg");
    expect(await chart.getAttribute("role")).to.equal("img");
    expect(await chart.getAttribute("aria-label")).to.equal("Payments of the last 30 days by how far they got: created 2; opened 1; paid 1; expired 0");
    // The bars are drawn with the style sheet's colour: the CSP let it apply, and nothing inline was needed.
    expect(
      await page
        .locator("#volume-chart .chart-bar")
        .last()
        .evaluate((bar) => getComputedStyle(bar).fill),
    ).to.equal("rgb(26, 86, 219)");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);
    await pageScreenshot(page, "dashboard-overview", "#overview");
    expectOnlyOwnRequests();
  });
});
