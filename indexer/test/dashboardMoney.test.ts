import { expect } from "chai";
import hre from "hardhat";
import { decodeFunctionData, parseUnits, type Hex } from "viem";
import { openPayEscrowAbi } from "../src/chain/escrowAbi";
import { createApiKey } from "../src/store/merchantStore";
import { signedInSession, useDashboardStack, type DashboardFixture } from "./support/dashboardStack";
import { catchUp, localIndexer, mine, useLocalChain } from "./support/localChain";
import { expectError, newMerchant, payOnChain } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";

/** Hardhat's account 6: where these refunds go. */
const CUSTOMER = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";

describe("dashboard money over HTTP (PostgreSQL, Hardhat)", function () {
  this.timeout(120_000);
  const chain = useLocalChain();
  const dashboardStack = useDashboardStack(chain, { each: "test" });
  let stack: DashboardFixture;
  let key: string;
  let session: { cookie: string; csrfToken: string };
  /** A 30 USD payment refundable to CUSTOMER, paid in USDT and confirmed. */
  let paid: { id: string };

  beforeEach(async function () {
    stack = dashboardStack();
    key = (await createApiKey(stack.store.db, stack.merchant.id, "test")).key;
    const created = await call(stack, "POST", "/v1/payments", { key, body: { amount_usd: "30.00", refund_address: CUSTOMER } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    paid = created.body;
    await payOnChain(chain(), created.body, "full", "USDT");
    await mine(11);
    await catchUp(localIndexer(chain(), stack.store.db));
    session = await signedInSession(stack);
  });

  const get = (path: string, cookie = session.cookie) => call(stack, "GET", path, { headers: { cookie } });
  const post = (
    path: string,
    body?: unknown,
    headers: Record<string, string> = { cookie: session.cookie, origin: stack.url, "x-openpay-csrf": session.csrfToken },
  ) => call(stack, "POST", path, { body, headers });
  /** The merchant's wallet sends a prepared call (account 3 is unlocked on the node). */
  const send = async (transaction: { from: string; to: string; data: string }, gas?: bigint): Promise<Hex> =>
    (await hre.network.provider.send("eth_sendTransaction", [
      { from: transaction.from, to: transaction.to, data: transaction.data, ...(gas ? { gas: `0x${gas.toString(16)}` } : {}) },
    ])) as Hex;
  const usdt = (body: { data: Array<{ token: { symbol: string } }> }) => body.data.find((row) => row.token.symbol === "USDT") as Record<string, any>;

  it("shows the balances GET /v1/balances shows, and who sends: the merchant's wallet", async function () {
    const balances = await get("/dashboard/api/balances");
    expect(balances.status, JSON.stringify(balances.body)).to.equal(200);
    expect(balances.headers.get("cache-control")).to.equal("no-store");
    const { sender, confirmations_required: required, ...rest } = balances.body;
    expect(sender).to.equal("wallet");
    expect(required).to.equal(12);
    expect(rest).to.deep.equal((await call(stack, "GET", "/v1/balances", { key })).body);
    expect(Number(usdt(balances.body).confirmed)).to.be.greaterThan(0);
    // The escrow's fee of this deployment, as recorded from its PaymentCompleted: a decimal string, never invented.
    expect(usdt(balances.body).fees).to.match(/^\d+(\.\d+)?$/);

    // A Safe deployed at the address later (as a counterfactual one is): the address without code was asked of the
    // node a minute ago at most, so it is seen a minute later; a contract's code, once seen, is not asked again.
    await hre.network.provider.send("hardhat_setCode", [stack.merchant.address, "0x00"]);
    expect((await get("/dashboard/api/balances")).body.sender).to.equal("wallet");
    stack.advance(60_000);
    expect((await get("/dashboard/api/balances")).body.sender).to.equal("safe");
    await hre.network.provider.send("hardhat_setCode", [stack.merchant.address, "0x"]);
    stack.advance(10 * 60_000);
    expect((await get("/dashboard/api/balances")).body.sender).to.equal("safe");
  });

  it("prepares a withdrawal as the API does and follows it: sent, confirming n/12 by the indexer, confirmed, balance down", async function () {
    const before = usdt((await get("/dashboard/api/balances")).body);
    expectError(await post("/dashboard/api/withdrawals", { token: "USDT", amount: "1000000" }), 400, "amount");
    expectError(await post("/dashboard/api/withdrawals", { token: "DOGE", amount: "1" }), 400, "token");
    const prepared = await post("/dashboard/api/withdrawals", { token: "USDT", amount: "5" });
    expect(prepared.status, JSON.stringify(prepared.body)).to.equal(201);
    const fromApi = (await call(stack, "POST", "/v1/withdrawals", { key, body: { token: "USDT", amount: "5" } })).body;
    expect(prepared.body.transaction).to.deep.equal(fromApi.transaction);
    const call_ = decodeFunctionData({ abi: openPayEscrowAbi, data: prepared.body.transaction.data });
    expect(call_.functionName).to.equal("withdraw");
    expect(call_.args).to.deep.equal([before.token.address, parseUnits("5", before.token.decimals)]);

    const hash = await send(prepared.body.transaction);
    // Mined at once (automine): followed by its receipt alone, the transaction itself is never asked for.
    let transactionsAsked = 0;
    const { client } = stack.context;
    const getTransaction = client.getTransaction;
    client.getTransaction = (args) => {
      transactionsAsked += 1;
      return getTransaction(args);
    };
    const state = async () => (await get(`/dashboard/api/transactions/${hash}`)).body;
    // Mined, but the indexer has not applied its block: still `sent`.
    expect(await state()).to.include({ state: "sent", confirmations: 0, confirmations_required: 12 });
    const indexer = localIndexer(chain(), stack.store.db);
    await catchUp(indexer);
    expect(await state()).to.include({ state: "confirming", confirmations: 1 });
    await mine(5);
    await catchUp(indexer);
    expect(await state()).to.include({ state: "confirming", confirmations: 6 });
    expect(usdt((await get("/dashboard/api/balances")).body).confirmed).to.equal(before.confirmed);
    await mine(6);
    await catchUp(indexer);
    expect(await state()).to.include({ state: "confirmed", confirmations: 12 });
    const after = usdt((await get("/dashboard/api/balances")).body);
    expect(BigInt(after.balance_units)).to.equal(BigInt(before.balance_units) - BigInt(prepared.body.amount_units));
    expect(after.confirmed).to.not.equal(before.confirmed);
    expect(transactionsAsked).to.equal(0);
  });

  it("tells a reverted withdrawal as failed, with the escrow's reason", async function () {
    const prepared = (await post("/dashboard/api/withdrawals", { token: "USDT", amount: "5" })).body;
    // Sent twice with the balance for one: the second reverts (a gas limit of its own, as a wallet past a failed estimate).
    const all = (await post("/dashboard/api/withdrawals", { token: "USDT", amount: "all" })).body;
    await send(all.transaction);
    // Hardhat refuses a reverting transaction while automining: it is mined in a block of its own.
    await hre.network.provider.send("evm_setAutomine", [false]);
    const reverted = await send(prepared.transaction, 200_000n);
    // Pending, without a receipt: the merchant's, so `sent`.
    expect((await get(`/dashboard/api/transactions/${reverted}`)).body).to.include({ state: "sent", block_number: null });
    // Pending too, but the customer's to the escrow: not the merchant's to follow.
    const theirs = await send({ from: CUSTOMER, to: stack.context.escrow, data: "0x" }, 100_000n);
    expectError(await get(`/dashboard/api/transactions/${theirs}`), 404, "id", "not_found_error");
    await mine(1);
    await hre.network.provider.send("evm_setAutomine", [true]);
    const state = (await get(`/dashboard/api/transactions/${reverted}`)).body;
    expect(state.state).to.equal("failed");
    expect(state.reason).to.match(/InsufficientMerchantBalance/);
  });

  it("refunds a paid payment through the API's refund rules, and withdraws the refund the wallet did not send", async function () {
    const refund = await post(`/dashboard/api/payments/${paid.id}/refunds`, { amount: "10" });
    expect(refund.status, JSON.stringify(refund.body)).to.equal(201);
    expect(refund.body.payment.status).to.equal("refunding");
    const decoded = decodeFunctionData({ abi: openPayEscrowAbi, data: refund.body.transaction.data });
    expect(decoded.functionName).to.equal("refund");
    expect(decoded.args[1]).to.equal(CUSTOMER);
    expect(decoded.args[2]).to.equal(BigInt(refund.body.amount_units));
    expectError(await post(`/dashboard/api/payments/${paid.id}/refunds`, { amount: "1" }), 409, "id", "conflict_error");
    const cancelled = await post(`/dashboard/api/payments/${paid.id}/refunds/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).to.equal(200);
    expect(cancelled.body.status).to.equal("paid");
    expectError(await post(`/dashboard/api/payments/${paid.id}/refunds`, { to: "0x1234" }), 400, "to");
  });

  it("answers 404 for another merchant's payment and transaction, as for ones that do not exist", async function () {
    const other = await newMerchant(stack.store.db);
    const theirs = await call(stack, "POST", "/v1/payments", { key: other.key, body: { amount_usd: "5.00", refund_address: CUSTOMER } });
    expectError(await post(`/dashboard/api/payments/${theirs.body.id}/refunds`, {}), 404, "id", "not_found_error");
    expectError(await post(`/dashboard/api/payments/${theirs.body.id}/refunds/cancel`), 404, "id", "not_found_error");
    // A transaction to the escrow the merchant did not send (the customer's payment): not the merchant's to follow.
    const [payment] = (await call(stack, "GET", `/v1/payments/${paid.id}`, { key })).body.transactions as Hex[];
    expectError(await get(`/dashboard/api/transactions/${payment}`), 404, "id", "not_found_error");
    expectError(await get(`/dashboard/api/transactions/0x1234`), 400, "hash");
  });

  it("takes changes only with the session's CSRF token from its own origin, and answers 401 without a session", async function () {
    const paths: Array<[string, unknown]> = [
      ["/dashboard/api/withdrawals", { token: "USDT", amount: "1" }],
      [`/dashboard/api/payments/${paid.id}/refunds`, {}],
      [`/dashboard/api/payments/${paid.id}/refunds/cancel`, undefined],
    ];
    for (const [path, body] of paths) {
      expectError(await post(path, body, { cookie: session.cookie, origin: stack.url }), 403, "x-openpay-csrf", "permission_error");
      expectError(await post(path, body, { cookie: session.cookie, origin: stack.url, "x-openpay-csrf": "forged" }), 403, "x-openpay-csrf", "permission_error");
      expectError(await post(path, body, { cookie: session.cookie, "x-openpay-csrf": session.csrfToken }), 403, "Origin", "permission_error");
      expectError(await post(path, body, { origin: stack.url }), 401, undefined, "authentication_error");
    }
    expectError(await get("/dashboard/api/balances", ""), 401, undefined, "authentication_error");
    // Nothing was recorded by the refused requests.
    expect((await call(stack, "GET", `/v1/payments/${paid.id}`, { key })).body.status).to.equal("paid");
  });
});
