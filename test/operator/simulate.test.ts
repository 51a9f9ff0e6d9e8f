import { readFileSync } from "node:fs";
import hre from "hardhat";
import { expect } from "chai";
import { parseEther, verifyTypedData, zeroAddress, type Address, type Hex } from "viem";
import { PAYMENT_INTENT_TYPES, paymentIntentDomain } from "../../indexer/src/payments/paymentIntent";
import { expire } from "../../scripts/operator/expire";
import { readIntentFile } from "../../scripts/operator/intentFile";
import { simulate, type SimulationResult } from "../../scripts/operator/simulate";
import { balanceIn, blockNumber, captureLog, operatorError, passExpiry, simulateQuietly, statusOf, useLocalOpenPay } from "./support";

const SYMBOLS = ["USDT", "USDC", "BNB"] as const;
type TokenSymbol = (typeof SYMBOLS)[number];
const PRICE = "40";
const price = parseEther(PRICE);

describe("operator: simulate", function () {
  const world = useLocalOpenPay();

  /** simulate with the one line it prints checked: the result as JSON. */
  async function simulatePrinting(args: Parameters<typeof simulate>[1]): Promise<SimulationResult> {
    const lines: string[] = [];
    const result = await simulate(hre, args, (line) => lines.push(line));
    expect(lines).to.have.length(1);
    expect(JSON.parse(lines[0])).to.deep.equal(JSON.parse(JSON.stringify(result)));
    return result;
  }

  /** What the chain says about a simulated payment, next to what simulate reported. */
  async function onChain(result: SimulationResult) {
    const payment = await world.escrow.paymentOf(result.paymentId);
    expect(result.receivedUsd).to.equal(hre.ethers.formatUnits(payment.receivedUsd, 18).replace(/\.0$/, ""));
    return { status: await statusOf(world.escrow, result.paymentId), received: payment.receivedUsd, amount: payment.amount };
  }

  const tokenAddress = (symbol: TokenSymbol): Address => world.record.tokens[symbol].address;

  for (const symbol of SYMBOLS) {
    describe(`in ${symbol}`, function () {
      for (const via of ["direct", "deposit-address"] as const) {
        const collect = via === "deposit-address";
        const how = collect ? "to the deposit address, collected (--collect)" : "directly";

        it(`full, ${how}: the payment completes and the merchant is credited`, async function () {
          const merchantBefore = await world.escrow.balanceOf(world.merchant.address, tokenAddress(symbol));
          const result = await simulatePrinting({ scenario: "full", token: symbol, usd: PRICE, via, collect });
          expect(result).to.include({ scenario: "full", via, token: symbol, status: "completed", remainingUsd: "0" });
          expect(result.transaction).to.match(/^0x[0-9a-f]{64}$/);
          const chain = await onChain(result);
          expect(chain.status).to.equal("completed");
          expect(chain.received >= price).to.equal(true);
          expect(chain.amount).to.equal(parseEther(result.amount));
          expect(await world.escrow.balanceOf(world.merchant.address, tokenAddress(symbol))).to.equal(merchantBefore + parseEther(result.amount));
        });

        it(`partial, ${how}: the payment stays open with something still due`, async function () {
          const result = await simulatePrinting({ scenario: "partial", token: symbol, usd: PRICE, via, collect });
          expect(result.status).to.equal("open");
          const chain = await onChain(result);
          expect(chain.status).to.equal("open");
          const intentRemaining = parseEther(result.remainingUsd);
          expect(intentRemaining > 0n).to.equal(true);
          expect(intentRemaining).to.equal(price - chain.received);
          expect(chain.received >= (price * 40n) / 100n && chain.received < price).to.equal(true);
          const payer = collect ? result.depositAddress : world.customer.address;
          expect(await world.escrow.depositOf(result.paymentId, tokenAddress(symbol), payer)).to.equal(parseEther(result.amount));
          expect(await world.escrow.balanceOf(world.merchant.address, tokenAddress(symbol))).to.equal(0n);
        });

        it(`over, ${how}: the payment completes with more received than the price`, async function () {
          const result = await simulatePrinting({ scenario: "over", token: symbol, usd: PRICE, via, collect });
          expect(result).to.include({ status: "completed", remainingUsd: "0" });
          const chain = await onChain(result);
          expect(chain.status).to.equal("completed");
          expect(chain.received > price).to.equal(true);
          expect(chain.received >= (price * 150n) / 100n).to.equal(true);
          // The excess is the merchant's too.
          expect(await world.escrow.balanceOf(world.merchant.address, tokenAddress(symbol))).to.equal(parseEther(result.amount));
        });
      }

      it("late, directly: the escrow refuses with DepositAfterExpiry and takes nothing", async function () {
        const escrowBefore = await balanceIn(world, symbol, world.record.escrow);
        const result = await simulatePrinting({ scenario: "late", token: symbol, usd: PRICE });
        expect(result.refused).to.match(new RegExp(`^the escrow refused: DepositAfterExpiry\\(paymentId=${result.paymentId}, expiry=\\d+, timestamp=\\d+\\)$`));
        expect(result.transaction).to.equal(undefined);
        expect(result).to.include({ status: "none", receivedUsd: "0", remainingUsd: "0" });
        expect(await statusOf(world.escrow, result.paymentId)).to.equal("none");
        expect(await balanceIn(world, symbol, world.record.escrow)).to.equal(escrowBefore);
        expect(await world.escrow.depositOf(result.paymentId, tokenAddress(symbol), world.customer.address)).to.equal(0n);
        if (symbol !== "BNB") expect(await balanceIn(world, symbol, world.customer.address)).to.equal(parseEther(result.amount));
      });

      it("late, to the deposit address: the transfer lands there and is not collected, even with --collect", async function () {
        const result = await simulatePrinting({ scenario: "late", token: symbol, usd: PRICE, via: "deposit-address", collect: true });
        expect(result.refused).to.equal(undefined);
        expect(result.status).to.equal("none");
        expect(await balanceIn(world, symbol, result.depositAddress)).to.equal(parseEther(result.amount));
        expect(await statusOf(world.escrow, result.paymentId)).to.equal("none");
      });

      it("to the deposit address without --collect: the deposit address holds the funds and the payment is untouched", async function () {
        const escrowBefore = await balanceIn(world, symbol, world.record.escrow);
        const result = await simulatePrinting({ scenario: "full", token: symbol, usd: PRICE, via: "deposit-address" });
        expect(result).to.include({ status: "none", receivedUsd: "0", remainingUsd: PRICE });
        expect(result.depositAddress).to.not.equal(zeroAddress);
        expect(await balanceIn(world, symbol, result.depositAddress)).to.equal(parseEther(result.amount));
        expect(await balanceIn(world, symbol, world.record.escrow)).to.equal(escrowBefore);
        expect(await statusOf(world.escrow, result.paymentId)).to.equal("none");
      });
    });
  }

  it("pays a new $25 USDT payment in full directly by default", async function () {
    const result = await simulatePrinting({});
    expect(result).to.include({ scenario: "full", via: "direct", token: "USDT", amount: "25", status: "completed", receivedUsd: "25" });
    expect(await world.escrow.balanceOf(world.merchant.address, tokenAddress("USDT"))).to.equal(parseEther("25"));
  });

  it("--save writes the intent signed by the merchant's signer, which expire --intent accepts", async function () {
    const file = world.file("saved.json");
    const result = await simulateQuietly({ scenario: "partial", token: "USDC", usd: "50", save: file });
    const { intent, signature } = readIntentFile("intent", file);
    expect(intent.paymentId).to.equal(result.paymentId);
    expect(intent.merchant).to.equal(world.merchant.address);
    expect(intent.amountUsd).to.equal(parseEther("50"));
    expect(intent.refundTo).to.equal(zeroAddress);
    expect(JSON.parse(readFileSync(file, "utf8")).intent.amountUsd).to.equal(parseEther("50").toString());
    const signed = await verifyTypedData({
      address: world.intentSigner.address as Address,
      domain: paymentIntentDomain({ chainId: world.record.chainId, escrow: world.record.escrow }),
      types: PAYMENT_INTENT_TYPES,
      primaryType: "PaymentIntent",
      message: intent,
      signature: signature as Hex,
    });
    expect(signed).to.equal(true);
    expect(await world.escrow.depositAddressOf(intent)).to.equal(result.depositAddress);

    const customerBefore = await balanceIn(world, "USDC", world.customer.address);
    await passExpiry(intent);
    await captureLog(() => expire(hre, { intent: file }));
    expect(await statusOf(world.escrow, result.paymentId)).to.equal("expired");
    expect(await balanceIn(world, "USDC", world.customer.address)).to.equal(customerBefore + parseEther(result.amount));
  });

  it("--intent pays an existing intent: partial deposits add up and a full one completes it", async function () {
    const file = world.file("existing.json");
    const first = await simulateQuietly({ scenario: "partial", token: "USDT", usd: "50", save: file });
    const second = await simulatePrinting({ scenario: "partial", token: "USDT", intent: file });
    expect(second.paymentId).to.equal(first.paymentId);
    expect(second.status).to.equal("open");
    expect(parseEther(second.receivedUsd)).to.equal(parseEther(first.receivedUsd) + parseEther(second.amount));
    expect(parseEther(second.remainingUsd)).to.equal(parseEther("50") - parseEther(second.receivedUsd));
    expect(await world.escrow.depositOf(first.paymentId, tokenAddress("USDT"), world.customer.address)).to.equal(
      parseEther(first.amount) + parseEther(second.amount),
    );

    const last = await simulatePrinting({ scenario: "full", token: "USDT", intent: file });
    expect(last).to.include({ paymentId: first.paymentId, status: "completed", remainingUsd: "0", receivedUsd: "50" });
    expect(await statusOf(world.escrow, first.paymentId)).to.equal("completed");

    // Nothing is left to pay now.
    expect(await operatorError(simulateQuietly({ scenario: "full", token: "USDT", intent: file }))).to.equal(
      `payment ${first.paymentId} has nothing left to pay`,
    );
  });

  it("makes intents accepting every token of the deployment; --accept restricts a new one, which refuses the others", async function () {
    const file = world.file("usdt-only.json");
    const all = world.file("all.json");
    await simulateQuietly({ scenario: "partial", token: "USDT", save: all });
    const indexes = await Promise.all(SYMBOLS.map(async (symbol) => (await world.escrow.tokenConfigOf(tokenAddress(symbol))).index));
    expect(readIntentFile("intent", all).intent.acceptedTokens).to.equal(indexes.reduce((mask, index) => mask | (1n << index), 0n));

    const refused = await simulatePrinting({ scenario: "full", token: "BNB", accept: "USDT", save: file });
    const { intent } = readIntentFile("intent", file);
    expect(intent.acceptedTokens).to.equal(1n << indexes[0]);
    expect(refused.refused).to.equal(
      `the escrow refused: TokenNotAccepted(paymentId=${refused.paymentId}, token=${zeroAddress}, acceptedTokens=${intent.acceptedTokens})`,
    );
    expect((await simulatePrinting({ scenario: "full", token: "USDT", intent: file })).status).to.equal("completed");
    expect(await operatorError(simulateQuietly({ accept: "USDT,DAI" }))).to.equal('--accept: "DAI" is not an address (0x and 40 hex digits)');
    expect(await operatorError(simulateQuietly({ accept: "USDT", intent: file }))).to.equal("--accept: only for a new intent, not with --intent");
  });

  it("--intent pays an open payment in a second token apart from the first: a full BNB payment completes it in BNB", async function () {
    const file = world.file("two-tokens.json");
    const first = await simulateQuietly({ scenario: "partial", token: "USDT", usd: "50", save: file });
    const bnb = await simulatePrinting({ scenario: "partial", token: "BNB", intent: file });
    // 40% of the whole price in BNB: BNB adds up apart from the USDT.
    expect(bnb.status).to.equal("open");
    expect(bnb.receivedUsd).to.equal(first.receivedUsd);
    const rest = await simulatePrinting({ scenario: "full", token: "BNB", intent: file });
    expect(rest.status).to.equal("completed");
    const payment = await world.escrow.paymentOf(first.paymentId);
    expect(payment.tokenIndex).to.equal((await world.escrow.tokenConfigOf(zeroAddress)).index);
    expect(payment.amount).to.equal(parseEther(bnb.amount) + parseEther(rest.amount));
    expect(await world.escrow.depositOf(first.paymentId, tokenAddress("USDT"), world.customer.address)).to.equal(parseEther(first.amount));
  });

  it("refuses an unknown scenario, route, token or price, naming the option, before touching the chain", async function () {
    const before = await blockNumber();
    expect(await operatorError(simulateQuietly({ scenario: "half" }))).to.equal('--scenario: "half" is not one of full, partial, over, late');
    expect(await operatorError(simulateQuietly({ via: "wire" }))).to.equal('--via: "wire" is not one of direct, deposit-address');
    expect(await operatorError(simulateQuietly({ usd: "0" }))).to.equal("--usd: must be more than zero");
    expect(await operatorError(simulateQuietly({ usd: "$5" }))).to.equal('--usd: "$5" is not a decimal amount (digits, optionally a point and more digits)');
    expect(await operatorError(simulateQuietly({ token: "DAI" }))).to.equal('--token: "DAI" is not an address (0x and 40 hex digits)');
    const missing = world.file("nowhere.json");
    expect(await operatorError(simulateQuietly({ intent: missing }))).to.match(new RegExp(`^--intent: cannot read ${missing}: ENOENT`));
    expect(await blockNumber()).to.equal(before);
  });
});
