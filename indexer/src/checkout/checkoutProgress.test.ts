import { expect } from "chai";
import { zeroAddress, type Address, type Hex } from "viem";
import { newPayment, type Payment } from "../payments/payment";
import type { PaymentEvent } from "../payments/paymentEvents";
import { checkoutProgress } from "./checkoutProgress";

const USDT = `0x${"55".repeat(20)}` as Address;
const DEPOSIT_ADDRESS = `0x${"22".repeat(20)}` as Address;
const PAYER = `0x${"33".repeat(20)}` as Address;
const REFUND_TO = `0x${"44".repeat(20)}` as Address;
const TOKENS = new Map([[USDT.toLowerCase(), { symbol: "USDT", decimals: 18 }]]);
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const position = (blockNumber: number) => ({ blockNumber, logIndex: 0 });

const payment = (changes: Partial<Payment> = {}): Payment => ({
  ...newPayment({ id: `0x${"11".repeat(32)}` as Hex, amountUsd: 10n * 10n ** 18n, expiry: 1_000n, depositAddress: DEPOSIT_ADDRESS, acceptedTokens: [USDT] }),
  ...changes,
});
const deposited = (payer: Address, amount: bigint, n: number): PaymentEvent => ({
  kind: "deposited",
  position: position(n),
  transactionHash: hash(n),
  payer,
  token: USDT,
  amount,
  valueUsd: amount,
  receivedUsd: amount,
  remainingUsd: 10n * 10n ** 18n - amount,
});

describe("what the checkout shows of the money", function () {
  it("asks for money only while the payment is open, and stops the timer once a transaction is detected", function () {
    expect(checkoutProgress({ payment: payment(), shown: "pending", events: [], tokens: TOKENS, refundTo: zeroAddress })).to.include({
      payable: true,
      timerPaused: false,
      note: null,
    });
    // Funds at the deposit address, not yet collected; BNB that leaves no log; a deposit.
    expect(
      checkoutProgress({ payment: payment({ depositAddressFunded: true }), shown: "pending", events: [], tokens: TOKENS, refundTo: zeroAddress }).timerPaused,
    ).to.equal(true);
    expect(
      checkoutProgress({ payment: payment({ nativeWaiting: 1n }), shown: "initiated", events: [], tokens: TOKENS, refundTo: zeroAddress }).timerPaused,
    ).to.equal(true);
    const partial = checkoutProgress({
      payment: payment({ receivedUsd: 4n }),
      shown: "pending",
      events: [deposited(PAYER, 4n * 10n ** 18n, 7)],
      tokens: TOKENS,
      refundTo: zeroAddress,
    });
    expect(partial).to.deep.include({ payable: true, timerPaused: true, received: [{ transaction_hash: hash(7), amount: "4", token: "USDT" }] });
    for (const shown of ["confirming", "paid", "expired", "failed"] as const) {
      expect(checkoutProgress({ payment: payment(), shown, events: [], tokens: TOKENS, refundTo: zeroAddress }), shown).to.include({
        payable: false,
        timerPaused: false,
      });
    }
  });

  it("says where an expired payment's money goes: the refund address, else each payer, else the wallet that sent it", function () {
    const events = [deposited(PAYER, 4n * 10n ** 18n, 7)];
    const expired = (refundTo: Address, list = events) =>
      checkoutProgress({ payment: payment({ receivedUsd: 4n }), shown: "expired", events: list, tokens: TOKENS, refundTo }).note;
    expect(expired(REFUND_TO)).to.equal(`Everything received is refunded automatically to the payment's refund address ${REFUND_TO}: there is nothing to do.`);
    expect(expired(zeroAddress)).to.equal(`Everything received is refunded automatically to ${PAYER}: there is nothing to do.`);
    // A plain transfer collected from the deposit address names no payer: the keeper returns it to its sender.
    expect(expired(zeroAddress, [deposited(DEPOSIT_ADDRESS, 1n, 8)])).to.equal(
      "Everything received is refunded automatically to the wallet that sent it: there is nothing to do.",
    );
    expect(checkoutProgress({ payment: payment(), shown: "expired", events: [], tokens: TOKENS, refundTo: zeroAddress }).note).to.match(
      /^Nothing was received, so nothing was taken\. .* returned automatically to the wallet that sent it\.$/,
    );
  });

  it("lists the refunds made, with their receiver and transaction", function () {
    const events: PaymentEvent[] = [
      deposited(PAYER, 4n * 10n ** 18n, 7),
      { kind: "deposit_refunded", position: position(9), transactionHash: hash(9), payer: PAYER, to: PAYER, token: USDT, amount: 4n * 10n ** 18n },
    ];
    const shown = checkoutProgress({ payment: payment({ receivedUsd: 4n }), shown: "expired", events, tokens: TOKENS, refundTo: zeroAddress });
    expect(shown.refunded).to.deep.equal([{ transaction_hash: hash(9), amount: "4", token: "USDT", to: PAYER }]);
  });

  it("tells a failed payment's shopper that nothing was taken", function () {
    expect(checkoutProgress({ payment: payment(), shown: "failed", events: [], tokens: TOKENS, refundTo: zeroAddress }).note).to.equal(
      "The transaction reverted: nothing was taken from your wallet.",
    );
  });
});
