import { expect } from "chai";
import type { Address, Hex } from "viem";
import { newPayment, type Payment } from "../payments/payment";
import { shownStatus } from "./shownStatus";

const EXPIRY = 1_000n;
const payment = (changes: Partial<Payment> = {}): Payment => ({
  ...newPayment({ id: `0x${"11".repeat(32)}` as Hex, amountUsd: 10n, expiry: EXPIRY, depositAddress: `0x${"22".repeat(20)}` as Address, acceptedTokens: [] }),
  ...changes,
});

describe("the status the checkout shows", function () {
  it("shows expired as soon as the chain's time passes the expiry of a payment that received nothing", function () {
    expect(shownStatus(payment(), EXPIRY)).to.equal("initiated");
    expect(shownStatus(payment(), EXPIRY + 1n)).to.equal("expired");
    expect(shownStatus(payment({ status: "pending" }), EXPIRY + 1n)).to.equal("expired");
    expect(shownStatus(payment(), undefined)).to.equal("initiated");
  });

  it("keeps the payment's own status when money was received or reached the deposit address in time", function () {
    expect(shownStatus(payment({ status: "pending", receivedUsd: 5n }), EXPIRY + 1n)).to.equal("pending");
    expect(shownStatus(payment({ status: "pending", fundedByExpiry: true }), EXPIRY + 1n)).to.equal("pending");
    expect(shownStatus(payment({ status: "confirming", receivedUsd: 10n }), EXPIRY + 99n)).to.equal("confirming");
    expect(shownStatus(payment({ status: "paid", receivedUsd: 10n }), EXPIRY + 99n)).to.equal("paid");
  });
});
