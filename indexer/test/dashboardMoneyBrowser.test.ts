import { expect } from "chai";
import hre from "hardhat";
import type { Page } from "playwright-core";
import { decodeFunctionData, parseUnits, type Hex } from "viem";
import { openPayEscrowAbi } from "../src/chain/escrowAbi";
import { createApiKey } from "../src/store/merchantStore";
import { pageScreenshot, injectWallet } from "./support/browser";
import { usePhoneBrowser } from "./support/phoneBrowser";
import { useDashboardStack, type DashboardFixture } from "./support/dashboardStack";
import { CHAIN_ID, catchUp, localIndexer, mine, useLocalChain } from "./support/localChain";
import { payOnChain } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";

/** Hardhat's account 6: where the refunds go. */
const CUSTOMER = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";

describe("dashboard money in a real browser (Chromium)", function () {
  this.timeout(180_000);
  const chain = useLocalChain();
  const phone = usePhoneBrowser();
  const dashboardStack = useDashboardStack(chain, { each: "test" });
  let stack: DashboardFixture;
  let key: string;
  /** A 30 USD payment refundable to CUSTOMER, paid in USDT and confirmed. */
  let paid: { id: string };

  beforeEach(async function () {
    stack = dashboardStack();
    key = (await createApiKey(stack.store.db, stack.merchant.id, "test")).key;
    const created = await call(stack, "POST", "/v1/payments", { key, body: { amount_usd: "30.00", refund_address: CUSTOMER, order_id: "shop-30" } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    paid = created.body;
    await payOnChain(chain(), created.body, "full", "USDT");
    await mine(11);
    await catchUp(localIndexer(chain(), stack.store.db));
  });

  /** The dashboard signed in with the merchant's browser wallet (the node holds account 3's key and signs for it). */
  const signedIn = async (path = "/dashboard"): Promise<{ page: Page; sent: string[] }> => {
    const page = await phone.newPage();
    const { sent } = await injectWallet(page, stack.merchant.address, CHAIN_ID);
    await page.goto(`${stack.url}/dashboard`);
    await page.getByRole("button", { name: "Sign in with wallet" }).click();
    await page.locator("#merchant-name").waitFor();
    if (path !== "/dashboard") await page.goto(`${stack.url}${path}`);
    return { page, sent };
  };
  const usdtOfApi = async () =>
    ((await call(stack, "GET", "/v1/balances", { key })).body.data as Array<Record<string, any>>).find((row) => row.token.symbol === "USDT")!;
  const usdtCell = (page: Page, column: number) => page.locator(`#balances tr[data-token=USDT] td:nth-of-type(${column})`);
  const expectOnlyOwnRequests = () => phone.expectOnlyRequestsTo(stack.url);

  it("shows the balances, withdraws through the wallet, follows the confirmations and shows the balance moved", async function () {
    const { page, sent } = await signedIn();
    const before = await usdtOfApi();
    await usdtCell(page, 2).filter({ hasText: before.confirmed }).waitFor();
    expect(await page.locator("#balances caption").textContent()).to.match(/^Balances as of block \d+ \(final up to block \d+\)$/);
    expect(await usdtCell(page, 1).textContent()).to.equal(before.balance);
    expect(await usdtCell(page, 7).textContent()).to.equal(before.fees);
    expect(await page.locator("#money-status").getAttribute("aria-live")).to.equal("polite");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);

    await page.getByLabel("Token to withdraw").selectOption("USDT");
    await page.getByLabel("Amount (empty: all withdrawable)").fill("5");
    await page.getByRole("button", { name: "Withdraw to payout wallet" }).click();
    // The wallet sent it and it is mined; the indexer has not applied its block yet.
    await page.locator("#money-status[data-state=sent]").waitFor();
    expect(sent).to.have.length(1);
    const indexer = localIndexer(chain(), stack.store.db);
    await catchUp(indexer);
    await page.locator("#money-status", { hasText: "Confirming 1/12" }).waitFor();
    expect(await usdtCell(page, 2).textContent()).to.equal(before.confirmed);
    await mine(11);
    await catchUp(indexer);
    await page.locator("#money-status[data-state=confirmed]").waitFor();
    const after = await usdtOfApi();
    expect(BigInt(after.balance_units)).to.equal(BigInt(before.balance_units) - parseUnits("5", before.token.decimals));
    expect(await usdtCell(page, 2).textContent()).to.equal(after.confirmed);
    expect(after.confirmed).to.not.equal(before.confirmed);
    await pageScreenshot(page, "dashboard-money", "#money");
    expectOnlyOwnRequests();
  });

  it("tells a withdrawal that reverted on chain as failed, with the escrow's reason", async function () {
    const { page, sent } = await signedIn();
    const before = await usdtOfApi();
    await usdtCell(page, 2).filter({ hasText: before.confirmed }).waitFor();
    // Between the gateway's check and the wallet's sending, the balance leaves by another way (the merchant's other
    // tab, say): the page's transaction reverts on chain.
    await page.route("**/dashboard/api/withdrawals", async (route) => {
      const response = await route.fetch();
      const drain = (await call(stack, "POST", "/v1/withdrawals", { key, body: { token: "USDT", amount: "all" } })).body.transaction;
      await hre.network.provider.send("eth_sendTransaction", [{ from: drain.from, to: drain.to, data: drain.data }]);
      await route.fulfill({ response });
    });
    await page.getByLabel("Amount (empty: all withdrawable)").fill("5");
    await page.getByRole("button", { name: "Withdraw to payout wallet" }).click();
    await page.locator("#money-status[data-state=failed]").waitFor();
    expect(sent).to.have.length(1);
    expect(await page.locator("#money-status").textContent()).to.match(/^Failed: the withdrawal of 5 USDT reverted \(InsufficientMerchantBalance\(/);
    expectOnlyOwnRequests();
  });

  it("follows a withdrawal through a failed look, and stops, saying why, once the gateway has failed ten in a row", async function () {
    const { page, sent } = await signedIn();
    // The page's timers run on the test's clock: the looks' 1.5 s apart pass at once.
    await page.clock.install();
    const before = await usdtOfApi();
    await usdtCell(page, 2).filter({ hasText: before.confirmed }).waitFor();
    // The first look finds no gateway, the second reaches it, every later one gets a proxy's 502.
    let looks = 0;
    await page.route("**/dashboard/api/transactions/*", async (route) => {
      looks += 1;
      if (looks === 1) return route.abort("connectionrefused");
      if (looks === 2) return route.continue();
      return route.fulfill({ status: 502, contentType: "text/html", body: "<h1>Bad Gateway</h1>" });
    });
    await page.getByLabel("Amount (empty: all withdrawable)").fill("5");
    await page.getByRole("button", { name: "Withdraw to payout wallet" }).click();
    await page.locator("#money-status[data-state=sent]").waitFor();
    const stopped = page.locator("#money-status[data-state=failed]");
    while (!(await stopped.isVisible())) await page.clock.runFor(1500);
    expect(looks).to.equal(12);
    expect(await stopped.textContent()).to.equal(
      `Transaction ${sent[0]} no longer followed: the gateway answered 502 (10 looks in a row failed). It may still be mined: reload the page later to see the balances.`,
    );
    await page.clock.runFor(15_000);
    expect(looks).to.equal(12);
    expectOnlyOwnRequests();
  });

  it("refunds a payment from its page through the wallet and shows it confirmed", async function () {
    const { page, sent } = await signedIn(`/dashboard?payment=${paid.id}`);
    await page.locator("#refund-form").waitFor();
    await page.getByLabel(/^Amount \(USDT/).fill("10");
    await page.getByRole("button", { name: "Refund" }).click();
    await page.locator("#refund-status[data-state=sent]").waitFor();
    expect(sent).to.have.length(1);
    const decoded = decodeFunctionData({ abi: openPayEscrowAbi, data: (await hre.ethers.provider.getTransaction(sent[0]))!.data as Hex });
    expect(decoded.functionName).to.equal("refund");
    expect(decoded.args[1]).to.equal(CUSTOMER);
    const indexer = localIndexer(chain(), stack.store.db);
    await catchUp(indexer);
    await page.locator("#refund-status", { hasText: "Confirming 1/12" }).waitFor();
    await mine(11);
    await catchUp(indexer);
    await page.locator("#dashboard-status[data-state=confirmed]", { hasText: "Confirmed: the refund of 10 USDT" }).waitFor();
    expect(await page.locator("#payment-status").textContent()).to.equal("partially refunded");
    expect((await call(stack, "GET", `/v1/payments/${paid.id}`, { key })).body.refunded_amount).to.equal("10");
    await pageScreenshot(page, "dashboard-refund", "#payment-page");
    expectOnlyOwnRequests();
  });

  it("shows the call to propose, not send, when the merchant's address is a Safe", async function () {
    const { page, sent } = await signedIn();
    // The merchant's address becomes a contract, as a Safe is (after the sign-in, which a Safe signs by ERC-1271).
    await hre.network.provider.send("hardhat_setCode", [stack.merchant.address, "0x00"]);
    // The gateway asks again after a minute whether an address without code has become a contract.
    stack.advance(60_000);
    await page.reload();
    const before = await usdtOfApi();
    await usdtCell(page, 2).filter({ hasText: before.confirmed }).waitFor();
    await page.getByLabel("Amount (empty: all withdrawable)").fill("5");
    await page.getByRole("button", { name: "Withdraw to payout wallet" }).click();
    await page.locator("#money-status[data-state=propose]").waitFor();
    expect(sent).to.deep.equal([]);
    expect(await page.locator("#withdraw-proposal").textContent()).to.include("is a Safe");
    const to = (await page.locator("#withdraw-proposal .proposal-to").textContent()) as Hex;
    const value = await page.locator("#withdraw-proposal .proposal-value").textContent();
    const data = (await page.locator("#withdraw-proposal .proposal-data").textContent()) as Hex;
    expect(to).to.equal(stack.context.escrow);
    expect(value).to.equal("0");
    const decoded = decodeFunctionData({ abi: openPayEscrowAbi, data });
    expect(decoded.functionName).to.equal("withdraw");
    expect(decoded.args).to.deep.equal([before.token.address, parseUnits("5", before.token.decimals)]);
    await pageScreenshot(page, "dashboard-safe-proposal", "#money");
    expectOnlyOwnRequests();
  });
});
