import { expect } from "chai";
import { ALLOWED_TRANSITIONS, PAYMENT_STATUSES, type PaymentStatus } from "./statuses";
import type { ChangeReason } from "./statusMachine";
import { eventTypeOf, PAYMENT_EVENT_TYPES, WEBHOOK_EVENT_TYPES, type WebhookEventType } from "./webhookEventTypes";

const REASONS: ChangeReason[] = [
  "checkout_opened",
  "deposit",
  "deposit_address_funded",
  "full_value_received",
  "confirmed",
  "expired_on_chain",
  "time_elapsed",
  "transaction_failed",
  "refund_requested",
  "refunded",
  "refund_abandoned",
  "deposit_refunded",
  "deposit_returned",
  "stray_returned",
  "refund_claimable",
  "return_claimable",
  "unaccepted_transfer",
  "chain_reorganised",
  "late_log",
];

describe("webhook event types", function () {
  it("include every event the issue names", function () {
    for (const type of [
      "payment.created",
      "payment.pending",
      "payment.confirming",
      "payment.completed",
      "payment.failed",
      "payment.expired",
      "payment.underpaid",
      "payment.refunded",
      "payment.reverted",
      "payment.transfer_returned",
      "payment.transfer_unaccepted",
    ]) {
      expect(WEBHOOK_EVENT_TYPES).to.include(type);
    }
    expect(new Set(WEBHOOK_EVENT_TYPES).size).to.equal(WEBHOOK_EVENT_TYPES.length);
  });

  it("name each change the status machine makes as a merchant thinks of it", function () {
    const cases: Array<[PaymentStatus, PaymentStatus, ChangeReason, WebhookEventType]> = [
      ["initiated", "pending", "checkout_opened", "payment.pending"],
      ["initiated", "pending", "deposit_address_funded", "payment.pending"],
      // A first partial deposit: the customer sent too little.
      ["initiated", "pending", "deposit", "payment.underpaid"],
      ["initiated", "confirming", "full_value_received", "payment.confirming"],
      ["pending", "confirming", "full_value_received", "payment.confirming"],
      ["confirming", "paid", "confirmed", "payment.completed"],
      ["initiated", "failed", "transaction_failed", "payment.failed"],
      ["pending", "failed", "transaction_failed", "payment.failed"],
      ["pending", "expired", "expired_on_chain", "payment.expired"],
      ["initiated", "expired", "time_elapsed", "payment.expired"],
      ["paid", "refunding", "refund_requested", "payment.refunding"],
      ["partially_refunded", "refunding", "refund_requested", "payment.refunding"],
      ["refunding", "partially_refunded", "refunded", "payment.refunded"],
      ["refunding", "refunded", "refunded", "payment.refunded"],
      ["paid", "refunded", "refunded", "payment.refunded"],
      ["partially_refunded", "partially_refunded", "refunded", "payment.refunded"],
      ["refunding", "paid", "refund_abandoned", "payment.refund_abandoned"],
      ["refunding", "partially_refunded", "refund_abandoned", "payment.refund_abandoned"],
      // An expired payment's deposit went back (before or after its expiry was confirmed), or a refund became
      // claimable: a refund, the status stays.
      ["pending", "pending", "deposit_refunded", "payment.refunded"],
      ["expired", "expired", "deposit_refunded", "payment.refunded"],
      ["expired", "expired", "refund_claimable", "payment.refunded"],
      ["paid", "paid", "refund_claimable", "payment.refunded"],
      // A transfer that could not pay the payment went back: a deposit in a token that did not pay it, a stray.
      ["paid", "paid", "deposit_returned", "payment.transfer_returned"],
      ["paid", "paid", "stray_returned", "payment.transfer_returned"],
      ["expired", "expired", "stray_returned", "payment.transfer_returned"],
      ["pending", "pending", "stray_returned", "payment.transfer_returned"],
      ["expired", "expired", "return_claimable", "payment.transfer_returned"],
      // A token the escrow does not take reached the deposit address, whatever the status.
      ["initiated", "initiated", "unaccepted_transfer", "payment.transfer_unaccepted"],
      ["paid", "paid", "unaccepted_transfer", "payment.transfer_unaccepted"],
      // A reorganisation took the deposit back, whatever status it leaves.
      ["confirming", "initiated", "chain_reorganised", "payment.reverted"],
      ["confirming", "pending", "chain_reorganised", "payment.reverted"],
      // Money that moved while the status stayed: every such change is announced.
      ["pending", "pending", "deposit", "payment.underpaid"],
      ["confirming", "confirming", "refunded", "payment.refunded"],
      ["refunding", "refunding", "refunded", "payment.refunded"],
      ["pending", "pending", "chain_reorganised", "payment.reverted"],
      ["paid", "paid", "chain_reorganised", "payment.reverted"],
      // A log a provider left out, found late: named by what it changed.
      ["pending", "pending", "late_log", "payment.pending"],
      ["pending", "confirming", "late_log", "payment.confirming"],
    ];
    for (const [from, to, reason, type] of cases) {
      expect(eventTypeOf({ from, to, reason }), `${from} → ${to} (${reason})`).to.equal(type);
    }
    expect(eventTypeOf(null)).to.equal("payment.created");
  });

  it("give every allowed change with any reason a listed type, and every payment event type is reachable", function () {
    const reached = new Set<string>([eventTypeOf(null)]);
    for (const from of PAYMENT_STATUSES) {
      for (const to of ALLOWED_TRANSITIONS[from]) {
        for (const reason of REASONS) {
          const type = eventTypeOf({ from, to, reason });
          expect(WEBHOOK_EVENT_TYPES, `${from} → ${to} (${reason})`).to.include(type);
          reached.add(type);
        }
      }
    }
    expect([...reached].sort()).to.deep.equal([...PAYMENT_EVENT_TYPES].sort());
  });
});
