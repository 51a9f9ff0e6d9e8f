import { expect } from "chai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import type { Store } from "../src/store/database";
import { launchChromium } from "./support/browser";
import { injectKeyWallet, MERCHANT_KEY, startDashboardStack, type DashboardStack } from "./support/dashboardStack";
import { CHAIN_ID, useLocalChain } from "./support/localChain";
import { openTestStore } from "./support/stores";

describe("dashboard sign-in in a real browser (Chromium)", function () {
  this.timeout(120_000);
  const chain = useLocalChain();
  let browser: Browser;
  let context: BrowserContext;
  let store: Store;
  let stack: DashboardStack;
  /** Every URL the page asked for: all must be the gateway's own. */
  let requested: string[] = [];

  before(async function () {
    browser = await launchChromium();
  });
  after(async function () {
    await browser?.close();
  });
  beforeEach(async function () {
    store = await openTestStore("postgres");
    stack = await startDashboardStack(chain(), store);
    // A phone's screen.
    context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    requested = [];
  });
  afterEach(async function () {
    await context?.close();
    await stack?.close();
    await store?.close();
  });

  /** The dashboard in a new page, with a wallet holding `key` when given. */
  const open = async (key?: Hex): Promise<{ page: Page; wallet?: { signed: string[] } }> => {
    const page = await context.newPage();
    page.on("request", (request) => requested.push(request.url()));
    const wallet = key ? await injectKeyWallet(page, key, CHAIN_ID) : undefined;
    await page.goto(`${stack.url}/dashboard`);
    return { page, wallet };
  };
  const expectOnlyOwnRequests = () => {
    expect(requested.length).to.be.greaterThan(3);
    for (const url of requested) expect(url.startsWith(`${stack.url}/`), url).to.equal(true);
  };

  it("signs the merchant in from the keyboard with its wallet, shows the merchant, and signs out", async function () {
    const { page, wallet } = await open(MERCHANT_KEY);

    // The button is the page's first stop for the keyboard; the live region tells what happens.
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
    const [cookie] = await context.cookies();
    expect(cookie).to.include({ name: "openpay_dashboard", path: "/dashboard", httpOnly: true, sameSite: "Strict" });
    expect(await page.evaluate(() => document.cookie)).to.equal("");
    // Nothing wider than the phone's screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#sign-in").waitFor();
    expect(await context.cookies()).to.deep.equal([]);
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
    expect(await context.cookies()).to.deep.equal([]);
    expectOnlyOwnRequests();
  });

  it("says so when the browser has no wallet", async function () {
    const { page } = await open();
    await page.getByRole("button", { name: "Sign in with wallet" }).click();
    expect(await page.locator("#sign-in-status").textContent()).to.match(/^No browser wallet found/);
  });
});
