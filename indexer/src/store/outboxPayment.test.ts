import { expect } from "chai";
import type { Address, Hex } from "viem";
import { newPayment, type Payment } from "../payments/payment";
import { jsonWithBigints } from "./eventData";
import { outboxPayment } from "./paymentStore";
import { outboxContent } from "./webhookDeliveryStore";

const TOKEN = `0x${"22".repeat(20)}` as Address;
const OTHER = `0x${"33".repeat(20)}` as Address;
const TX = `0x${"55".repeat(32)}` as Hex;
/** Beyond what a JSON number holds: every amount must come back exact. */
const HUGE = 2n ** 70n + 1n;

const registered = newPayment({
  id: `0x${"ab".repeat(32)}`,
  amountUsd: HUGE,
  expiry: 1_800_000_000n,
  acceptedTokens: [TOKEN, OTHER],
  depositAddress: `0x${"12".repeat(20)}`,
});

/** The payment a long way from where it was registered: every field of its state moved. */
const later: Payment = {
  ...registered,
  status: "partially_refunded",
  previousStatus: "paid",
  sequence: 7,
  receivedUsd: HUGE + 1n,
  remainingUsd: 0n,
  excessUsd: HUGE + 2n,
  token: TOKEN,
  paidAmount: HUGE + 3n,
  otherDeposits: [{ token: OTHER, amount: HUGE + 4n }],
  fee: HUGE + 5n,
  refundedAmount: HUGE + 6n,
  refundRequested: HUGE + 7n,
  depositsReturned: HUGE + 8n,
  refunds: [{ kind: "merchant", token: TOKEN, amount: HUGE + 9n, to: OTHER, transactionHash: TX, claimable: false }],
  returnedTransfers: [{ reason: "after_expiry", token: OTHER, amount: HUGE + 10n, from: OTHER, to: OTHER, transactionHash: TX, claimable: true }],
  unacceptedTransfers: [{ token: OTHER, amount: HUGE + 11n, sender: OTHER, transactionHash: TX, returnedBy: null }],
  completedBlock: 41_000_000,
  expiredBlock: null,
  depositAddressFunded: true,
  fundedByExpiry: false,
  nativeWaiting: HUGE + 12n,
  failedTransactions: 2,
  cursor: { blockNumber: 41_000_100, logIndex: 4 },
};

describe("the outbox's payment", () => {
  it("leaves out the registered terms, which never change", () => {
    expect(Object.keys(outboxPayment(later))).to.not.include.members(["id", "amountUsd", "expiry", "depositAddress", "acceptedTokens"]);
  });

  it("gives back, over the payment as registered, the payment exactly as it stood after the change", () => {
    const data = jsonWithBigints({ change: null, payment: outboxPayment(later) });
    const { payment } = outboxContent(JSON.parse(data), later.id);
    expect({ ...newPayment(later), ...payment }).to.deep.equal(later);
  });

  it("carries only what differs from the payment as registered: a first deposit's few fields", () => {
    const deposited: Payment = {
      ...registered,
      status: "pending",
      previousStatus: "initiated",
      sequence: 1,
      receivedUsd: 1n,
      remainingUsd: HUGE - 1n,
      token: TOKEN,
      paidAmount: 1n,
      cursor: { blockNumber: 7, logIndex: 0 },
    };
    const lean = outboxPayment(deposited);
    expect(Object.keys(lean).sort()).to.deep.equal(["cursor", "paidAmount", "previousStatus", "receivedUsd", "remainingUsd", "sequence", "status", "token"]);
    const { payment } = outboxContent(JSON.parse(jsonWithBigints({ change: null, payment: lean })), deposited.id);
    // Over the payment as it stands later (refunded, say), the registered state is the base, not that.
    expect({ ...newPayment(later), ...payment }).to.deep.equal(deposited);
  });
});
