import { expect } from "chai";
import { copyFileSync, mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { decodeQr, injectWallet, launchChromium } from "./support/browser";
import { catchUp, localIndexer, mine, mineAt, SETTINGS, useLocalChain } from "./support/localChain";
import { createdPayment, freshStackEachTest, payOnChain } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";
import { storedPayment } from "./support/paymentRecords";

/** Set SCREENSHOT=1 to write the screenshot the test takes to docs/checkout.png. */
const SCREENSHOT_TO_DOCS = process.env.SCREENSHOT === "1";

describe("hosted checkout in a real browser (Chromium)", function () {
  this.timeout(120_000);
  const chain = useLocalChain();
  const fixture = freshStackEachTest(chain, "pglite");
  let browser: Browser;
  let context: BrowserContext;
  let shop: Server;
  let shopUrl = "";
  /** Every URL the page asked for: all must be the API's own. */
  let requested: string[] = [];

  before(async function () {
    browser = await launchChromium();
    // The merchant's shop, where a paid checkout sends the customer back.
    shop = createServer((_request, response) => response.end("<!doctype html><title>Thank you</title><h1>Thank you for your order</h1>"));
    await new Promise<void>((resolve) => shop.listen(0, "127.0.0.1", resolve));
    shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  });
  after(async function () {
    await browser?.close();
    shop?.close();
  });
  beforeEach(async function () {
    // A phone's screen: the checkout is mobile first.
    context = await browser.newContext({ viewport: { width: 412, height: 915 }, deviceScaleFactor: 2 });
    requested = [];
  });
  afterEach(async function () {
    await context?.close();
  });

  const open = async (): Promise<Page> => {
    const page = await context.newPage();
    page.on("request", (request) => requested.push(request.url()));
    return page;
  };
  const statusOf = (page: Page) => page.locator("#status").textContent();
  const indexNow = () => catchUp(localIndexer(chain(), fixture().db));
  const expectOnlyOwnRequests = () => {
    expect(requested.length).to.be.greaterThan(2);
    for (const url of requested) expect(url.startsWith(`${fixture().api.url}/`), url).to.equal(true);
  };

  it("shows a QR code of each token's EIP-681 URI, counts down, and turns to paid without a reload when a customer pays", async function () {
    const f = fixture();
    const payment = await createdPayment(f, { amount_usd: "25.00", description: "Order #1042: 2 × T-shirt", success_url: `${shopUrl}/thanks`, cancel_url: `${shopUrl}/cart` });
    const page = await open();
    await page.goto(`${f.api.url}/checkout/${payment.id}`);
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("Waiting for payment: $25.00"));
    expect(await page.locator("h1").textContent()).to.equal("Demo shop");

    // The QR code a phone would scan is the payment's EIP-681 URI, for each token the customer picks by keyboard.
    const uris = Object.fromEntries(payment.payment_options.map((option: { token: string; uri: string }) => [option.token, option.uri]));
    expect(await decodeQr(page, "#option-USDT .qr")).to.equal(uris.USDT);
    await page.focus("input[name=token][value=USDT]");
    await page.keyboard.press("ArrowRight");
    expect(await page.locator("#option-USDC").isVisible()).to.equal(true);
    expect(await page.locator("#option-USDT").isVisible()).to.equal(false);
    expect(await decodeQr(page, "#option-USDC .qr")).to.equal(uris.USDC);
    await page.keyboard.press("ArrowRight");
    expect(await decodeQr(page, "#option-BNB .qr")).to.equal(uris.BNB);
    await page.keyboard.press("ArrowRight");
    expect(await page.locator("input[name=token]:checked").getAttribute("value")).to.equal("USDT");

    // The countdown moves.
    const first = await page.locator("#countdown").textContent();
    expect(first).to.match(/^Expires in \d+:\d\d$/);
    await page.waitForFunction((shown) => document.getElementById("countdown")?.textContent !== shown, first);
    expect(await page.locator("#countdown").textContent()).to.match(/^Expires in \d+:\d\d$/);

    const screenshot = path.join(mkdtempSync(path.join(tmpdir(), "open-pay-checkout-")), "checkout.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    if (SCREENSHOT_TO_DOCS) copyFileSync(screenshot, path.join(__dirname, "..", "..", "docs", "checkout.png"));

    // A customer pays from a script; the page follows it without being reloaded.
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await payOnChain(chain(), payment, "full", "USDT");
    await indexNow();
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.includes("confirming on chain (1 of 12 confirmations)"));
    await mine(11);
    await indexNow();
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "Paid. Thank you!");
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).to.equal(true);
    expect(await page.locator("#status").getAttribute("data-final")).to.equal("paid");
    expect(await page.locator("#countdown").textContent()).to.equal("");
    expectOnlyOwnRequests();
    // Then back to the shop.
    await page.waitForURL(`${shopUrl}/thanks`);
    expect(await page.locator("h1").textContent()).to.equal("Thank you for your order");
  });

  it("pays with a browser wallet: approves the escrow, pays, and shows paid", async function () {
    const f = fixture();
    const payment = await createdPayment(f, { amount_usd: "12.50" });
    const shopper = (await hre.ethers.getSigners())[8];
    const usdt = await hre.ethers.getContractAt("TestToken", chain().record.tokens.USDT.address);
    await (await usdt.mint(shopper.address, hre.ethers.parseUnits("100", 18))).wait();
    const page = await open();
    const wallet = await injectWallet(page, shopper.address, 31337);
    await page.goto(`${f.api.url}/checkout/${payment.id}`);
    await page.getByRole("button", { name: "Pay with browser wallet" }).click();
    await page.waitForFunction(() => document.getElementById("wallet-status")?.textContent?.includes("is mined"));
    expect(wallet.sent).to.have.length(2);
    const usdtOption = payment.payment_options.find((option: { token: string }) => option.token === "USDT");
    expect(await usdt.allowance(shopper.address, chain().record.escrow)).to.equal(0n);
    expect(await usdt.balanceOf(shopper.address)).to.equal(hre.ethers.parseUnits("100", 18) - BigInt(usdtOption.amount_units));
    await indexNow();
    await mine(11);
    await indexNow();
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "Paid. Thank you!");
    expect(await page.locator("#wallet").isHidden()).to.equal(true);
    expectOnlyOwnRequests();
  });

  it("shows a reverted wallet transaction as failed with its reason, and lets the customer try again", async function () {
    const f = fixture();
    const payment = await createdPayment(f, { amount_usd: "30.00" });
    // The shopper holds no USDT: the approval goes through, the escrow's pay reverts.
    const shopper = (await hre.ethers.getSigners())[9];
    const page = await open();
    const wallet = await injectWallet(page, shopper.address, 31337);
    await page.goto(`${f.api.url}/checkout/${payment.id}`);
    await page.getByRole("button", { name: "Pay with browser wallet" }).click();
    const failed = page.locator("#wallet-status[data-state=failed]");
    await failed.waitFor();
    expect(await failed.textContent()).to.match(/^Failed: the wallet's balance is too low \(ERC20InsufficientBalance\(0x[0-9a-fA-F]{40}, 0, \d+\)\)\. Nothing was taken; you can try again\.$/);
    expect(wallet.sent).to.have.length(2);
    const [, reverted] = wallet.sent;
    expect((await hre.ethers.provider.getTransactionReceipt(reverted))!.status).to.equal(0);
    expect((await storedPayment(f.db, payment.id)).failedTransactions).to.equal(1);
    expect(await statusOf(page)).to.match(/^Waiting for payment: \$30\.00 to pay$/);

    // With the tokens, the same button pays (the approval from before already covers it).
    const usdt = await hre.ethers.getContractAt("TestToken", chain().record.tokens.USDT.address);
    await (await usdt.mint(shopper.address, hre.ethers.parseUnits("50", 18))).wait();
    await page.getByRole("button", { name: "Pay with browser wallet" }).click();
    await page.waitForFunction(() => document.getElementById("wallet-status")?.textContent?.includes("is mined"));
    expect(wallet.sent).to.have.length(3);
    await indexNow();
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.includes("confirming on chain"));
    expectOnlyOwnRequests();
  });

  it("after a short payment shows what remains, in the text and in the QR code, and offers only the token paid, without a reload", async function () {
    const f = fixture();
    const payment = await createdPayment(f, { amount_usd: "40.00" });
    const page = await open();
    await page.goto(`${f.api.url}/checkout/${payment.id}`);
    const full = payment.payment_options.find((option: { token: string }) => option.token === "USDT");
    expect(await page.locator("#option-USDT .amount-value").textContent()).to.equal(full.amount);
    const offered = payment.payment_options.map((option: { token: string }) => option.token);
    expect(offered).to.include.members(["USDT", "BNB"]);
    // The shopper was looking at BNB when their USDT partial arrived from elsewhere.
    await page.locator("input[value=BNB]").check();
    expect(await page.locator("#option-BNB").isVisible()).to.equal(true);
    await payOnChain(chain(), payment, "partial", "USDT");
    await indexNow();
    await page.waitForFunction(() => /^Waiting for payment: \$2\d\.\d\d to pay$/.test(document.getElementById("status")?.textContent ?? ""));
    await page.waitForFunction((before) => document.querySelector("#option-USDT .amount-value")?.textContent !== before, full.amount);
    const remaining = (await call(f.api, "GET", `/checkout/${payment.id}/status`)).body;
    const shown = await page.locator("#option-USDT .amount-value").textContent();
    expect(shown).to.equal(remaining.amounts.USDT);
    expect(await page.locator("label:has(input[value=USDT]) .amount").textContent()).to.equal(shown);
    const uri = await decodeQr(page, "#option-USDT .qr");
    expect(uri).to.not.equal(full.uri);
    expect(uri).to.include(`uint256=${hre.ethers.parseUnits(shown!, 18)}`);
    // Another token would have to pay it all again: only USDT is left to choose, and chosen.
    expect(Object.keys(remaining.amounts)).to.deep.equal(["USDT"]);
    for (const token of offered.filter((token: string) => token !== "USDT")) {
      expect(await page.locator(`#option-${token}`).count(), token).to.equal(0);
      expect(await page.locator(`label:has(input[value=${token}])`).isVisible(), token).to.equal(false);
    }
    expect(await page.locator("input[value=USDT]").isChecked()).to.equal(true);
    expect(await page.locator("#option-USDT").isVisible()).to.equal(true);
    expectOnlyOwnRequests();
  });

  it("copies the deposit address and the amount with their buttons", async function () {
    const f = fixture();
    const payment = await createdPayment(f, { amount_usd: "9.99" });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: f.api.url });
    const page = await open();
    await page.goto(`${f.api.url}/checkout/${payment.id}`);
    const section = page.locator("#option-USDT");
    await section.getByRole("button", { name: "Copy to address" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).to.equal(payment.deposit_address);
    expect(await section.getByRole("button", { name: "Copy to address" }).textContent()).to.equal("Copied");
    // From the keyboard: Enter on the focused button copies too.
    await section.getByRole("button", { name: "Copy amount" }).focus();
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => navigator.clipboard.readText())).to.equal(payment.payment_options[0].amount);
  });

  it("shows an expired payment as expired, stops the countdown and offers the way back to the shop", async function () {
    const f = fixture();
    const payment = await createdPayment(f, { amount_usd: "5.00", ttl_seconds: 60, cancel_url: `${shopUrl}/cart` });
    const page = await open();
    await page.goto(`${f.api.url}/checkout/${payment.id}`);
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("Waiting for payment"));
    // Past the expiry, with nothing received: the page says so at once (the merchant hears of it 12 confirmations later).
    await mineAt(BigInt(Date.parse(payment.expires_at) / 1000) + 1n);
    await indexNow();
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "This payment has expired");
    expect(await page.locator("#status").getAttribute("data-final")).to.equal("expired");
    expect(await page.locator("#countdown").textContent()).to.equal("");
    await page.getByRole("link", { name: "Cancel and return to Demo shop" }).click();
    await page.waitForURL(`${shopUrl}/cart`);
  });
});
