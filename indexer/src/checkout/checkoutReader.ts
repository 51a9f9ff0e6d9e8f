import type { Address } from "viem";
import { confirmationsOf } from "../payments/confirmations";
import { checkoutProgress, type CheckoutProgress } from "./checkoutProgress";
import { networkName, progressHtml, statusText, type CheckoutView } from "./checkoutPage";
import { qrSvg } from "./qrCodes";
import { shownStatus } from "./shownStatus";
import { amountOf } from "../payments/statusMachine";
import type { PaymentStatus } from "../payments/statuses";
import { formatUsd } from "../prices/decimalAmounts";
import { dueUsd, paymentOptions } from "../prices/paymentOptions";
import { readCheckpoint } from "../store/checkpointStore";
import { merchantCheckoutOf, type CheckoutSettings } from "../store/merchantStore";
import { loadPaymentRecords, type PaymentRecord } from "../store/paymentRequestStore";
import { eventsOf } from "../store/paymentStore";
import type { GatewayContext } from "../ledger/gatewayContext";
import { notFound } from "../ledger/apiErrors";
import type { PaymentOption } from "../payments/paymentResource";
import { sameAddress } from "../payments/addresses";

/** What `/checkout/<id>/status` answers and each server-sent event carries: everything the page shows that moves. */
export interface CheckoutState {
  status: PaymentStatus;
  text: string;
  remaining_usd: string;
  received_usd: string;
  confirmations: { seen: number; required: number };
  expires_at: string;
  /** The expiry in unix seconds, for the feed to tell when the head passes it. */
  expiry: number;
  success_url: string | null;
  cancel_url: string | null;
  /** Where an expired or failed checkout returns the shopper: the payment's cancel_url, else the merchant's site. */
  return_url: string | null;
  failure: { transaction_hash: string; reason: string } | null;
  /** The amount to send now in each token; empty once the page no longer asks for money. */
  amounts: Record<string, string>;
  payable: boolean;
  timer_paused: boolean;
  received: CheckoutProgress["received"];
  refunded: CheckoutProgress["refunded"];
  note: string | null;
  /** The received transactions, the refunds, the note and the way back, as the page shows them. */
  progress_html: string;
}

/** Reads what the checkout shows of a payment: its options at today's prices, its status, its progress. */
export class CheckoutReader {
  constructor(private readonly context: GatewayContext) {}

  async load(id: string): Promise<PaymentRecord> {
    const record = await this.find(id);
    if (!record) throw notFound("payment", id);
    return record;
  }

  private async find(id: string): Promise<PaymentRecord | undefined> {
    return (await loadPaymentRecords(this.context.db, this.context.chainId, [id.toLowerCase()])).get(id.toLowerCase());
  }

  /**
   * USD still due now in `token`: each accepted token adds up apart, and the escrow values what a partly paid
   * payment holds in a token at today's price of that token, so the remainder moves with the price.
   */
  dueNow(payment: PaymentRecord["payment"], token: Address): bigint {
    const inPaymentToken = payment.token !== null && sameAddress(payment.token, token);
    const held = inPaymentToken ? payment.paidAmount : amountOf(payment.otherDeposits, token);
    if (held === 0n) return payment.amountUsd;
    const price = this.context.prices.current().get(token.toLowerCase());
    if (price) return dueUsd(payment.amountUsd, held, price);
    return inPaymentToken ? payment.remainingUsd : payment.amountUsd;
  }

  /**
   * The amounts to send now: what remains, at the current Chainlink price (rounded up like every quote, so that
   * sending it is never short). A BNB amount quoted when the payment was created may be short by now.
   */
  currentOptions(record: PaymentRecord): PaymentOption[] {
    const { payment, registration, request } = record;
    if (payment.remainingUsd === 0n) return request.options;
    // Once part is paid, only the first deposit's token is offered (the escrow's rule), for what remains in it:
    // another would have to pay it all again.
    const offered = this.context.tokens.filter(
      (token) =>
        request.options.some((option) => option.token === token.symbol) &&
        (payment.token === null || payment.paidAmount === 0n || sameAddress(token.address, payment.token)),
    );
    return offered.flatMap((token) =>
      paymentOptions({
        amountUsd: this.dueNow(payment, token.address),
        depositAddress: registration.depositAddress,
        chainId: this.context.chainId,
        tokens: [token],
        prices: this.context.prices.current(),
      }),
    );
  }

  async withQrCodes(options: PaymentOption[]): Promise<Array<PaymentOption & { qrSvg: string }>> {
    return Promise.all(options.map(async (option) => ({ ...option, qrSvg: await qrSvg(option.uri) })));
  }

  /** The state of payment `id` as its page shows it; undefined when it is not the API's. */
  async stateOf(id: string): Promise<CheckoutState | undefined> {
    const record = await this.find(id);
    return record ? this.state(record) : undefined;
  }

  async state(record: PaymentRecord): Promise<CheckoutState> {
    return (await this.read(record)).state;
  }

  /** Everything the server-rendered page needs, and the merchant's settings (its CSP follows them). */
  async view(record: PaymentRecord): Promise<{ view: CheckoutView; settings: CheckoutSettings | undefined }> {
    const { state, merchant, settings } = await this.read(record);
    return {
      settings,
      view: {
        paymentId: record.payment.id,
        merchantName: merchant,
        description: record.request.description,
        amountUsd: formatUsd(record.payment.amountUsd),
        state,
        network: networkName(this.context.chainId),
        depositAddress: record.registration.depositAddress,
        options: state.payable ? await this.withQrCodes(this.currentOptions(record)) : [],
      },
    };
  }

  /** Four queries besides the record: the checkpoint, the payment's events, and its merchant with its settings. */
  private async read(record: PaymentRecord): Promise<{ state: CheckoutState; merchant: string; settings: CheckoutSettings | undefined }> {
    const { db, chainId } = this.context;
    const { payment, request } = record;
    const [checkpoint, events, merchant] = await Promise.all([
      readCheckpoint(db, chainId),
      eventsOf(db, chainId, payment.id),
      merchantCheckoutOf(db, record.merchantId),
    ]);
    const merchantName = merchant?.name ?? "Merchant";
    const status = shownStatus(payment, checkpoint?.timestamp);
    const progress = checkoutProgress({ payment, shown: status, events, tokens: this.context.views.tokens, refundTo: record.registration.refundTo });
    const required = this.context.settings.confirmations.depth;
    const seen = payment.completedBlock !== null && checkpoint ? Math.min(confirmationsOf(payment.completedBlock, checkpoint.blockNumber), required) : 0;
    const failure = events.filter((event) => event.kind === "transaction_failed").at(-1);
    const returnUrl = request.cancelUrl ?? merchant?.settings.siteUrl ?? null;
    const remainingUsd = formatUsd(payment.remainingUsd);
    const state: CheckoutState = {
      status,
      text: statusText(status, remainingUsd) + (status === "confirming" ? ` (${seen} of ${required} confirmations)` : ""),
      remaining_usd: remainingUsd,
      received_usd: formatUsd(payment.receivedUsd),
      confirmations: { seen, required },
      expires_at: new Date(Number(payment.expiry) * 1000).toISOString(),
      expiry: Number(payment.expiry),
      success_url: request.successUrl,
      cancel_url: request.cancelUrl,
      return_url: returnUrl,
      failure: failure ? { transaction_hash: failure.transactionHash, reason: failure.reason } : null,
      // The page swaps its options when these differ from what it shows (a deposit arrived, or the price moved).
      amounts: progress.payable ? Object.fromEntries(this.currentOptions(record).map((option) => [option.token, option.amount])) : {},
      payable: progress.payable,
      timer_paused: progress.timerPaused,
      received: progress.received,
      refunded: progress.refunded,
      note: progress.note,
      progress_html: progressHtml({ status, progress, returnUrl, merchantName }),
    };
    return { state, merchant: merchantName, settings: merchant?.settings };
  }
}
