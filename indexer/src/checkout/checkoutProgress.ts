import { zeroAddress, type Address, type Hex } from "viem";
import type { Payment } from "../payments/payment";
import type { PaymentEvent } from "../payments/paymentEvents";
import { isOpen, type PaymentStatus } from "../payments/statuses";
import { formatDecimal } from "../prices/decimalAmounts";
import { sameAddress } from "../payments/addresses";

/** A token as the page names it. */
export interface ShownToken {
  symbol: string;
  decimals: number;
}

/** A transfer the page lists: what the shopper sent, or what went back to them. */
export interface ShownTransfer {
  transaction_hash: Hex;
  amount: string;
  token: string;
}

/** What the checkout shows beside the status, once money moved or the payment ended. */
export interface CheckoutProgress {
  /** Whether the page still asks for money (QR codes, amounts, copy buttons, the wallet button). */
  payable: boolean;
  /** A transaction was detected on chain (a deposit, or funds at the deposit address): the countdown stops. */
  timerPaused: boolean;
  /** The shopper's deposits, in chain order. */
  received: ShownTransfer[];
  /** Deposits already sent back (an expired payment), with where they went. */
  refunded: Array<ShownTransfer & { to: Address }>;
  /** What happens to the money, in the shopper's words (expired and failed payments); null otherwise. */
  note: string | null;
}

/**
 * What the page shows of a payment's money, from the payment and its recorded chain events. The escrow's rule
 * (OpenPayEscrow.expire, docs/contracts.md): an expired payment's deposits go back by themselves, to the intent's
 * refund address when it names one, else to each payer; funds collected from the deposit address, whose sender no
 * log names, go back to the wallet that sent them (the keeper reads it from the transfer).
 */
export function checkoutProgress(input: {
  payment: Payment;
  shown: PaymentStatus;
  events: readonly PaymentEvent[];
  tokens: ReadonlyMap<string, ShownToken>;
  refundTo: Address;
}): CheckoutProgress {
  const { payment, shown, events, tokens, refundTo } = input;
  const transfer = (transactionHash: Hex, token: Address, amount: bigint): ShownTransfer => {
    const info = tokens.get(token.toLowerCase());
    return { transaction_hash: transactionHash, amount: info ? formatDecimal(amount, info.decimals) : amount.toString(), token: info?.symbol ?? token };
  };
  const deposits = events.filter((event) => event.kind === "deposited" || event.kind === "completed");
  const received = deposits.map((event) => transfer(event.transactionHash, event.token, event.amount));
  const refunded = events.flatMap((event) =>
    event.kind === "deposit_refunded" ? [{ ...transfer(event.transactionHash, event.token, event.amount), to: event.to }] : [],
  );
  const payable = isOpen(shown);
  const detected = received.length > 0 || payment.depositAddressFunded || payment.nativeWaiting > 0n;

  const hasRefundAddress = !sameAddress(refundTo, zeroAddress);
  const payers = [...new Set(deposits.map((event) => (sameAddress(event.payer, payment.depositAddress) ? "the wallet that sent it" : event.payer)))];
  const receiver = hasRefundAddress ? `the payment's refund address ${refundTo}` : payers.length > 0 ? payers.join(" and ") : "the wallet that sent it";
  let note: string | null = null;
  if (shown === "expired") {
    if (received.length === 0 && !payment.depositAddressFunded && payment.nativeWaiting === 0n) {
      note = `Nothing was received, so nothing was taken. Anything sent to this address from now on is returned automatically to ${hasRefundAddress ? `the payment's refund address ${refundTo}` : "the wallet that sent it"}.`;
    } else {
      // The refunds already made are listed beside this; the rest follow without the shopper doing anything.
      note = `Everything received is refunded automatically to ${receiver}: there is nothing to do.`;
    }
  } else if (shown === "failed") {
    note = "The transaction reverted: nothing was taken from your wallet.";
  }
  return { payable, timerPaused: payable && detected, received, refunded, note };
}
