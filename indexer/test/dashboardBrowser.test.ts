import { readFileSync } from "node:fs";
import { expect } from "chai";
import type { Page } from "playwright-core";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { pageScreenshot } from "./support/browser";
import { usePhoneBrowser } from "./support/phoneBrowser";
import { injectKeyWallet, MERCHANT_KEY, useDashboardStack, type DashboardFixture, type KeyWallet } from "./support/dashboardStack";
import { createApiKey } from "../src/store/merchantStore";
import { CHAIN_ID, catchUp, localIndexer, useLocalChain } from "./support/localChain";
import { payOnChain } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";

describe("dashboard in a real browser (Chromium)", function () {
  this.timeout(120_000);
  const chain = useLocalChain();
  const phone = usePhoneBrowser();
  const dashboardStack = useDashboardStack(chain);
  let stack: DashboardFixture;

  beforeEach(async function () {
    stack = dashboardStack();
  });

  /** The dashboard in a new page, with a wallet holding `key` when given. */
  const open = async (key?: Hex): Promise<{ page: Page; wallet?: KeyWallet }> => {
    const page = await phone.newPage();
    const wallet = key ? await injectKeyWallet(page, key, CHAIN_ID) : undefined;
    await page.goto(`${stack.url}/dashboard`);
    return { page, wallet };
  };
  const expectOnlyOwnRequests = () => phone.expectOnlyRequestsTo(stack.url);

  it("signs the merchant in from the keyboard with its wallet, shows the merchant, and signs out", async function () {
    const { page, wallet } = await open(stack.merchantKey);

    // The button is the page's first stop for the keyboard; the live region tells what happens.
    await pageScreenshot(page, "dashboard-sign-in");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal("sign-in");
    expect(await page.locator("#sign-in-status").getAttribute("aria-live")).to.equal("polite");
    await page.keyboard.press("Enter");
    await page.locator("#merchant-name").waitFor();

    expect(await page.locator("#merchant-name").textContent()).to.equal("Demo shop");
    expect(await page.locator("#merchant-address").textContent()).to.equal(stack.merchant.address);
    expect(wallet!.signed).to.have.length(1);
    expect(wallet!.signed[0]).to.match(
      new RegExp(`^${new URL(stack.url).host} wants you to sign in with your Ethereum account:\\n${stack.merchant.address}\\n`),
    );
    expect(wallet!.signed[0]).to.include(`Chain ID: ${CHAIN_ID}`);
    // The session cookie is out of the page's reach, and goes to the dashboard only.
    const [cookie] = await phone.context().cookies();
    expect(cookie).to.include({ name: "openpay_dashboard", path: "/dashboard", httpOnly: true, sameSite: "Strict" });
    expect(await page.evaluate(() => document.cookie)).to.equal("");
    // Nothing wider than the phone's screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#sign-in").waitFor();
    expect(await phone.context().cookies()).to.deep.equal([]);
    expectOnlyOwnRequests();
  });

  it("lists and filters the payments, opens a payment's timeline, and exports the filtered list as the API lists it", async function () {
    const { key } = await createApiKey(stack.store.db, stack.merchant.id, "test");
    const made: Array<{ id: string; intent: unknown }> = [];
    for (const n of [1, 2, 3]) {
      const answer = await call(stack, "POST", "/v1/payments", { key, body: { amount_usd: `${n}5.00`, order_id: `shop-${n}` } });
      expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
      made.push(answer.body);
    }
    await payOnChain(chain(), made[1], "full", "USDT");
    await catchUp(localIndexer(chain(), stack.store.db));

    const { page } = await open(stack.merchantKey);
    await page.getByRole("button", { name: "Sign in with wallet" }).click();
    const rows = page.locator("#payment-list tbody tr");
    await rows.nth(2).waitFor();
    expect(await rows.locator("td:nth-child(2)").allTextContents()).to.deep.equal(["shop-3", "shop-2", "shop-1"]);
    expect(await page.locator("#dashboard-status").textContent()).to.equal("3 payments shown.");
    await pageScreenshot(page, "dashboard-payments", "#payments");

    // Filters by label, as a screen reader names them; the live region says what the list holds.
    await page.getByLabel("Status").selectOption("initiated");
    await page.getByLabel("Amount from (USD)").fill("20");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.locator("#dashboard-status", { hasText: "1 payment shown." }).waitFor();
    expect(await rows.locator("td:nth-child(2)").allTextContents()).to.deep.equal(["shop-3"]);

    // The export carries the filters: compared with the merchant API's list under the same filters.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
    const csv = readFileSync((await download.path())!, "utf8").split("\r\n");
    const api = (await call(stack, "GET", "/v1/payments?status=initiated", { key })).body.data.filter(
      (p: { amount_usd: string }) => Number.parseInt(p.amount_usd, 10) >= 20,
    );
    expect(csv[0].split(",").slice(0, 6)).to.deep.equal(["id", "created_at", "status", "order_id", "description", "amount_usd"]);
    expect(csv.slice(1, -1).map((line) => line.split(",").slice(0, 6))).to.deep.equal(
      api.map((p: { id: string; created_at: string; status: string; order_id: string; amount_usd: string }) => [
        p.id,
        p.created_at,
        p.status,
        p.order_id,
        "",
        p.amount_usd,
      ]),
    );

    // Search finds the paid one by its order id; its page shows the timeline with the change's reason and sequence.
    await page.getByLabel("Status").selectOption("");
    await page.getByLabel("Amount from (USD)").fill("");
    await page.getByLabel("Search").fill("shop-2");
    await page.getByLabel("Search").press("Enter");
    await page.locator("#dashboard-status", { hasText: "1 payment shown." }).waitFor();
    await page.getByRole("link", { name: `Payment ${made[1].id}` }).click();
    await page.locator("#timeline li").first().waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal("payment-heading");
    expect(new URL(page.url()).searchParams.get("payment")).to.equal(made[1].id);
    const entry = page.locator('#timeline li[data-sequence="1"]');
    expect(await entry.textContent()).to.match(/#1: initiated → confirming, .+0x[0-9a-f]{64}/);
    expect(await page.locator("#payment-status").textContent()).to.equal("confirming");
    // The local chain has no explorer: hashes are shown, not linked.
    expect(await page.locator("#transactions a").count()).to.equal(0);
    expect(await page.locator("#transactions code").count()).to.equal(1);
    expect(await page.locator("#checkout-link").getAttribute("href")).to.equal(`${stack.url}/checkout/${made[1].id}`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);
    await pageScreenshot(page, "dashboard-payment", "#payment-page");

    await page.goBack();
    await page.locator("#payments:not([hidden])").waitFor();
    expectOnlyOwnRequests();
  });

  it("refuses an address that is no merchant's, saying so in the live region", async function () {
    const { page } = await open(generatePrivateKey());
    await page.getByRole("button", { name: "Sign in with wallet" }).click();
    const status = page.locator('#sign-in-status[data-state="error"]');
    await status.waitFor();
    expect(await status.textContent()).to.match(
      /^Not signed in: 0x[0-9a-fA-F]{40} is neither a merchant of this gateway nor an authorised signer of one on the escrow/,
    );
    expect(await page.getByRole("button", { name: "Sign in with wallet" }).isEnabled()).to.equal(true);
    expect(await phone.context().cookies()).to.deep.equal([]);
    expectOnlyOwnRequests();
  });

  it("refuses a message for another domain or chain, an expired one and a replayed one, saying which in the live region", async function () {
    const { page, wallet } = await open(stack.merchantKey);
    const button = page.getByRole("button", { name: "Sign in with wallet" });
    /** Clicks, and gives the refusal the page shows once it names `expected`; nobody is signed in. */
    const refused = async (expected: string) => {
      await button.click();
      const status = page.locator('#sign-in-status[data-state="error"]', { hasText: expected });
      await status.waitFor();
      expect(await button.isEnabled()).to.equal(true);
      expect(await phone.context().cookies()).to.deep.equal([]);
      return status.textContent();
    };
    const host = new URL(stack.url).host;

    // Signed for another site's host, as a phishing page would have it signed, and brought here.
    wallet!.tamper((message) => message.replace(`${host} wants you`, "evil.example wants you"));
    expect(await refused("for domain")).to.equal(`Not signed in: the message is for domain evil.example, this gateway is ${host}`);
    expect(wallet!.signed.at(-1)).to.match(/^evil\.example wants you/);

    wallet!.tamper((message) => message.replace(`Chain ID: ${CHAIN_ID}`, "Chain ID: 56"));
    expect(await refused("for chain")).to.equal(`Not signed in: the message is for chain 56, this gateway runs on chain ${CHAIN_ID}`);

    // Signed, then sent after it expired: the gateway's clock is 6 minutes past the page's (a message lasts 5).
    wallet!.tamper(undefined);
    stack.advance(6 * 60_000);
    expect(await refused("expired")).to.match(/^Not signed in: the message expired at \d{4}-\d\d-\d\dT[\d:.]+Z: sign in again$/);
    stack.advance(-6 * 60_000);

    // A sign-in that worked, sent again after signing out: its nonce signed in once already.
    await button.click();
    await page.locator("#merchant-name").waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await button.waitFor();
    wallet!.replayLast();
    expect(await refused("used already")).to.equal("Not signed in: the message's nonce was used already: a sign-in message signs in once");
    expectOnlyOwnRequests();
  });

  it("signs in as the demo merchant with one click, no wallet needed, when the gateway offers it", async function () {
    stack = await stack.withDemoSignIn(privateKeyToAccount(MERCHANT_KEY).address);
    const { page } = await open();
    // The second button, and the address it names, fit the phone's screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);
    await page.getByRole("button", { name: "Sign in as the demo merchant" }).click();
    await page.locator("#merchant-name").waitFor();
    expect(await page.locator("#signed-in-address").textContent()).to.equal(stack.merchant.address);
    expect(await page.locator(".role").textContent()).to.equal("(the merchant's address)");
    expectOnlyOwnRequests();
  });

  it("says so when the browser has no wallet", async function () {
    const { page } = await open();
    await page.getByRole("button", { name: "Sign in with wallet" }).click();
    expect(await page.locator("#sign-in-status").textContent()).to.match(/^No browser wallet found/);
  });
});
