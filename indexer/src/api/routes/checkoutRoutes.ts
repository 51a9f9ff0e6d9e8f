import type { FastifyInstance, FastifyReply } from "fastify";
import { isAddressEqual, type Address } from "viem";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { PaymentEventRefused, recordOffChainEvent } from "../../indexing/offChainEvents";
import { checkFailedTransaction } from "../../checkout/failedTransactionCheck";
import { checkoutPage, networkName, paymentOptionsHtml, statusText } from "../../checkout/checkoutPage";
import { checkoutScript } from "../../checkout/checkoutScript";
import { shownStatus } from "../../checkout/shownStatus";
import { qrSvg } from "../../checkout/qrCodes";
import { CHECKOUT_CSS } from "../../checkout/checkoutStyle";
import { walletPayment } from "../../checkout/walletPayment";
import { amountOf } from "../../payments/statusMachine";
import { dueUsd, paymentOptions, quoteAmount } from "../../prices/paymentOptions";
import { readCheckpoint } from "../../store/checkpointStore";
import { findMerchant } from "../../store/merchantStore";
import { intentOf } from "../../store/paymentRows";
import { failedTransactionsOf, loadPaymentRecords, type PaymentRecord } from "../../store/paymentRequestStore";
import type { ApiContext } from "../apiContext";
import { ApiError, invalidField, notFound } from "../apiErrors";
import { failedTransactionBody, paymentIdParams, walletQuery } from "../apiSchemas";
import type { PaymentOption } from "../paymentResource";

/** Statuses in which a customer may still pay. */
const PAYABLE = new Set(["initiated", "pending"]);

/** The customer's side: the hosted checkout page at `checkout_url`, its assets and its status feed. No API key. */
export function checkoutRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const asset = (type: string, body: () => string | Promise<string>) => async (_request: unknown, reply: FastifyReply) =>
    reply.header("content-type", type).header("cache-control", "public, max-age=300").send(await body());
  api.get("/checkout/assets/checkout.css", { schema: { hide: true } }, asset("text/css; charset=utf-8", () => CHECKOUT_CSS));
  api.get("/checkout/assets/checkout.js", { schema: { hide: true } }, asset("text/javascript; charset=utf-8", checkoutScript));
  // Built now, so that the first shopper does not wait for it; a failure shows on the first request for it.
  checkoutScript().catch(() => undefined);

  const load = async (id: string) => {
    const record = (await loadPaymentRecords(context.db, context.chainId, [id.toLowerCase()])).get(id.toLowerCase());
    if (!record) throw notFound("payment", id);
    return record;
  };

  /**
   * USD still due now in `token`: each accepted token adds up apart, and the escrow values what a partly paid
   * payment holds in a token at today's price of that token, so the remainder moves with the price.
   */
  const dueNow = (payment: PaymentRecord["payment"], token: Address): bigint => {
    const inPaymentToken = payment.token !== null && isAddressEqual(payment.token, token);
    const held = inPaymentToken ? payment.paidAmount : amountOf(payment.otherDeposits, token);
    if (held === 0n) return payment.amountUsd;
    const price = context.prices.current().get(token.toLowerCase());
    if (price) return dueUsd(payment.amountUsd, held, price);
    return inPaymentToken ? payment.remainingUsd : payment.amountUsd;
  };

  /**
   * The amounts to send now: what remains, at the current Chainlink price (rounded up like every quote, so that
   * sending it is never short). A BNB amount quoted when the payment was created may be short by now.
   */
  const currentOptions = (record: PaymentRecord): PaymentOption[] => {
    const { payment, registration, request } = record;
    if (payment.remainingUsd === 0n) return request.options;
    // Once part is paid, only that token is offered, for what remains: another would have to pay it all again.
    const offered = context.tokens.filter(
      (token) =>
        request.options.some((option) => option.token === token.symbol) &&
        (payment.token === null || payment.paidAmount === 0n || isAddressEqual(token.address, payment.token)),
    );
    return offered.flatMap((token) =>
      paymentOptions({ amountUsd: dueNow(payment, token.address), depositAddress: registration.depositAddress, chainId: context.chainId, tokens: [token], prices: context.prices.current() }),
    );
  };
  const withQrCodes = (options: PaymentOption[]) => Promise.all(options.map(async (option) => ({ ...option, qrSvg: await qrSvg(option.uri) })));

  api.get("/checkout/:id", { schema: { hide: true, params: paymentIdParams } }, async (request, reply) => {
    let record = await load(request.params.id);
    // Opening the checkout is what moves a payment from initiated to pending (and tells the merchant).
    if (record.payment.status === "initiated") {
      try {
        const opened = await recordOffChainEvent(context.db, context.chainId, context.settings, record.payment.id, { kind: "checkout_opened" });
        record = { ...record, payment: opened.payment };
      } catch (error) {
        // Another request moved it first: the page shows what was read, and its status feed catches up.
        if (!(error instanceof PaymentEventRefused)) throw error;
      }
    }
    const [[resource], merchant, checkpoint] = await Promise.all([
      context.views.resources(context.db, [record]),
      findMerchant(context.db, record.merchantId),
      readCheckpoint(context.db, context.chainId),
    ]);
    const html = checkoutPage({
      paymentId: resource.id,
      merchantName: merchant?.name ?? "Merchant",
      description: resource.description,
      amountUsd: resource.amount_usd,
      remainingUsd: resource.remaining_usd,
      status: shownStatus(record.payment, checkpoint?.timestamp),
      network: networkName(context.chainId),
      depositAddress: resource.deposit_address,
      expiresAt: resource.expires_at,
      cancelUrl: resource.cancel_url,
      options: await withQrCodes(currentOptions(record)),
    });
    return reply
      .header("content-type", "text/html; charset=utf-8")
      .header("content-security-policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'")
      .header("cache-control", "no-store")
      .send(html);
  });

  api.get("/checkout/:id/options", { schema: { hide: true, params: paymentIdParams } }, async (request, reply) => {
    const record = await load(request.params.id);
    const html = paymentOptionsHtml({ options: await withQrCodes(currentOptions(record)), depositAddress: record.registration.depositAddress, network: networkName(context.chainId) });
    return reply.header("content-type", "text/html; charset=utf-8").header("cache-control", "no-store").send(html);
  });

  api.get("/checkout/:id/status", { schema: { hide: true, params: paymentIdParams } }, async (request) => {
    const record = await load(request.params.id);
    const [[resource], failures, checkpoint] = await Promise.all([
      context.views.resources(context.db, [record]),
      failedTransactionsOf(context.db, context.chainId, record.payment.id),
      readCheckpoint(context.db, context.chainId),
    ]);
    const status = shownStatus(record.payment, checkpoint?.timestamp);
    const confirming = status === "confirming" ? ` (${resource.confirmations.seen} of ${resource.confirmations.required} confirmations)` : "";
    const failure = failures.at(-1);
    return {
      status,
      text: statusText(status, resource.remaining_usd) + confirming,
      remaining_usd: resource.remaining_usd,
      received_usd: resource.received_usd,
      confirmations: resource.confirmations,
      expires_at: resource.expires_at,
      success_url: resource.success_url,
      cancel_url: resource.cancel_url,
      failure: failure ? { transaction_hash: failure.transactionHash, reason: failure.reason } : null,
      // The page swaps its options when these differ from what it shows (a deposit arrived, or the price moved).
      amounts: Object.fromEntries(currentOptions(record).map((option) => [option.token, option.amount])),
    };
  });

  // "Pay with wallet": the calls for the shopper's wallet to send, for what remains at the current price.
  api.get("/checkout/:id/wallet", { schema: { hide: true, params: paymentIdParams, querystring: walletQuery } }, async (request) => {
    const record = await load(request.params.id);
    const { payment, registration } = record;
    if (!PAYABLE.has(payment.status)) throw new ApiError(409, "conflict_error", `payment ${payment.id} is ${payment.status}: there is nothing to pay`, "id");
    const symbol = request.query.token.toUpperCase();
    const token = context.tokens.find((candidate) => candidate.symbol.toUpperCase() === symbol);
    if (!token || !record.request.options.some((option) => option.token === token.symbol)) {
      throw invalidField("token", `${request.query.token} is not offered for this payment; one of ${record.request.options.map((option) => option.token).join(", ")}`);
    }
    const price = context.prices.current().get(token.address.toLowerCase());
    if (!price) throw new ApiError(503, "api_error", `no current price for ${token.symbol}; try again in a moment`, "token");
    return walletPayment({
      chainId: context.chainId,
      escrow: context.escrow,
      intent: intentOf(registration),
      signature: registration.signature,
      token,
      amount: quoteAmount(dueNow(payment, token.address), price),
    });
  });

  // The checkout reports a pay call that reverted; it counts once it is checked against the chain.
  api.post("/checkout/:id/failed-transactions", { schema: { hide: true, params: paymentIdParams, body: failedTransactionBody } }, async (request, reply) => {
    const record = await load(request.params.id);
    const hash = request.body.transaction_hash;
    const check = await checkFailedTransaction(context.client, { escrow: context.escrow, paymentId: record.payment.id, hash });
    if (!check.ok) throw new ApiError(check.status, check.status === 409 ? "conflict_error" : "invalid_request_error", `transaction_hash: ${check.problem}`, "transaction_hash");
    const { payment } = await recordOffChainEvent(context.db, context.chainId, context.settings, record.payment.id, { kind: "transaction_failed", transactionHash: hash, reason: check.reason });
    return reply.code(201).send({ transaction_hash: hash, reason: check.reason, status: payment.status });
  });
}
