import { expect } from "chai";
import hre from "hardhat";
import { decodeFunctionData, parseUnits, type Hex } from "viem";
import { openPayEscrowAbi } from "../src/chain/escrowAbi";
import { dispatchOutbox } from "../src/ledger/outboxDispatch";
import { loadPaymentRecords } from "../src/store/paymentRequestStore";
import { CHAIN_ID, catchUp, localIndexer, mine, useLocalChain } from "./support/localChain";
import { countRows, createdPayment, expectError, freshStackEachTest, newMerchant, payOnChain, type ApiFixture } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";

/** Hardhat's account 6: simulate's customer, and where these refunds go. */
const CUSTOMER = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";

async function poll(f: ApiFixture, id: string) {
  const response = await call(f.api, "GET", `/v1/payments/${id}`, { key: f.key });
  expect(response.status, JSON.stringify(response.body)).to.equal(200);
  return response.body;
}

const historyOf = (payment: { history: Array<{ from: string; to: string; reason: string }> }) =>
  payment.history.map(({ from, to, reason }) => [from, to, reason]);

async function tokenBalance(token: string, holder: string): Promise<bigint> {
  const contract = await hre.ethers.getContractAt("TestToken", token);
  return BigInt(await contract.balanceOf(holder));
}

/** The merchant (account 3) signs and sends the refund transaction the API prepared, as its wallet would. */
async function sendAsMerchant(transaction: { from: string; to: string; data: string; value: string; chain_id: number }): Promise<Hex> {
  expect(transaction.chain_id).to.equal(CHAIN_ID);
  const merchant = await hre.ethers.getSigner(transaction.from);
  const sent = await merchant.sendTransaction({ to: transaction.to, data: transaction.data, value: BigInt(transaction.value) });
  const receipt = await sent.wait();
  expect(receipt!.status).to.equal(1);
  return receipt!.hash as Hex;
}

describe("merchant API over the chain: paying, polling, refunding", function () {
  const chain = useLocalChain();
  const fixture = freshStackEachTest(chain);

  /** A 30 USD payment refundable to CUSTOMER, paid in full in USDT and confirmed (12 blocks): where refunds start. */
  async function paidToRefund(f: ApiFixture) {
    const indexer = localIndexer(chain(), f.db);
    const created = await createdPayment(f, { amount_usd: "30.00", refund_address: CUSTOMER });
    await payOnChain(chain(), created, "full", "USDT");
    await mine(11);
    await catchUp(indexer);
    return { indexer, created };
  }

  it("GET follows a full payment: confirming with 1, then 5 of 12 confirmations, paid at 12, with token, transactions and history", async function () {
    const f = fixture();
    const indexer = localIndexer(chain(), f.db);
    const created = await createdPayment(f, { amount_usd: "25.00", order_id: "o-25" });
    const paid = await payOnChain(chain(), created, "full", "USDT");
    const block = Number((await hre.ethers.provider.getTransactionReceipt(paid.transaction!))!.blockNumber);
    await catchUp(indexer);

    const confirming = await poll(f, created.id);
    expect(confirming).to.include({
      status: "confirming",
      previous_status: "initiated",
      sequence: 1,
      amount_usd: "25.00",
      received_usd: "25.00",
      remaining_usd: "0.00",
      excess_usd: "0.00",
      paid_amount: paid.amount,
      fee: "0",
      refunded_amount: "0",
      refund_pending_amount: "0",
    });
    expect(confirming.token).to.deep.equal({ symbol: "USDT", address: chain().record.tokens.USDT.address });
    expect(confirming.transactions).to.deep.equal([paid.transaction]);
    expect(confirming.confirmations).to.deep.equal({ seen: 1, required: 12 });
    expect(confirming.history).to.have.length(1);
    expect(confirming.history[0]).to.include({
      sequence: 1,
      from: "initiated",
      to: "confirming",
      reason: "full_value_received",
      transaction_hash: paid.transaction,
      block_number: block,
    });
    expect(Date.parse(confirming.history[0].at)).to.be.at.least(Date.parse(created.created_at));

    await mine(4);
    await catchUp(indexer);
    const five = await poll(f, created.id);
    expect(five).to.include({ status: "confirming" });
    expect(five.confirmations).to.deep.equal({ seen: 5, required: 12 });

    await mine(7);
    await catchUp(indexer);
    const done = await poll(f, created.id);
    expect(done).to.include({ status: "paid", previous_status: "confirming", sequence: 2, received_usd: "25.00" });
    expect(done.confirmations).to.deep.equal({ seen: 12, required: 12 });
    expect(historyOf(done)).to.deep.equal([
      ["initiated", "confirming", "full_value_received"],
      ["confirming", "paid", "confirmed"],
    ]);
    const times = done.history.map((entry: { at: string }) => Date.parse(entry.at));
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
    expect(Date.parse(done.updated_at)).to.be.at.least(Date.parse(done.created_at));

    // Seen never exceeds required; the list shows the same payment.
    await mine(3);
    await catchUp(indexer);
    expect((await poll(f, created.id)).confirmations).to.deep.equal({ seen: 12, required: 12 });
    const listed = await call(f.api, "GET", "/v1/payments?status=paid", { key: f.key });
    expect(listed.body.data.map((payment: { id: string }) => payment.id)).to.deep.equal([created.id]);
    expect(listed.body.data[0]).to.not.have.property("history");
    expect(listed.body.data[0].transactions).to.deep.equal([paid.transaction]);
  });

  it("GET shows an underpaid payment as pending with what remains; a top-up completes it", async function () {
    const f = fixture();
    const indexer = localIndexer(chain(), f.db);
    const created = await createdPayment(f, { amount_usd: "40.00", tokens: ["USDC"] });
    const partial = await payOnChain(chain(), created, "partial", "USDC");
    await catchUp(indexer);

    const pending = await poll(f, created.id);
    expect(pending).to.include({ status: "pending", previous_status: "initiated", paid_amount: partial.amount, excess_usd: "0.00" });
    expect(pending.token.symbol).to.equal("USDC");
    const received = parseUnits(pending.received_usd, 18);
    const remaining = parseUnits(pending.remaining_usd, 18);
    // 40 % of the price was sent (at $0.9998 a token, rounded up to the unit).
    expect(received >= parseUnits("16", 18) && received < parseUnits("16.01", 18), pending.received_usd).to.equal(true);
    expect(received + remaining).to.equal(parseUnits("40", 18));
    expect(pending.confirmations).to.deep.equal({ seen: 0, required: 12 });
    expect(pending.transactions).to.deep.equal([partial.transaction]);
    expect(historyOf(pending)).to.deep.equal([["initiated", "pending", "deposit"]]);
    expect((await call(f.api, "GET", "/v1/payments?status=pending", { key: f.key })).body.data.map((p: { id: string }) => p.id)).to.deep.equal([created.id]);
    // Not paid: nothing to refund.
    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: { to: CUSTOMER } }), 409, "id", "conflict_error");

    const topUp = await payOnChain(chain(), created, "full", "USDC");
    await catchUp(indexer);
    const confirming = await poll(f, created.id);
    expect(confirming).to.include({ status: "confirming", previous_status: "pending", remaining_usd: "0.00" });
    expect(confirming.transactions).to.deep.equal([partial.transaction, topUp.transaction]);
    expect(historyOf(confirming)).to.deep.equal([
      ["initiated", "pending", "deposit"],
      ["pending", "confirming", "full_value_received"],
    ]);
    // GET reads the payment in one statement: the same resource as its record, transactions, checkpoint and history read apart.
    const views = f.api.context.views;
    const [apart] = await views.resources(f.db, [(await loadPaymentRecords(f.db, CHAIN_ID, [created.id])).get(created.id)!], true);
    expect(apart.history).to.have.length(2);
    expect(JSON.parse(JSON.stringify(apart))).to.deep.equal(confirming);
  });

  it("announces every short deposit as payment.underpaid, also one that leaves the status pending", async function () {
    const f = fixture();
    const indexer = localIndexer(chain(), f.db);
    const created = await createdPayment(f, { amount_usd: "40.00", tokens: ["USDT"] });
    await payOnChain(chain(), created, "partial", "USDT");
    await catchUp(indexer);
    await payOnChain(chain(), created, "partial", "USDT");
    await catchUp(indexer);
    await dispatchOutbox(f.db, f.api.context.views, { limit: 100 });

    const events = await call(f.api, "GET", `/v1/events?payment_id=${created.id}`, { key: f.key });
    expect(events.status).to.equal(200);
    // Newest first.
    expect(events.body.data.map((event: { type: string }) => event.type)).to.deep.equal(["payment.underpaid", "payment.underpaid", "payment.created"]);
    const [second, first] = events.body.data.map((event: { data: { data: { status: string; received_usd: string; sequence: number } } }) => event.data.data);
    expect([first.status, second.status]).to.deep.equal(["pending", "pending"]);
    expect(parseUnits(second.received_usd, 18) > parseUnits(first.received_usd, 18)).to.equal(true);
    // The second changed no status, only the money: it is a change of its own, with the next sequence number.
    expect([first.sequence, second.sequence]).to.deep.equal([1, 2]);
    expect(historyOf(await poll(f, created.id))).to.deep.equal([
      ["initiated", "pending", "deposit"],
      ["pending", "pending", "deposit"],
    ]);
  });

  it("refunds a paid payment in part, then the rest, through transactions the merchant signs: refunding → partially_refunded → refunded", async function () {
    const f = fixture();
    const record = chain().record;
    const { indexer, created } = await paidToRefund(f);
    expect((await poll(f, created.id)).status).to.equal("paid");
    const usdt = record.tokens.USDT;
    const before = await tokenBalance(usdt.address, CUSTOMER);

    // More than is refundable, or an amount that is no amount of the token, is refused naming the field.
    for (const amount of ["30.000001", "31", "0", "0.0", "1.1234567890123456789", "1e3", 5]) {
      expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: { amount } }), 400, "amount");
    }
    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: { to: "0x1234" } }), 400, "to");
    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: { reason: "damaged" } }), 400, "reason");
    expect((await poll(f, created.id)).status).to.equal("paid");

    const refund = await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: { amount: "10" } });
    expect(refund.status, JSON.stringify(refund.body)).to.equal(201);
    expect(refund.body).to.include({ object: "refund", amount: "10", amount_units: parseUnits("10", usdt.decimals).toString(), to: CUSTOMER });
    expect(refund.body.token).to.deep.equal({ symbol: "USDT", address: usdt.address });
    expect(refund.body.payment).to.include({ id: created.id, status: "refunding", previous_status: "paid", refund_pending_amount: "10", refunded_amount: "0" });
    const transaction = refund.body.transaction;
    expect(transaction).to.include({ chain_id: CHAIN_ID, from: record.demoMerchant!.merchant, to: record.escrow, value: "0" });
    const call_ = decodeFunctionData({ abi: openPayEscrowAbi, data: transaction.data });
    expect(call_.functionName).to.equal("refund");
    expect(call_.args).to.deep.equal([created.id, CUSTOMER, parseUnits("10", usdt.decimals)]);
    // The same call for a merchant address that is a Safe: a Transaction Builder batch.
    expect(refund.body.safe_transaction_batch).to.deep.include({
      version: "1.0",
      chainId: String(CHAIN_ID),
      transactions: [{ to: record.escrow, value: "0", data: transaction.data }],
    });
    expect(refund.body.safe_transaction_batch.meta).to.include({ name: "Open Pay refund of 10 USDT", createdFromSafeAddress: record.demoMerchant!.merchant });
    expect((await call(f.api, "GET", "/v1/payments?status=refunding", { key: f.key })).body.data).to.have.length(1);

    // One refund at a time: another while this one is under way is a conflict.
    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: { amount: "1" } }), 409, "id", "conflict_error");

    const first = await sendAsMerchant(transaction);
    await catchUp(indexer);
    const partly = await poll(f, created.id);
    expect(partly).to.include({ status: "partially_refunded", previous_status: "refunding", refunded_amount: "10", refund_pending_amount: "0" });
    expect(partly.transactions.at(-1)).to.equal(first);
    expect(historyOf(partly).slice(-2)).to.deep.equal([
      ["paid", "refunding", "refund_requested"],
      ["refunding", "partially_refunded", "refunded"],
    ]);
    expect(partly.history.at(-1).transaction_hash).to.equal(first);
    expect((await tokenBalance(usdt.address, CUSTOMER)) - before).to.equal(parseUnits("10", usdt.decimals));
    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: { amount: "20.000001" } }), 400, "amount");

    // No body: everything still refundable, to the payment's refund address.
    const rest = await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key });
    expect(rest.status, JSON.stringify(rest.body)).to.equal(201);
    expect(rest.body).to.include({ amount: "20", to: CUSTOMER });
    expect(rest.body.payment.status).to.equal("refunding");
    await sendAsMerchant(rest.body.transaction);
    await catchUp(indexer);
    const refunded = await poll(f, created.id);
    expect(refunded).to.include({ status: "refunded", refunded_amount: "30", refund_pending_amount: "0" });
    expect((await tokenBalance(usdt.address, CUSTOMER)) - before).to.equal(parseUnits("30", usdt.decimals));

    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: { amount: "1" } }), 409, "id", "conflict_error");
  });

  it("takes one of several concurrent refunds (the others are conflicts, never errors), and one of several cancels", async function () {
    const f = fixture();
    const { created } = await paidToRefund(f);

    const refunds = await Promise.all(
      ["10", "11", "12", "13", "14"].map((amount) => call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: { amount } })),
    );
    const statuses = refunds.map((response) => response.status);
    expect(
      statuses.filter((status) => status === 201),
      JSON.stringify(refunds.map((r) => r.body)),
    ).to.have.length(1);
    expect(statuses.filter((status) => status === 409)).to.have.length(4);
    const taken = refunds.find((response) => response.status === 201)!.body.amount;
    const refunding = await poll(f, created.id);
    expect(refunding).to.include({ status: "refunding", refund_pending_amount: taken });
    expect(historyOf(refunding).filter(([, to]) => to === "refunding")).to.have.length(1);

    const cancels = await Promise.all(Array.from({ length: 4 }, () => call(f.api, "POST", `/v1/payments/${created.id}/refunds/cancel`, { key: f.key })));
    expect(cancels.map((response) => response.status).sort()).to.deep.equal([200, 409, 409, 409]);
    const back = await poll(f, created.id);
    expect(back).to.include({ status: "paid", refund_pending_amount: "0" });
    expect(back.history.map((entry: { sequence: number }) => entry.sequence)).to.deep.equal(back.history.map((_: unknown, i: number) => i + 1));
  });

  it("takes one refund and one withdrawal for concurrent duplicates with one key: the others replay it; another body is refused", async function () {
    const f = fixture();
    const { created } = await paidToRefund(f);

    const refund = (amount: string) =>
      call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: { amount }, headers: { "idempotency-key": "refund-once" } });
    const refunds = await Promise.all(Array.from({ length: 5 }, () => refund("10")));
    expect(
      refunds.map((response) => response.status),
      JSON.stringify(refunds.map((response) => response.body)),
    ).to.deep.equal(Array(5).fill(201));
    expect(refunds.filter((response) => response.headers.get("idempotent-replayed") === null)).to.have.length(1);
    for (const response of refunds) expect(response.body).to.deep.equal(refunds[0].body);
    // A retry after the payment moved on (it is refunding now: a new refund would be refused) still replays.
    const retried = await refund("10");
    expect([retried.status, retried.headers.get("idempotent-replayed")]).to.deep.equal([201, "true"]);
    expect(retried.body).to.deep.equal(refunds[0].body);
    expectError(await refund("11"), 400, "Idempotency-Key", "idempotency_error");
    const refunding = await poll(f, created.id);
    expect(refunding).to.include({ status: "refunding", refund_pending_amount: "10" });
    expect(historyOf(refunding).filter(([, to]) => to === "refunding")).to.have.length(1);

    const withdraw = (amount: string) =>
      call(f.api, "POST", "/v1/withdrawals", { key: f.key, body: { token: "USDT", amount }, headers: { "idempotency-key": "withdraw-once" } });
    const withdrawals = await Promise.all(Array.from({ length: 4 }, () => withdraw("1")));
    expect(
      withdrawals.map((response) => response.status),
      JSON.stringify(withdrawals.map((response) => response.body)),
    ).to.deep.equal(Array(4).fill(201));
    expect(withdrawals.filter((response) => response.headers.get("idempotent-replayed") === null)).to.have.length(1);
    for (const response of withdrawals) expect(response.body).to.deep.equal(withdrawals[0].body);
    expect(withdrawals[0].body).to.include({ object: "withdrawal_request", amount: "1" });
    expectError(await withdraw("2"), 400, "Idempotency-Key", "idempotency_error");
    expect(await countRows(f.db, "idempotency_keys", "merchant_id", f.merchant.id)).to.equal(2);
  });

  it("refuses what it cannot refund, replays an idempotent refund, and a cancelled refund returns the payment to paid", async function () {
    const f = fixture();
    const indexer = localIndexer(chain(), f.db);
    const unpaid = await createdPayment(f, { amount_usd: "5.00" });
    expectError(await call(f.api, "POST", `/v1/payments/${unpaid.id}/refunds`, { key: f.key, body: { to: CUSTOMER } }), 409, "id", "conflict_error");
    expectError(await call(f.api, "POST", `/v1/payments/${unpaid.id}/refunds/cancel`, { key: f.key }), 409, "id", "conflict_error");
    expectError(await call(f.api, "POST", `/v1/payments/0x${"12".repeat(32)}/refunds`, { key: f.key, body: { to: CUSTOMER } }), 404, "id", "not_found_error");

    const created = await createdPayment(f, { amount_usd: "20.00" });
    await payOnChain(chain(), created, "full", "BNB");
    await catchUp(indexer);
    // Confirming is not paid yet.
    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: { to: CUSTOMER } }), 409, "id", "conflict_error");
    await mine(11);
    await catchUp(indexer);
    const paid = await poll(f, created.id);
    expect(paid).to.include({ status: "paid" });
    expect(paid.token.symbol).to.equal("BNB");

    // The payment names no refund address: the refund must.
    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key, body: {} }), 400, "to");
    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: f.key }), 400, "to");
    // Another merchant cannot refund it.
    const other = await newMerchant(f.db);
    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds`, { key: other.key, body: { to: CUSTOMER } }), 404, "id", "not_found_error");

    const ask = () =>
      call(f.api, "POST", `/v1/payments/${created.id}/refunds`, {
        key: f.key,
        body: { to: CUSTOMER.toLowerCase(), amount: "0.01" },
        headers: { "idempotency-key": "refund-1" },
      });
    const first = await ask();
    const again = await ask();
    expect([first.status, again.status]).to.deep.equal([201, 201]);
    expect(again.headers.get("idempotent-replayed")).to.equal("true");
    expect(again.body).to.deep.equal(first.body);
    expect(first.body.to).to.equal(CUSTOMER);
    const refunding = await poll(f, created.id);
    expect(refunding).to.include({ status: "refunding", refund_pending_amount: "0.01" });

    const cancelled = await call(f.api, "POST", `/v1/payments/${created.id}/refunds/cancel`, { key: f.key });
    expect(cancelled.status, JSON.stringify(cancelled.body)).to.equal(200);
    expect(cancelled.body).to.include({ status: "paid", previous_status: "refunding", refund_pending_amount: "0", refunded_amount: "0" });
    expect(historyOf(cancelled.body).at(-1)).to.deep.equal(["refunding", "paid", "refund_abandoned"]);
    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds/cancel`, { key: f.key }), 409, "id", "conflict_error");
    expectError(await call(f.api, "POST", `/v1/payments/${created.id}/refunds/cancel`, { key: other.key }), 404, "id", "not_found_error");

    // The indexer, catching up, leaves it paid: nothing was refunded on chain.
    await catchUp(indexer);
    expect((await poll(f, created.id)).status).to.equal("paid");
  });
});
