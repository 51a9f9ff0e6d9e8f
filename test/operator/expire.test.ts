import { readFileSync, writeFileSync } from "node:fs";
import hre from "hardhat";
import { expect } from "chai";
import { parseEther, zeroAddress } from "viem";
import { expire } from "../../scripts/operator/expire";
import { readIntentFile } from "../../scripts/operator/intentFile";
import {
  balanceIn,
  blockNumber,
  captureLog,
  decodeCalldata,
  intentOf,
  operatorError,
  passExpiry,
  signedIntentFile,
  simulateQuietly,
  statusOf,
  useLocalOpenPay,
} from "./support";

describe("operator: expire", function () {
  const world = useLocalOpenPay();

  /** An open USDT payment: the customer paid 40% of $25 through simulate, its intent saved to a file. */
  async function underpaid(name = "underpaid.json") {
    const file = world.file(name);
    const result = await simulateQuietly({ scenario: "partial", token: "USDT", usd: "25", save: file });
    expect(result.status).to.equal("open");
    return { file, intent: intentOf(file), result, deposit: parseEther(result.amount) };
  }

  /** A second payer (account 7) deposits `amount` USDT into the intent saved in `file`. */
  async function secondDeposit(file: string, amount: bigint) {
    const payer = world.signers[7];
    const { intent, signature } = readIntentFile("intent", file);
    await (await world.usdt.mint(payer.address, amount)).wait();
    await (await world.usdt.connect(payer).approve(world.record.escrow, amount)).wait();
    await (await world.escrow.connect(payer).pay(intent, signature, world.record.tokens.USDT.address, amount, zeroAddress)).wait();
    return payer;
  }

  it("expires a payment past its expiry and refunds the deposit it finds in the events", async function () {
    const { file, intent, deposit } = await underpaid();
    expect(deposit).to.equal(parseEther("10"));
    const customerBefore = await balanceIn(world, "USDT", world.customer.address);
    await passExpiry(intent);

    const { lines } = await captureLog(() => expire(hre, { intent: file }));
    expect(lines).to.have.length(2);
    expect(lines[0]).to.equal(`expiring ${intent.paymentId}: refunding 1 depositor(s) in USDT`);
    expect(lines[1]).to.match(/^expire: transaction 0x[0-9a-f]{64} in block \d+$/);
    expect(await statusOf(world.escrow, intent.paymentId)).to.equal("expired");
    expect(await world.escrow.depositOf(intent.paymentId, world.record.tokens.USDT.address, world.customer.address)).to.equal(0n);
    expect(await balanceIn(world, "USDT", world.customer.address)).to.equal(customerBefore + deposit);
    expect((await world.escrow.ledgerOf(world.record.tokens.USDT.address)).owed).to.equal(0n);
  });

  it("finds every depositor of the payment and refunds each", async function () {
    const { file, intent, deposit } = await underpaid();
    const other = await secondDeposit(file, parseEther("3"));
    const otherBefore = await balanceIn(world, "USDT", other.address);
    const customerBefore = await balanceIn(world, "USDT", world.customer.address);
    await passExpiry(intent);

    const { lines } = await captureLog(() => expire(hre, { intent: file }));
    expect(lines[0]).to.equal(`expiring ${intent.paymentId}: refunding 2 depositor(s) in USDT`);
    expect(await balanceIn(world, "USDT", world.customer.address)).to.equal(customerBefore + deposit);
    expect(await balanceIn(world, "USDT", other.address)).to.equal(otherBefore + parseEther("3"));
  });

  it("refunds only the depositors given with --payers; a second run finds the rest", async function () {
    const { file, intent, deposit } = await underpaid();
    const other = await secondDeposit(file, parseEther("3"));
    const customerBefore = await balanceIn(world, "USDT", world.customer.address);
    await passExpiry(intent);

    const { lines } = await captureLog(() => expire(hre, { intent: file, payers: world.customer.address.toLowerCase() }));
    expect(lines[0]).to.equal(`expiring ${intent.paymentId}: refunding 1 depositor(s) in USDT`);
    expect(await statusOf(world.escrow, intent.paymentId)).to.equal("expired");
    expect(await balanceIn(world, "USDT", world.customer.address)).to.equal(customerBefore + deposit);
    expect(await world.escrow.depositOf(intent.paymentId, world.record.tokens.USDT.address, other.address)).to.equal(parseEther("3"));

    const again = await captureLog(() => expire(hre, { intent: file }));
    expect(again.lines[0]).to.equal(`expiring ${intent.paymentId}: refunding 1 depositor(s) in USDT`);
    expect(await world.escrow.depositOf(intent.paymentId, world.record.tokens.USDT.address, other.address)).to.equal(0n);
  });

  it("accepts several --payers separated by commas", async function () {
    const { file, intent } = await underpaid();
    const other = await secondDeposit(file, parseEther("1"));
    await passExpiry(intent);
    const { lines } = await captureLog(() => expire(hre, { intent: file, payers: `${world.customer.address},${other.address}` }));
    expect(lines[0]).to.equal(`expiring ${intent.paymentId}: refunding 2 depositor(s) in USDT`);
    expect(await world.escrow.depositOf(intent.paymentId, world.record.tokens.USDT.address, world.customer.address)).to.equal(0n);
    expect(await world.escrow.depositOf(intent.paymentId, world.record.tokens.USDT.address, other.address)).to.equal(0n);
  });

  it("refunds a BNB deposit in BNB", async function () {
    const file = world.file("bnb.json");
    const result = await simulateQuietly({ scenario: "partial", token: "BNB", usd: "60", save: file });
    const intent = intentOf(file);
    const before = await balanceIn(world, "BNB", world.customer.address);
    await passExpiry(intent);
    const { lines } = await captureLog(() => expire(hre, { intent: file }));
    expect(lines[0]).to.equal(`expiring ${intent.paymentId}: refunding 1 depositor(s) in BNB`);
    // The customer does not pay for the expiry (account 0 sends it).
    expect(await balanceIn(world, "BNB", world.customer.address)).to.equal(before + parseEther(result.amount));
    expect(await world.escrow.depositOf(intent.paymentId, zeroAddress, world.customer.address)).to.equal(0n);
    expect((await world.escrow.ledgerOf(zeroAddress)).owed).to.equal(0n);
  });

  it("searches deposits from --from-block: a search that starts after the deposit finds none", async function () {
    const { file, intent } = await underpaid();
    await passExpiry(intent);
    const head = await blockNumber();
    const { lines } = await captureLog(() => expire(hre, { intent: file, fromBlock: String(head) }));
    expect(lines[0]).to.equal(`expiring ${intent.paymentId}: refunding 0 depositor(s) in USDT`);
    expect(await statusOf(world.escrow, intent.paymentId)).to.equal("expired");
    expect(await world.escrow.depositOf(intent.paymentId, world.record.tokens.USDT.address, world.customer.address)).to.equal(parseEther("10"));
    expect(await operatorError(expire(hre, { intent: file, fromBlock: "latest" }))).to.equal('--from-block: "latest" is not a block number');
  });

  it("refuses a payment before its expiry, saying until when it is open", async function () {
    const { file, intent } = await underpaid();
    const before = await blockNumber();
    const message = await operatorError(expire(hre, { intent: file }));
    const until = new Date(Number(intent.expiry) * 1000).toISOString();
    expect(message).to.match(new RegExp(`^--intent: payment ${intent.paymentId} is open until ${until} \\(chain time \\S+Z\\)$`));
    expect(await blockNumber()).to.equal(before);
    expect(await statusOf(world.escrow, intent.paymentId)).to.equal("open");
  });

  it("refuses an intent the escrow has no deposit for", async function () {
    const file = world.file("unpaid.json");
    const intent = await signedIntentFile(world, file);
    expect(await operatorError(expire(hre, { intent: file }))).to.equal(`--intent: unknown payment ${intent.paymentId} (the escrow has no deposit for it)`);
  });

  it("refuses a payment paid in one token, with nothing left to refund", async function () {
    const file = world.file("paid.json");
    const paid = await simulateQuietly({ scenario: "full", token: "USDC", save: file });
    await passExpiry(intentOf(file));
    expect(await operatorError(expire(hre, { intent: file }))).to.equal(
      `--intent: payment ${paid.paymentId} is completed in USDC; no deposit is left to refund`,
    );
    expect(await operatorError(expire(hre, { intent: file, token: "USDC" }))).to.equal(
      `--token: payment ${paid.paymentId} was paid in USDC, which is the merchant's`,
    );
    expect(await operatorError(expire(hre, { intent: file, payers: world.customer.address }))).to.equal(
      `--token is required with --payers: payment ${paid.paymentId} was paid in USDC`,
    );
  });

  it("refunds every token an expired payment's depositors hold, one call per token", async function () {
    const { file, intent, deposit } = await underpaid();
    const bnb = await simulateQuietly({ scenario: "partial", token: "BNB", intent: file });
    expect(bnb.status).to.equal("open");
    const usdtBefore = await balanceIn(world, "USDT", world.customer.address);
    const bnbBefore = await balanceIn(world, "BNB", world.customer.address);
    await passExpiry(intent);

    const { lines } = await captureLog(() => expire(hre, { intent: file }));
    expect(lines).to.have.length(4);
    expect(lines[0]).to.equal(`expiring ${intent.paymentId}: refunding 1 depositor(s) in USDT`);
    expect(lines[2]).to.equal(`expiring ${intent.paymentId}: refunding 1 depositor(s) in BNB`);
    expect(await statusOf(world.escrow, intent.paymentId)).to.equal("expired");
    expect(await balanceIn(world, "USDT", world.customer.address)).to.equal(usdtBefore + deposit);
    expect(await balanceIn(world, "BNB", world.customer.address)).to.equal(bnbBefore + parseEther(bnb.amount));
    expect((await world.escrow.ledgerOf(zeroAddress)).owed).to.equal(0n);
  });

  it("refunds the deposits in the tokens that did not pay a paid payment, and only those (--token narrows)", async function () {
    const { file, intent, deposit } = await underpaid();
    const paid = await simulateQuietly({ scenario: "full", token: "BNB", intent: file });
    expect(paid.status).to.equal("completed");
    const customerBefore = await balanceIn(world, "USDT", world.customer.address);

    const { lines } = await captureLog(() => expire(hre, { intent: file, token: "USDT" }));
    expect(lines[0]).to.equal(`${intent.paymentId} was paid in BNB: refunding 1 depositor(s) in USDT`);
    expect(await balanceIn(world, "USDT", world.customer.address)).to.equal(customerBefore + deposit);
    expect(await statusOf(world.escrow, intent.paymentId)).to.equal("completed");
    expect(await world.escrow.balanceOf(world.merchant.address, zeroAddress)).to.equal(parseEther(paid.amount));
    expect(await operatorError(expire(hre, { intent: file }))).to.equal(
      `--intent: payment ${intent.paymentId} is completed in BNB; no deposit is left to refund`,
    );
  });

  it("refuses a missing, unreadable or malformed intent file and a malformed payer, naming the option", async function () {
    const { file } = await underpaid();
    expect(await operatorError(expire(hre, {}))).to.equal("--intent is required");
    const missing = world.file("missing.json");
    expect(await operatorError(expire(hre, { intent: missing }))).to.match(new RegExp(`^--intent: cannot read ${missing}: ENOENT`));

    const malformed = world.file("malformed.json");
    const json = JSON.parse(readFileSync(file, "utf8"));
    json.intent.amountUsd = "twenty";
    writeFileSync(malformed, JSON.stringify(json));
    expect(await operatorError(expire(hre, { intent: malformed }))).to.equal(
      `--intent: ${malformed}: intent.amountUsd: must be a non-negative integer as a decimal string`,
    );

    expect(await operatorError(expire(hre, { intent: file, payers: `${world.customer.address},0x12` }))).to.equal(
      '--payers: "0x12" is not an address (0x and 40 hex digits)',
    );
  });

  it("--calldata prints expire(intent, token, payers) with the depositors found, and sends nothing", async function () {
    const { file, intent } = await underpaid();
    await passExpiry(intent);
    const before = await blockNumber();
    const { lines } = await captureLog(() => expire(hre, { intent: file, calldata: true }));
    expect(lines[0]).to.equal(`expiring ${intent.paymentId}: refunding 1 depositor(s) in USDT`);
    const { printed, call } = decodeCalldata(world.escrow, lines.slice(1));
    expect(printed).to.include({ to: world.record.escrow, method: "expire" });
    expect(call.name).to.equal("expire");
    expect(call.args[0].paymentId).to.equal(intent.paymentId);
    expect(call.args[0].expiry).to.equal(intent.expiry);
    expect(call.args[1]).to.equal(world.record.tokens.USDT.address);
    expect([...call.args[2]]).to.deep.equal([world.customer.address]);
    expect(await blockNumber()).to.equal(before);
    expect(await statusOf(world.escrow, intent.paymentId)).to.equal("open");
  });
});
