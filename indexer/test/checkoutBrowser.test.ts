import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import hre from "hardhat";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { expire } from "../../scripts/operator/expire";
import { decodeQr, pageScreenshot, injectWallet, launchChromium } from "./support/browser";
import { catchUp, localIndexer, mine, mineAt, useLocalChain } from "./support/localChain";
import { createdPayment, freshStackEachTest, payOnChain } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";
import { storedPayment } from "./support/paymentRecords";

const quiet = () => undefined;

describe("hosted checkout in a real browser (Chromium)", function () {
  this.timeout(120_000);
  const chain = useLocalChain();
  let browser: Browser;
  let context: BrowserContext;
  let shop: Server;
  let shopUrl = "";
  /** Every URL the page asked for: all must be the API's own. */
  let requested: string[] = [];

  before(async function () {
    browser = await launchChromium();
    // The merchant's shop, where a paid checkout sends the customer back; /embed?src= frames a checkout.
    shop = createServer((request, response) => {
      const url = new URL(request.url!, "http://shop");
      if (url.pathname === "/embed") {
        response.setHeader("content-type", "text/html");
        return response.end(
          `<!doctype html><title>Shop</title><h1>Checkout</h1><iframe src="${url.searchParams.get("src")}" width="412" height="800"></iframe>`,
        );
      }
      response.end("<!doctype html><title>Thank you</title><h1>Thank you for your order</h1>");
    });
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
  // Before the API closes (the hooks run in this order): no page keeps a stream or a poll open on a closing server.
  afterEach(async function () {
    await context?.close();
  });
  const fixture = freshStackEachTest(chain, "pglite");

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
  const screenshot = (page: Page, name: string) => pageScreenshot(page, `checkout-${name}`);
  /** Nothing on the page asks for money: no QR code, amount to send, copy button, token choice or wallet button. */
  const expectNothingAsked = async (page: Page) => {
    for (const selector of [".qr", "button.copy", "#options", "fieldset.tokens", "#wallet", "#send-only", ".amount-value"]) {
      expect(await page.locator(selector).count(), selector).to.equal(0);
    }
    expect(await page.locator("body").textContent()).to.not.include("Send exactly");
  };

  it("is opened by a person, not a GET; shows what to send with each token's logo and QR code; then only the transaction and its confirmations, pushed live, until paid", async function () {
    const f = fixture();
    const payment = await createdPayment(f, {
      amount_usd: "25.00",
      description: "Order #1042: 2 × T-shirt",
      success_url: `${shopUrl}/thanks`,
      cancel_url: `${shopUrl}/cart`,
    });
    // A link preview fetching the page changes nothing.
    expect((await fetch(`${f.api.url}/checkout/${payment.id}`)).status).to.equal(200);
    expect((await storedPayment(f.db, payment.id)).status).to.equal("initiated");
    const page = await open();
    await page.goto(`${f.api.url}/checkout/${payment.id}`);
    // The page's beacon moves it to pending, and the change comes back over the page's event stream.
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("Waiting for payment: $25.00"));
    expect((await storedPayment(f.db, payment.id)).status).to.equal("pending");
    expect(await page.locator("h1").textContent()).to.equal("Demo shop");
    expect(await page.locator("#send-only").textContent()).to.equal("Send only USDT, USDC or BNB on Local test chain (31337)");
    expect(await page.locator("#timer-note").textContent()).to.equal("The timer pauses once a transaction is detected on chain.");
    // Each token's logo, drawn and served by the API itself.
    const logos = await page
      .locator("img.logo")
      .evaluateAll((images) => images.map((image) => [(image as HTMLImageElement).src, (image as HTMLImageElement).naturalWidth > 0]));
    expect(logos).to.deep.equal(["usdt", "usdc", "bnb"].map((token) => [`${f.api.url}/checkout/assets/tokens/${token}.svg`, true]));

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
    await screenshot(page, "waiting");

    // A customer pays from a script; the page follows it without being reloaded.
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const paid = await payOnChain(chain(), payment, "full", "USDT");
    await indexNow();
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.includes("confirming on chain (1 of 12 confirmations)"));
    await expectNothingAsked(page);
    expect(await page.locator("#countdown").textContent()).to.equal("");
    // It stays gone: the countdown's next tick (every second) must not bring it back.
    await page.waitForTimeout(1100);
    expect(await page.locator("#countdown").textContent()).to.equal("");
    const received = page.locator("#received li");
    expect(await received.count()).to.equal(1);
    expect(await received.locator("code").getAttribute("title")).to.equal(paid.transaction);
    expect(await received.locator(".sent").textContent()).to.match(/^25(\.\d+)? USDT$/);
    await screenshot(page, "confirming");
    await mine(5);
    await indexNow();
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.includes("(6 of 12 confirmations)"));
    await mine(6);
    await indexNow();
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "Paid. Thank you!");
    await screenshot(page, "paid");
    await expectNothingAsked(page);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).to.equal(true);
    expect(await page.locator("#status").getAttribute("data-final")).to.equal("paid");
    expect(await page.locator("#received li").count()).to.equal(1);
    expectOnlyOwnRequests();
    // Pushed, not polled: one event stream, no status request.
    expect(requested.filter((url) => url.endsWith(`/checkout/${payment.id}/events`))).to.have.length(1);
    expect(requested.filter((url) => url.endsWith("/status"))).to.deep.equal([]);
    // Then back to the shop.
    await page.waitForURL(`${shopUrl}/thanks`);
    expect(await page.locator("h1").textContent()).to.equal("Thank you for your order");
    // The same page rendered now, on the server, asks for nothing either.
    const html = await (await fetch(`${f.api.url}/checkout/${payment.id}`)).text();
    expect(html).to.include("Paid. Thank you!");
    for (const asked of ["<svg", "Send exactly", 'class="copy"', 'id="options"']) expect(html).to.not.include(asked);
  });

  it("works without its script (and without opening the payment), and polls when the browser has no EventSource", async function () {
    const f = fixture();
    const payment = await createdPayment(f, { amount_usd: "8.00" });
    const noScript = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 412, height: 915 } });
    try {
      const page = await noScript.newPage();
      await page.goto(`${f.api.url}/checkout/${payment.id}`);
      expect(await decodeQr(page, "#option-USDT .qr")).to.equal(payment.payment_options[0].uri);
      expect(await page.locator("#send-only").isVisible()).to.equal(true);
      expect(await statusOf(page)).to.equal("Waiting for payment");
    } finally {
      await noScript.close();
    }
    expect((await storedPayment(f.db, payment.id)).status).to.equal("initiated");

    const page = await open();
    await page.addInitScript(() => delete (window as unknown as { EventSource?: unknown }).EventSource);
    await page.goto(`${f.api.url}/checkout/${payment.id}`);
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "Waiting for payment: $8.00 to pay");
    await payOnChain(chain(), payment, "full", "USDC");
    await indexNow();
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.includes("confirming on chain"));
    await expectNothingAsked(page);
    expect(requested.some((url) => url.endsWith(`/checkout/${payment.id}/status`))).to.equal(true);
    expect(requested.some((url) => url.endsWith("/events"))).to.equal(false);
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
    expect(await failed.textContent()).to.match(
      /^Failed: the wallet's balance is too low \(ERC20InsufficientBalance\(0x[0-9a-fA-F]{40}, 0, \d+\)\)\. Nothing was taken; you can try again\.$/,
    );
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

  it("after a short payment offers only the token paid, for what remains, stops the timer, and at the expiry says where the money went and returns to the shop", async function () {
    const f = fixture();
    const payment = await createdPayment(f, { amount_usd: "40.00", cancel_url: `${shopUrl}/cart` });
    const page = await open();
    await page.goto(`${f.api.url}/checkout/${payment.id}`);
    const full = payment.payment_options.find((option: { token: string }) => option.token === "USDT");
    expect(await page.locator("#option-USDT .amount-value").textContent()).to.equal(full.amount);
    const offered = payment.payment_options.map((option: { token: string }) => option.token);
    expect(offered).to.include.members(["USDT", "BNB"]);
    // The shopper was looking at BNB when their USDT partial arrived from elsewhere.
    await page.locator("input[value=BNB]").check();
    expect(await page.locator("#option-BNB").isVisible()).to.equal(true);
    const partial = await payOnChain(chain(), payment, "partial", "USDT");
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
    expect(await page.locator("#send-only").textContent()).to.equal("Send only USDT on Local test chain (31337)");
    // The deposit is listed, and the countdown stopped, saying why.
    expect(await page.locator("#received li code").getAttribute("title")).to.equal(partial.transaction);
    expect(await page.locator("#countdown").textContent()).to.equal("Timer paused: a transaction was detected on chain");
    await page.waitForTimeout(1100);
    expect(await page.locator("#countdown").textContent()).to.equal("Timer paused: a transaction was detected on chain");
    await screenshot(page, "underpaid");

    // The time runs out; the keeper's expire sends the deposit back, and the page says so, then returns to the shop.
    await mineAt(BigInt(Date.parse(payment.expires_at) / 1000) + 1n);
    const intentFile = path.join(chain().deploymentsDir, `${payment.id}-expire.json`);
    writeFileSync(intentFile, JSON.stringify(payment.intent));
    await expire(hre, { intent: intentFile }, quiet);
    await mine(12);
    await indexNow();
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "This payment has expired");
    await expectNothingAsked(page);
    const customer = (await hre.ethers.getSigners())[6].address;
    expect(await page.locator("#note").textContent()).to.equal(`Everything received is refunded automatically to ${customer}: there is nothing to do.`);
    expect(await page.locator("#refunded li").count()).to.equal(1);
    expect(await page.locator("#refunded li").textContent()).to.include(`${partial.amount} USDT to ${customer}`);
    expect(await page.locator("#status").getAttribute("data-final")).to.equal("expired");
    expect(await page.locator("#return").getAttribute("href")).to.equal(`${shopUrl}/cart`);
    expect(await page.locator("#return").textContent()).to.equal("Back to Demo shop");
    await screenshot(page, "expired-refunded");
    expectOnlyOwnRequests();
    await page.waitForURL(`${shopUrl}/cart`);
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

  it("is framed only by the merchant's listed origins, and returns an expired shopper to the merchant's site", async function () {
    const f = fixture();
    const payment = await createdPayment(f, { amount_usd: "5.00", ttl_seconds: 60 });
    const settings = await call(f.api, "PATCH", "/v1/checkout_settings", {
      key: f.key,
      body: { checkout_frame_origins: [shopUrl], site_url: `${shopUrl}/shop` },
    });
    expect(settings.body).to.deep.equal({ object: "checkout_settings", checkout_frame_origins: [shopUrl], site_url: `${shopUrl}/shop` });
    const embedded = `${shopUrl}/embed?src=${encodeURIComponent(`${f.api.url}/checkout/${payment.id}`)}`;
    const page = await open();
    await page.goto(embedded);
    const frame = page.frameLocator("iframe");
    await frame.locator("#status").filter({ hasText: "Waiting for payment" }).waitFor();
    expect(await frame.locator("h1").textContent()).to.equal("Demo shop");

    // Past the expiry, with nothing received: the page says so at once, and that nothing was taken.
    await mineAt(BigInt(Date.parse(payment.expires_at) / 1000) + 1n);
    await indexNow();
    await frame.locator("#status").filter({ hasText: "This payment has expired" }).waitFor();
    expect(await frame.locator("#note").textContent()).to.match(/^Nothing was received, so nothing was taken\./);
    expect(await frame.locator("#countdown").textContent()).to.equal("");
    // No cancel_url: the way back is the merchant's site, by the button or by itself after a few seconds.
    expect(await frame.locator("#return").getAttribute("href")).to.equal(`${shopUrl}/shop`);
    await frame.locator("h1").filter({ hasText: "Thank you for your order" }).waitFor();

    // With no origin listed, no page may frame it.
    expect(
      (await call(f.api, "PATCH", "/v1/checkout_settings", { key: f.key, body: { checkout_frame_origins: [] } })).body.checkout_frame_origins,
    ).to.deep.equal([]);
    const refused = await context.newPage();
    const blocked = refused.waitForEvent("console", (message) => message.text().includes("frame-ancestors"));
    await refused.goto(embedded);
    await blocked;
    // Chromium shows its own error page in the frame instead.
    expect(await refused.frameLocator("iframe").locator("#checkout").count()).to.equal(0);
  });
});
