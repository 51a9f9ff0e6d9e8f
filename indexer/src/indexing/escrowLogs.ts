import { parseEventLogs, type Hex, type Log } from "viem";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import type { ChainPaymentEvent } from "../payments/paymentEvents";

/** One payment event from the escrow's logs, with the payment it belongs to and the block it came in. */
export interface PaymentLog {
  paymentId: Hex;
  event: ChainPaymentEvent;
  blockHash: Hex;
}

/** The escrow's events that concern a payment (its id is their first indexed topic). */
const PAYMENT_EVENTS = [
  "PaymentDeposited",
  "PaymentCompleted",
  "PaymentExpired",
  "DepositRefunded",
  "PaymentRefunded",
  "StrayReturned",
  "RefundClaimable",
] as const;

/**
 * Decodes raw escrow logs into the status machine's events, in chain order. Logs of other events (withdrawals,
 * configuration) and removed logs are left out.
 */
export function paymentLogs(logs: readonly Log[]): PaymentLog[] {
  const decoded = parseEventLogs({ abi: openPayEscrowAbi, logs: logs as Log[], eventName: [...PAYMENT_EVENTS], strict: true });
  const result: PaymentLog[] = [];
  for (const log of decoded) {
    if (log.removed || log.blockNumber === null || log.logIndex === null || log.blockHash === null || log.transactionHash === null) continue;
    const position = { blockNumber: Number(log.blockNumber), logIndex: log.logIndex };
    const source = { position, transactionHash: log.transactionHash };
    let event: ChainPaymentEvent;
    switch (log.eventName) {
      case "PaymentDeposited":
        event = { kind: "deposited", ...source, payer: log.args.payer, token: log.args.token, amount: log.args.amount, valueUsd: log.args.valueUsd, receivedUsd: log.args.receivedUsd, remainingUsd: log.args.remainingUsd };
        break;
      case "PaymentCompleted":
        event = { kind: "completed", ...source, payer: log.args.payer, token: log.args.token, amount: log.args.amount, valueUsd: log.args.valueUsd, receivedUsd: log.args.receivedUsd, excessUsd: log.args.excessUsd, fee: log.args.fee };
        break;
      case "PaymentExpired":
        event = { kind: "expired", ...source, token: log.args.token, amount: log.args.amount, receivedUsd: log.args.receivedUsd };
        break;
      case "DepositRefunded":
        event = { kind: "deposit_refunded", ...source, payer: log.args.payer, to: log.args.to, token: log.args.token, amount: log.args.amount };
        break;
      case "PaymentRefunded":
        event = { kind: "refunded", ...source, to: log.args.to, token: log.args.token, amount: log.args.amount, refundedTotal: log.args.refundedTotal };
        break;
      case "StrayReturned":
        event = { kind: "stray_returned", ...source, to: log.args.to, token: log.args.token, amount: log.args.amount };
        break;
      case "RefundClaimable":
        event = { kind: "refund_claimable", ...source, account: log.args.account, token: log.args.token, amount: log.args.amount };
        break;
    }
    result.push({ paymentId: log.args.paymentId, event, blockHash: log.blockHash });
  }
  return result.sort((a, b) => a.event.position.blockNumber - b.event.position.blockNumber || a.event.position.logIndex - b.event.position.logIndex);
}
