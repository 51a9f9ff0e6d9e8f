import { expect } from "chai";
import hre from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Webhook } from "standardwebhooks";
import { getAddress, parseUnits, zeroAddress, type Address, type Hex } from "viem";
import { sendMerchantTransaction } from "../../sdk/src";
import { signedIntentFromJson } from "../src/payments/signedIntentJson";
import { OPERATOR_ADDRESS, startGateway, type Gateway, type VerifiedEvent } from "./support/gatewayProcess";
import { killIndexerProcesses, metricValue } from "./support/indexerProcess";
import { latestTimestamp, mineAt, revertTo, snapshot, useLocalChain } from "./support/localChain";
import { headNumber, mineBlocks, mined, mineKeeperCalls, rawLegacyTransaction, sendRawTransaction, setAutomine, type KeeperCall } from "./support/manualMining";
import { call } from "./support/merchantApiStack";

/**
 * End to end (issue 7): the real Open Pay process (indexer, keeper, merchant API and webhook worker in one, as
 * `npm run indexer` runs it) on a fresh PostgreSQL database, the API over HTTP, a merchant's webhook receiver on
 * 127.0.0.1 verifying every delivery with `standardwebhooks`, and customers paying on the chain over JSON-RPC.
 *
 * The chain does not mine by itself here: every block is mined by the test, so that the keeper's transactions land
 * where the test says and confirmations and reorganisations are exact. Block numbers are relative to the chain as the
 * test finds it (every integration file shares one chain).
 */

type TokenSymbol = "USDT" | "USDC";

const usd = (value: string) => parseUnits(value, 18);
const typesOf = (events: VerifiedEvent[]) => events.map((event) => event.type);
const historyOf = (payment: { history: Array<{ from: string; to: string; reason: string }> }) =>
  payment.history.map(({ from, to, reason }) => `${from} -> ${to} (${reason})`);

describe("end to end: a customer pays, the gateway indexes, keeps and tells the merchant", function () {
  this.timeout(120_000);
  const chain = useLocalChain();

  let gateway: Gateway | undefined;
  const g = () => {
    if (!gateway) throw new Error("the gateway starts in beforeEach");
    return gateway;
  };
  beforeEach(async function () {
    await setAutomine(false);
    // A block now: the API takes the chain's clock from the latest block when it starts (expiries are in chain time),
    // and after a revert that block can be far older than the chain's clock.
    await mineBlocks(1);
    gateway = await startGateway(chain(), "open pay");
  });
  afterEach(async function () {
    // Before useLocalChain's revert (inner hooks run first): the process must not see the chain go back.
    try {
      await gateway?.close();
    } finally {
      gateway = undefined;
      await killIndexerProcesses();
    }
  });

  const tokenAddress = (symbol: TokenSymbol) => getAddress(chain().record.tokens[symbol].address);
  const merchant = () => getAddress(chain().record.demoMerchant!.merchant);
  const token = (symbol: TokenSymbol) => hre.ethers.getContractAt("TestToken", tokenAddress(symbol));
  const escrow = () => hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
  const balanceOf = async (symbol: TokenSymbol, holder: string): Promise<bigint> => (await token(symbol)).balanceOf(holder);
  const merchantBalance = async (symbol: TokenSymbol): Promise<bigint> => (await escrow()).balanceOf(merchant(), tokenAddress(symbol));
  /** Hardhat's accounts 10 to 19: customers no other role of the local deployment uses. */
  const customer = async (index: number): Promise<HardhatEthersSigner> => (await hre.ethers.getSigners())[10 + index];

  /** Gives a customer test tokens (mined). */
  async function fund(symbol: TokenSymbol, to: HardhatEthersSigner, amount: bigint) {
    await mined((await token(symbol)).mint(to.address, amount));
  }

  /** A plain transfer of the token to an address, as a wallet or an exchange withdrawal sends it (mined). */
  async function transfer(symbol: TokenSymbol, from: HardhatEthersSigner, to: string, amount: bigint) {
    return mined((await token(symbol)).connect(from).transfer(to, amount));
  }

  /** Waits for the keeper's transactions, mines them in one block and returns them decoded. */
  function keeperCalls(what: string, count = 1): Promise<KeeperCall[]> {
    const openPay = g().process;
    return mineKeeperCalls(OPERATOR_ADDRESS, (description, check, options) => openPay.until(description, check, options), { count, what });
  }

  /** The keeper's one transaction: a call of `functionName` for `paymentId`. */
  async function keeperCall(functionName: string, paymentId: string): Promise<KeeperCall> {
    const calls = await keeperCalls(`the keeper's ${functionName}`);
    expect(calls.map((call) => call.functionName)).to.deep.equal([functionName]);
    const [intent] = calls[0].args as [{ paymentId: Hex }];
    expect(intent.paymentId).to.equal(paymentId);
    return calls[0];
  }

  /** Waits until the indexer has committed block `number` (its /metrics say so). */
  async function indexed(number: number) {
    const openPay = g().process;
    await openPay.until(
      `block ${number} indexed`,
      async () => ((metricValue(await openPay.metrics(), "openpay_indexer_indexed_block") ?? -1) >= number ? true : undefined),
      {
        timeoutMs: 30_000,
        pollMs: 50,
      },
    );
  }

  /**
   * Reorganises the chain: back to the snapshot `fork` (taken at block `forkHead`), then a branch one block longer
   * than the one it replaces, mined block by block, so that the indexer meets a block whose parent it does not hold.
   */
  async function reorganise(fork: string, forkHead: number) {
    const oldHead = await headNumber();
    await revertTo(fork);
    expect(await headNumber()).to.equal(forkHead);
    await mineBlocks(oldHead - forkHead + 1);
  }

  it("pays the quoted amount by a plain transfer to the deposit address: collected, 12 confirmations, payment.completed signed, paid", async function () {
    const gw = g();
    const created = await gw.createPayment({ amount_usd: "25.00", order_id: "e2e-1", metadata: { cart: "42" }, tokens: ["USDT"] });
    expect(created).to.include({ status: "initiated", sequence: 0, amount_usd: "25.00", received_usd: "0.00", remaining_usd: "25.00", token: null });
    expect(created.payment_options).to.have.length(1);
    const [option] = created.payment_options;
    expect(option).to.include({ token: "USDT", address: tokenAddress("USDT"), amount: "25", amount_units: "25000000000000000000" });
    expect(option.uri).to.equal(`ethereum:${tokenAddress("USDT")}@31337/transfer?address=${created.deposit_address}&uint256=25000000000000000000`);

    // The customer's exchange sends exactly what the payment option says.
    const units = BigInt(option.amount_units);
    const buyer = await customer(0);
    await fund("USDT", buyer, units);
    const buyerBefore = await balanceOf("USDT", buyer.address);
    const merchantBefore = await merchantBalance("USDT");
    const sent = await transfer("USDT", buyer, created.deposit_address, units);
    expect(await balanceOf("USDT", created.deposit_address)).to.equal(units);
    // The merchant hears of the transfer as soon as the indexer reads it, before anything is collected.
    const funded = await gw.paymentWhen(created.id, "funded", (payment) => payment.status === "pending");
    expect(funded).to.include({ previous_status: "initiated", sequence: 1, received_usd: "0.00" });
    expect(funded.transactions).to.deep.equal([sent.hash]);

    const collect = await keeperCall("collect", created.id);
    expect(collect.args[2]).to.equal(tokenAddress("USDT"));
    expect(await balanceOf("USDT", created.deposit_address)).to.equal(0n);
    const confirming = await gw.paymentWhen(created.id, "confirming", (payment) => payment.status === "confirming");
    expect(confirming).to.include({
      previous_status: "pending",
      sequence: 2,
      received_usd: "25.00",
      remaining_usd: "0.00",
      excess_usd: "0.00",
      paid_amount: "25",
      fee: "0",
    });
    expect(confirming.token).to.deep.equal({ symbol: "USDT", address: tokenAddress("USDT") });
    expect(confirming.confirmations).to.deep.equal({ seen: 1, required: 12 });
    expect(confirming.transactions).to.deep.equal([sent.hash, collect.hash]);

    // 11 confirmations are not enough…
    await mineBlocks(10);
    const eleven = await gw.paymentWhen(created.id, "11 confirmations", (payment) => payment.confirmations.seen === 11);
    expect(eleven.status).to.equal("confirming");
    // …the 12th block makes it paid.
    await mineBlocks(1);
    const paid = await gw.paymentWhen(created.id, "paid", (payment) => payment.status === "paid");
    expect(paid).to.include({ previous_status: "confirming", sequence: 3, received_usd: "25.00", remaining_usd: "0.00", paid_amount: "25" });
    expect(paid.confirmations).to.deep.equal({ seen: 12, required: 12 });
    expect(historyOf(paid)).to.deep.equal([
      "initiated -> pending (deposit_address_funded)",
      "pending -> confirming (full_value_received)",
      "confirming -> paid (confirmed)",
    ]);
    expect(paid.history[1]).to.include({ transaction_hash: collect.hash, block_number: collect.blockNumber });

    const events = await gw.eventsWhen(created.id, 4);
    expect(typesOf(events)).to.deep.equal(["payment.created", "payment.pending", "payment.confirming", "payment.completed"]);
    expect(events.map((event) => event.data.sequence)).to.deep.equal([0, 1, 2, 3]);
    const completed = events[3];
    expect(completed.data).to.include({
      id: created.id,
      status: "paid",
      previous_status: "confirming",
      received_usd: "25.00",
      remaining_usd: "0.00",
      paid_amount: "25",
      order_id: "e2e-1",
    });
    expect(completed.data.metadata).to.deep.equal({ cart: "42" });
    expect(completed.data).to.not.have.property("history");

    // The signature is what makes the delivery trustworthy: another body or another secret does not verify.
    const delivery = gw.receiver.received.find((received) => received.id === completed.id)!;
    const headers = { "webhook-id": delivery.id, "webhook-timestamp": delivery.timestamp, "webhook-signature": delivery.signature };
    expect(() => new Webhook(gw.endpoint.secret).verify(delivery.body.replace('"status":"paid"', '"status":"refunded"'), headers)).to.throw();
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`).verify(delivery.body, headers)).to.throw();

    // The merchant's event log names the same events, each delivered.
    const logged = await gw.process.until(
      "the event log to show every delivery succeeded",
      async () => {
        const response = await gw.request("GET", `/v1/events?payment_id=${created.id}`);
        const data = response.body.data as Array<{ id: string; type: string; deliveries: Array<{ status: string }> }>;
        return data.length === 4 && data.every((event) => event.deliveries.every((d) => d.status === "succeeded")) ? data : undefined;
      },
      { timeoutMs: 30_000, pollMs: 100 },
    );
    expect(logged.map((event) => event.id).sort()).to.deep.equal(events.map((event) => event.id).sort());

    // On chain: the customer paid exactly the quote, the merchant's escrow balance holds it.
    expect(buyerBefore - (await balanceOf("USDT", buyer.address))).to.equal(units);
    expect((await merchantBalance("USDT")) - merchantBefore).to.equal(units);
  });

  it("an underpaid payment is topped up: payment.underpaid for each short deposit, remaining_usd down to 0, then payment.completed", async function () {
    const gw = g();
    const created = await gw.createPayment({ amount_usd: "30.00", tokens: ["USDT"] });
    const buyer = await customer(1);
    const ten = parseUnits("10", 18);
    await fund("USDT", buyer, 3n * ten);
    const merchantBefore = await merchantBalance("USDT");

    // Three transfers of the same amount: each is a new deposit the keeper collects.
    const collects: KeeperCall[] = [];
    // The first transfer is announced as it arrives (pending, sequence 1); each collected deposit moves the money.
    const expected = [
      { status: "pending", received_usd: "10.00", remaining_usd: "20.00", sequence: 2 },
      { status: "pending", received_usd: "20.00", remaining_usd: "10.00", sequence: 3 },
      { status: "confirming", received_usd: "30.00", remaining_usd: "0.00", sequence: 4 },
    ];
    for (const [i, state] of expected.entries()) {
      await transfer("USDT", buyer, created.deposit_address, ten);
      collects.push(await keeperCall("collect", created.id));
      const seen = await gw.paymentWhen(created.id, `deposit ${i + 1}`, (payment) => payment.received_usd === state.received_usd);
      expect(seen, `after deposit ${i + 1}`).to.include({ ...state, paid_amount: String(10 * (i + 1)), excess_usd: "0.00" });
      expect(seen.transactions).to.include.members(collects.map((call) => call.hash));
    }

    await mineBlocks(11);
    const paid = await gw.paymentWhen(created.id, "paid", (payment) => payment.status === "paid");
    expect(paid).to.include({ previous_status: "confirming", sequence: 5, received_usd: "30.00", remaining_usd: "0.00", paid_amount: "30" });
    expect(historyOf(paid)).to.deep.equal([
      "initiated -> pending (deposit_address_funded)",
      "pending -> pending (deposit)",
      "pending -> pending (deposit)",
      "pending -> confirming (full_value_received)",
      "confirming -> paid (confirmed)",
    ]);
    expect(paid.history.slice(1).map((entry: { block_number: number | null }) => entry.block_number)).to.deep.equal([
      collects[0].blockNumber,
      collects[1].blockNumber,
      collects[2].blockNumber,
      null,
    ]);

    // Every change of money is its own event, with its own sequence number.
    const events = await gw.eventsWhen(created.id, 6);
    expect(typesOf(events)).to.deep.equal([
      "payment.created",
      "payment.pending",
      "payment.underpaid",
      "payment.underpaid",
      "payment.confirming",
      "payment.completed",
    ]);
    expect(events.map((event) => [event.data.sequence, event.data.status, event.data.received_usd, event.data.remaining_usd])).to.deep.equal([
      [0, "initiated", "0.00", "30.00"],
      [1, "pending", "0.00", "30.00"],
      [2, "pending", "10.00", "20.00"],
      [3, "pending", "20.00", "10.00"],
      [4, "confirming", "30.00", "0.00"],
      [5, "paid", "30.00", "0.00"],
    ]);
    expect((await merchantBalance("USDT")) - merchantBefore).to.equal(3n * ten);
  });

  it("an underpaid payment expires: each payer gets its partial deposit back, listed in refunds with payment.refunded, then payment.expired; one whose only attempt reverted fails", async function () {
    const gw = g();
    const created = await gw.createPayment({ amount_usd: "20.00", tokens: ["USDT"], ttl_seconds: 600 });
    // Beside it, a payment whose customer's only attempt reverts on chain: it ends failed, not expired.
    const attempted = await gw.createPayment({ amount_usd: "5.00", tokens: ["USDT"], ttl_seconds: 600 });
    expect(created.refund_address).to.equal(null);
    const { intent, signature } = signedIntentFromJson(created.intent);
    const exchange = await customer(2); // pays by a plain transfer to the deposit address
    const wallet = await customer(3); // pays from a connected wallet, with the escrow's pay()
    const six = parseUnits("6", 18);
    const four = parseUnits("4", 18);
    await fund("USDT", exchange, six);
    await fund("USDT", wallet, four);
    const exchangeBefore = await balanceOf("USDT", exchange.address);
    const walletBefore = await balanceOf("USDT", wallet.address);
    const merchantBefore = await merchantBalance("USDT");

    await transfer("USDT", exchange, created.deposit_address, six);
    await keeperCall("collect", created.id);
    await gw.paymentWhen(created.id, "the first deposit", (payment) => payment.received_usd === "6.00");
    await mined((await token("USDT")).connect(wallet).approve(chain().record.escrow, four));
    const pay = await mined((await escrow()).connect(wallet).pay(intent, signature, tokenAddress("USDT"), four, zeroAddress));
    const underpaid = await gw.paymentWhen(created.id, "the second deposit", (payment) => payment.received_usd === "10.00");

    // The other customer's pay() without an allowance reverts; the checkout reports it and the server checks it.
    const failing = signedIntentFromJson(attempted.intent);
    const reverted = await (await escrow())
      .connect(wallet)
      .pay(failing.intent, failing.signature, tokenAddress("USDT"), parseUnits("5", 18), zeroAddress, { gasLimit: 400_000 });
    await mineBlocks(1);
    expect((await hre.ethers.provider.getTransactionReceipt(reverted.hash))!.status).to.equal(0);
    const reported = await call(gw.api, "POST", `/checkout/${attempted.id}/failed-transactions`, { body: { transaction_hash: reverted.hash } });
    expect(reported.status).to.equal(201);
    expect(underpaid).to.include({ status: "pending", remaining_usd: "10.00", paid_amount: "10", sequence: 3 });
    expect(underpaid.transactions).to.include(pay.hash);
    expect(await balanceOf("USDT", exchange.address)).to.equal(exchangeBefore - six);
    expect(await balanceOf("USDT", wallet.address)).to.equal(walletBefore - four);

    // The time runs out: the next block is past the expiry, and the keeper expires the payment.
    expect((await latestTimestamp()) < intent.expiry, "the payment expired before it was paid").to.equal(true);
    await mineAt(intent.expiry + 1n);
    const expire = await keeperCall("expire", created.id);
    expect(getAddress(expire.args[1] as Address)).to.equal(getAddress(tokenAddress("USDT")));
    const walletRefund = {
      kind: "expiry",
      amount: "4",
      amount_units: four.toString(),
      token: { symbol: "USDT", address: tokenAddress("USDT") },
      to: wallet.address,
      transaction_hash: expire.hash,
      status: "sent",
    };
    const payers = (expire.args[2] as Address[]).map((payer) => getAddress(payer));
    // The deposit address is not listed: without a refund address the escrow keeps its deposits for
    // refundDepositAddress, below.
    expect(payers).to.have.members([getAddress(wallet.address)]);
    // expire() pays back the wallet's deposit at once…
    expect(await balanceOf("USDT", wallet.address)).to.equal(walletBefore);
    // The merchant hears of that refund at once (payment.refunded, below), and of the expiry once its block is
    // confirmed (a reorganisation could still take either back).
    const refunding = await gw.paymentWhen(created.id, "the wallet's refund", (payment) => payment.refunds.length === 1);
    expect(refunding).to.deep.include({ status: "pending", refunded_amount: "4", refunds: [walletRefund] });
    await mineBlocks(10);
    await indexed(await headNumber());
    expect((await gw.payment(created.id)).status).to.equal("pending");
    await mineBlocks(1);
    const expired = await gw.paymentWhen(created.id, "expired", (payment) => payment.status === "expired");
    expect(expired).to.include({ previous_status: "pending", sequence: 5, received_usd: "10.00", refunded_amount: "4" });
    expect(historyOf(expired)).to.deep.equal([
      "initiated -> pending (deposit_address_funded)",
      "pending -> pending (deposit)",
      "pending -> pending (deposit)",
      "pending -> pending (deposit_refunded)",
      "pending -> expired (expired_on_chain)",
    ]);
    // The payment whose only attempt reverted received nothing: failed, with the reverted transaction listed.
    const failed = await gw.paymentWhen(attempted.id, "failed", (payment) => payment.status === "failed");
    expect(failed).to.include({ previous_status: "initiated", received_usd: "0.00" });
    expect(failed.transactions).to.deep.equal([reverted.hash]);
    expect(historyOf(failed)).to.deep.equal(["initiated -> failed (transaction_failed)"]);
    expect(typesOf(await gw.eventsWhen(attempted.id, 2))).to.deep.equal(["payment.created", "payment.failed"]);

    // …and keeps what came through the deposit address (it cannot go back there) until the keeper sends it to the
    // transfer's sender, the intent naming no refund address.
    expect(await (await escrow()).depositOf(created.id, tokenAddress("USDT"), created.deposit_address)).to.equal(six);
    const refund = await keeperCall("refundDepositAddress", created.id);
    expect(getAddress(refund.args[1] as Address)).to.equal(getAddress(tokenAddress("USDT")));
    expect(getAddress(refund.args[2] as Address)).to.equal(getAddress(exchange.address));
    expect(refund.args[3]).to.equal(six);
    expect(await balanceOf("USDT", exchange.address)).to.equal(exchangeBefore);
    expect(await (await escrow()).depositOf(created.id, tokenAddress("USDT"), created.deposit_address)).to.equal(0n);
    expect(await (await escrow()).depositOf(created.id, tokenAddress("USDT"), wallet.address)).to.equal(0n);
    expect(await merchantBalance("USDT")).to.equal(merchantBefore);

    // Every refund is announced, the deposit address's sender's too: refunds lists both, refunded_amount adds them.
    const events = await gw.eventsWhen(created.id, 7);
    expect(typesOf(events)).to.deep.equal([
      "payment.created",
      "payment.pending",
      "payment.underpaid",
      "payment.underpaid",
      "payment.refunded",
      "payment.expired",
      "payment.refunded",
    ]);
    expect(events[4].data).to.deep.include({ status: "pending", sequence: 4, refunded_amount: "4", refunds: [walletRefund] });
    expect(events[5].data).to.include({ status: "expired", previous_status: "pending", sequence: 5, received_usd: "10.00" });
    const exchangeRefund = { ...walletRefund, amount: "6", amount_units: six.toString(), to: exchange.address, transaction_hash: refund.hash };
    expect(events[6].data).to.deep.include({ status: "expired", sequence: 6, refunded_amount: "10", refunds: [walletRefund, exchangeRefund] });
    // Nothing else is due: the payment stays expired.
    await mineBlocks(2);
    const settled = await gw.payment(created.id);
    expect(settled).to.deep.include({ status: "expired", refunded_amount: "10", refunds: [walletRefund, exchangeRefund], returned_transfers: [] });
    expect(typesOf(gw.events(created.id))).to.deep.equal(typesOf(events));
  });

  it("an overpaid payment is paid, the excess credited and shown; a second payment is returned (payment.transfer_returned), a token the escrow does not take waits for the operator (payment.transfer_unaccepted, /metrics); the merchant refunds and withdraws with its own key, GET /v1/balances following balanceOf and balance.withdrawn signed", async function () {
    const gw = g();
    const created = await gw.createPayment({ amount_usd: "10.00", tokens: ["USDC"] });
    // $10 at $0.9998 a USDC, rounded up to 6 decimals.
    expect(created.payment_options[0]).to.include({ token: "USDC", amount: "10.002001", amount_units: "10002001000000000000" });
    const buyer = await customer(4);
    const fifteen = parseUnits("15", 18);
    await fund("USDC", buyer, fifteen);
    const merchantBefore = await merchantBalance("USDC");

    await transfer("USDC", buyer, created.deposit_address, fifteen);
    await keeperCall("collect", created.id);
    // 15 USDC at $0.9998 is $14.997: $4.997 more than the price.
    const confirming = await gw.paymentWhen(created.id, "confirming", (payment) => payment.status === "confirming");
    expect(confirming).to.include({ received_usd: "14.997", remaining_usd: "0.00", excess_usd: "4.997", paid_amount: "15", fee: "0" });
    const credited = (await merchantBalance("USDC")) - merchantBefore;
    expect(credited).to.equal(fifteen);
    // What the escrow credited beyond the quote is worth exactly the excess the API shows.
    expect((await (await escrow()).quoteUsd(tokenAddress("USDC"), credited)) - usd("10")).to.equal(usd("4.997"));

    await mineBlocks(11);
    const paid = await gw.paymentWhen(created.id, "paid", (payment) => payment.status === "paid");
    expect(paid).to.include({ received_usd: "14.997", remaining_usd: "0.00", excess_usd: "4.997", paid_amount: "15" });
    const events = await gw.eventsWhen(created.id, 4);
    expect(typesOf(events)).to.deep.equal(["payment.created", "payment.pending", "payment.confirming", "payment.completed"]);
    expect(events.map((event) => event.data.excess_usd)).to.deep.equal(["0.00", "0.00", "4.997", "4.997"]);
    expect(events[3].data).to.include({ status: "paid", received_usd: "14.997", paid_amount: "15" });
    expect(await balanceOf("USDC", created.deposit_address)).to.equal(0n);

    // A second payment to the paid payment's deposit address: the keeper returns it to its sender, and the merchant
    // sees it on the payment and in payment.transfer_returned.
    const again = parseUnits("2", 18);
    await fund("USDC", buyer, again);
    await transfer("USDC", buyer, created.deposit_address, again);
    const returnStray = await keeperCall("returnStray", created.id);
    expect(getAddress(returnStray.args[2] as Address)).to.equal(getAddress(buyer.address));
    const returned = {
      reason: "already_paid",
      amount: "2",
      amount_units: again.toString(),
      token: { symbol: "USDC", address: tokenAddress("USDC") },
      from: created.deposit_address,
      to: buyer.address,
      transaction_hash: returnStray.hash,
      status: "sent",
    };
    const bounced = await gw.eventsWhen(created.id, 5);
    expect(bounced[4]).to.deep.include({ type: "payment.transfer_returned" });
    expect(bounced[4].data).to.deep.include({ status: "paid", sequence: 4, returned_transfers: [returned] });

    // A token the escrow does not take: nothing collects it and the keeper does not return it, so the payment lists
    // it as needing the operator, a webhook says so, and /metrics counts it.
    const junk = await hre.ethers.deployContract("TestToken", ["Junk", "JUNK", 18]);
    await mineBlocks(1);
    await mined(junk.mint(buyer.address, 7n));
    const sent = await mined((junk.connect(buyer) as typeof junk).transfer(created.deposit_address, 7n));
    const unaccepted = await gw.eventsWhen(created.id, 6);
    expect(unaccepted[5]).to.deep.include({ type: "payment.transfer_unaccepted" });
    expect(unaccepted[5].data).to.deep.include({
      status: "paid",
      sequence: 5,
      unaccepted_transfers: [
        {
          amount: null,
          amount_units: "7",
          token: { symbol: null, address: getAddress(await junk.getAddress()) },
          sender: buyer.address,
          transaction_hash: sent.hash,
          status: "needs_operator",
          returned_transaction_hash: null,
        },
      ],
    });
    const openPay = gw.process;
    await openPay.until(
      "the operator told of the unaccepted token",
      async () => (/openpay_keeper_left_to_operator\{[^}]*reason="unaccepted_token"[^}]*\} 1\b/.test(await openPay.metrics()) ? true : undefined),
      {
        timeoutMs: 30_000,
        pollMs: 100,
      },
    );
    expect(await junk.balanceOf(created.deposit_address)).to.equal(7n);
    expect((await gw.payment(created.id)).received_usd).to.equal("14.997");

    // Issue 15: the balance the API shows is read from the indexed state, as of the block it names, and is what the
    // escrow's balanceOf answers at that block: after the overpayment, a refund and a withdrawal.
    expect(merchantBefore).to.equal(0n);
    const usdcBalance = async (atLeast: number) => {
      await indexed(atLeast);
      const response = await gw.request("GET", "/v1/balances");
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      const { as_of: asOf, data } = response.body;
      expect(asOf.block_number).to.be.at.least(atLeast);
      expect(asOf.confirmed_block_number).to.equal(asOf.block_number - 11);
      expect(data.map((entry: any) => entry.token.symbol)).to.deep.equal(["USDT", "USDC", "BNB"]);
      const usdc = data[1];
      const onChain: bigint = await (await escrow()).balanceOf(merchant(), tokenAddress("USDC"), { blockTag: asOf.block_number });
      expect(BigInt(usdc.balance_units), "indexed balance = balanceOf at as_of").to.equal(onChain);
      return usdc;
    };
    const paidBalance = await usdcBalance(await headNumber());
    expect(paidBalance).to.deep.include({ balance: "15", balance_units: fifteen.toString(), confirmed: "15", withdrawable: "15", fees: "0" });
    expect(paidBalance.pending).to.deep.equal({ confirming_payments: "0", unconfirmed_debits: "0", refunds_requested: "0" });

    // Issue 16: a refund and a withdrawal, each prepared by the API and sent from the merchant's own account through the
    // SDK's EIP-1193 helper (Hardhat's provider holds account 3 unlocked, as a wallet would).
    const refund = await gw.request("POST", `/v1/payments/${created.id}/refunds`, { amount: "5", to: buyer.address });
    expect(refund.status, JSON.stringify(refund.body)).to.equal(201);
    const reserved = await usdcBalance(await headNumber());
    expect(reserved).to.deep.include({ balance: "15", withdrawable: "10" });
    expect(reserved.pending.refunds_requested).to.equal("5");
    const refunded = await mined(sendMerchantTransaction(hre.network.provider, refund.body.transaction).then((hash) => ({ hash })));
    const afterRefund = await usdcBalance(refunded.blockNumber);
    expect(afterRefund).to.deep.include({ balance: "10", confirmed: "15", withdrawable: "10" });
    expect(afterRefund.pending).to.deep.equal({ confirming_payments: "0", unconfirmed_debits: "5", refunds_requested: "0" });

    const tooMuch = await gw.request("POST", "/v1/withdrawals", { token: "USDC", amount: "10.5" });
    expect(tooMuch.status).to.equal(400);
    expect(tooMuch.body.error).to.include({ type: "invalid_request_error", field: "amount", message: "amount: 10.5 USDC exceeds the 10 USDC withdrawable" });
    const unknown = await gw.request("POST", "/v1/withdrawals", { token: "DOGE", amount: "1" });
    expect(unknown.status).to.equal(400);
    expect(unknown.body.error).to.include({ field: "token" });

    const withdrawal = await gw.request("POST", "/v1/withdrawals", { token: "USDC", amount: "all" });
    expect(withdrawal.status, JSON.stringify(withdrawal.body)).to.equal(201);
    const escrowAddress = getAddress(chain().record.escrow);
    expect(withdrawal.body).to.deep.include({ object: "withdrawal_request", amount: "10", amount_units: parseUnits("10", 18).toString() });
    expect(withdrawal.body.transaction).to.include({ chain_id: 31337, from: merchant(), to: escrowAddress, value: "0" });
    expect(withdrawal.body.safe_transaction_batch).to.deep.include({
      version: "1.0",
      chainId: "31337",
      transactions: [{ to: escrowAddress, value: "0", data: withdrawal.body.transaction.data }],
    });
    const payout = getAddress(chain().record.demoMerchant!.payout);
    const payoutBefore = await balanceOf("USDC", payout);
    const withdrawn = await mined(sendMerchantTransaction(hre.network.provider, withdrawal.body.transaction).then((hash) => ({ hash })));
    expect((await balanceOf("USDC", payout)) - payoutBefore).to.equal(parseUnits("10", 18));
    const afterWithdrawal = await usdcBalance(withdrawn.blockNumber);
    expect(afterWithdrawal).to.deep.include({ balance: "0", confirmed: "15", withdrawable: "0" });
    expect(afterWithdrawal.pending.unconfirmed_debits).to.equal("15");
    expect(afterWithdrawal.totals).to.deep.equal({ credited: "15", refunded: "5", withdrawn: "10" });

    // balance.withdrawn is told once the withdrawal is confirmed (12 confirmations), signed like every webhook.
    const receipt = (await hre.ethers.provider.getTransactionReceipt(withdrawn.hash))!;
    const withdrawnTopic = (await escrow()).interface.getEvent("Withdrawn")!.topicHash;
    const withdrawnLog = receipt.logs.find((log) => log.address === escrowAddress && log.topics[0] === withdrawnTopic)!;
    const withdrawalId = `wd_${withdrawn.hash.slice(2)}_${withdrawnLog.index}`;
    expect(gw.events(withdrawalId)).to.deep.equal([]);
    await mineBlocks(11);
    const [announced] = await gw.eventsWhen(withdrawalId, 1);
    expect(announced.type).to.equal("balance.withdrawn");
    expect(announced.data).to.deep.equal({
      object: "withdrawal",
      id: withdrawalId,
      merchant: merchant(),
      payout,
      token: { symbol: "USDC", address: tokenAddress("USDC") },
      amount: "10",
      amount_units: parseUnits("10", 18).toString(),
      transaction_hash: withdrawn.hash,
      block_number: withdrawn.blockNumber,
    });
    const settled = await usdcBalance(withdrawn.blockNumber + 11);
    expect(settled).to.deep.include({ balance: "0", confirmed: "0" });
    expect(settled.pending.unconfirmed_debits).to.equal("0");
  });

  it("a reorganisation drops the completing collect while confirming: payment.reverted, then the collect is mined on the new branch and the payment paid", async function () {
    const gw = g();
    const created = await gw.createPayment({ amount_usd: "25.00", tokens: ["USDT"] });
    const units = BigInt(created.payment_options[0].amount_units);
    const buyer = await customer(5);
    await fund("USDT", buyer, units);
    const merchantBefore = await merchantBalance("USDT");

    // The customer's transfer waits in the pool; the fork point is taken before its block (a revert puts it back
    // in the pool, where the new branch picks it up again, as a node does with a dropped block's transactions).
    const sent = await (await token("USDT")).connect(buyer).transfer(created.deposit_address, units);
    const fork = await snapshot();
    const forkHead = await headNumber();
    await mineBlocks(1);
    const transferReceipt = await hre.ethers.provider.getTransactionReceipt(sent.hash);
    expect(transferReceipt?.blockNumber).to.equal(forkHead + 1);
    const collect = await keeperCall("collect", created.id);
    await mineBlocks(3);
    const before = await gw.paymentWhen(created.id, "4 confirmations", (payment) => payment.confirmations.seen === 4);
    expect(before).to.include({ status: "confirming", sequence: 2, received_usd: "25.00" });
    const raw = await rawLegacyTransaction(collect.hash);

    // The chain reorganises from the collect's block: a longer branch without it.
    await reorganise(fork, forkHead);
    expect((await hre.ethers.provider.getTransactionReceipt(sent.hash))?.blockNumber).to.equal(forkHead + 1);
    expect(await hre.ethers.provider.getTransactionReceipt(collect.hash)).to.equal(null);
    expect(await balanceOf("USDT", created.deposit_address)).to.equal(units);

    // The transfer is still there (on the new branch too): back to pending, its funds waiting at the deposit address.
    const reverted = await gw.paymentWhen(created.id, "reverted", (payment) => payment.status !== "confirming");
    expect(reverted).to.include({ status: "pending", previous_status: "confirming", sequence: 3, received_usd: "0.00", remaining_usd: "25.00" });
    expect(reverted.confirmations).to.deep.equal({ seen: 0, required: 12 });
    expect(reverted.transactions).to.deep.equal([sent.hash]);
    const revertedEvents = await gw.eventsWhen(created.id, 4);
    expect(typesOf(revertedEvents)).to.deep.equal(["payment.created", "payment.pending", "payment.confirming", "payment.reverted"]);
    expect(revertedEvents[3].data).to.include({ status: "pending", previous_status: "confirming", sequence: 3, received_usd: "0.00" });

    // The dropped collect comes back (a node returns it to its pool) and is mined on the new branch.
    expect(await sendRawTransaction(raw)).to.equal(collect.hash);
    const collectBlock = await mineBlocks(1);
    const again = await gw.paymentWhen(created.id, "confirming again", (payment) => payment.status === "confirming");
    expect(again).to.include({ previous_status: "pending", sequence: 4, received_usd: "25.00" });
    expect(again.transactions).to.deep.equal([sent.hash, collect.hash]);
    expect(again.confirmations).to.deep.equal({ seen: 1, required: 12 });

    await mineBlocks(10);
    const eleven = await gw.paymentWhen(created.id, "11 confirmations", (payment) => payment.confirmations.seen === 11);
    expect(eleven.status).to.equal("confirming");
    await mineBlocks(1);
    const paid = await gw.paymentWhen(created.id, "paid", (payment) => payment.status === "paid");
    expect(paid).to.include({ previous_status: "confirming", sequence: 5, received_usd: "25.00", paid_amount: "25" });
    expect(historyOf(paid)).to.deep.equal([
      "initiated -> pending (deposit_address_funded)",
      "pending -> confirming (full_value_received)",
      "confirming -> pending (chain_reorganised)",
      "pending -> confirming (full_value_received)",
      "confirming -> paid (confirmed)",
    ]);
    expect(paid.history[3]).to.include({ transaction_hash: collect.hash, block_number: collectBlock });

    const events = await gw.eventsWhen(created.id, 6);
    expect(typesOf(events)).to.deep.equal([
      "payment.created",
      "payment.pending",
      "payment.confirming",
      "payment.reverted",
      "payment.confirming",
      "payment.completed",
    ]);
    expect(events.map((event) => event.data.sequence)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect((await merchantBalance("USDT")) - merchantBefore).to.equal(units);
    expect(await balanceOf("USDT", created.deposit_address)).to.equal(0n);
  });

  it("a reorganisation drops a wallet's completing pay() for good: payment.reverted, then, nothing received, payment.expired at its expiry", async function () {
    const gw = g();
    const created = await gw.createPayment({ amount_usd: "12.50", tokens: ["USDT"], ttl_seconds: 600 });
    const { intent, signature } = signedIntentFromJson(created.intent);
    const units = BigInt(created.payment_options[0].amount_units);
    expect(units).to.equal(usd("12.5"));
    const buyer = await customer(6);
    await fund("USDT", buyer, units);
    await mined((await token("USDT")).connect(buyer).approve(chain().record.escrow, units));

    // The customer's pay() is sent after the fork point: the reorganisation takes it off the chain and out of the pool.
    const fork = await snapshot();
    const forkHead = await headNumber();
    const pay = await mined((await escrow()).connect(buyer).pay(intent, signature, tokenAddress("USDT"), units, zeroAddress));
    const confirming = await gw.paymentWhen(created.id, "confirming", (payment) => payment.status === "confirming");
    expect(confirming).to.include({ sequence: 1, received_usd: "12.50", paid_amount: "12.5" });
    expect(confirming.transactions).to.deep.equal([pay.hash]);
    await mineBlocks(2);
    await gw.paymentWhen(created.id, "3 confirmations", (payment) => payment.confirmations.seen === 3);
    expect(await balanceOf("USDT", buyer.address)).to.equal(0n);

    await reorganise(fork, forkHead);
    expect(await hre.ethers.provider.getTransactionReceipt(pay.hash)).to.equal(null);
    const reverted = await gw.paymentWhen(created.id, "reverted", (payment) => payment.status !== "confirming");
    expect(reverted).to.include({
      status: "initiated",
      previous_status: "confirming",
      sequence: 2,
      received_usd: "0.00",
      remaining_usd: "12.50",
      paid_amount: null,
    });
    expect(reverted.transactions).to.deep.equal([]);
    // On the new branch the customer still has the money.
    expect(await balanceOf("USDT", buyer.address)).to.equal(units);

    // Nothing received and nothing at its deposit address: the payment expires at its expiry, once the first block
    // after it is confirmed (no later block can hold a deposit). At 11 confirmations it is still open…
    await mineAt(intent.expiry + 1n);
    await mineBlocks(10);
    await indexed(await headNumber());
    expect((await gw.payment(created.id)).status).to.equal("initiated");
    // …and the 12th ends it.
    await mineBlocks(1);
    const expired = await gw.paymentWhen(created.id, "expired", (payment) => payment.status === "expired");
    expect(expired).to.include({ previous_status: "initiated", sequence: 3, received_usd: "0.00" });
    expect(historyOf(expired)).to.deep.equal([
      "initiated -> confirming (full_value_received)",
      "confirming -> initiated (chain_reorganised)",
      "initiated -> expired (time_elapsed)",
    ]);
    const events = await gw.eventsWhen(created.id, 4);
    expect(typesOf(events)).to.deep.equal(["payment.created", "payment.confirming", "payment.reverted", "payment.expired"]);
    expect(events.map((event) => event.data.sequence)).to.deep.equal([0, 1, 2, 3]);
    expect(await balanceOf("USDT", buyer.address)).to.equal(units);
  });
});
