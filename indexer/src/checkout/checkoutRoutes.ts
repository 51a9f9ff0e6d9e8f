import path from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { PaymentEventRefused, recordOffChainEvent } from "../ledger/offChainEvents";
import { checkFailedTransaction } from "./failedTransactionCheck";
import { checkoutPage, networkName, paymentOptionsHtml } from "./checkoutPage";
import { CHECKOUT_CSS } from "./checkoutStyle";
import { browserBundle } from "../web/browserBundle";
import { sendPage, staticAsset } from "../web/pageReplies";
import { tokenLogoFiles } from "./tokenLogos";
import { walletPayment } from "./walletPayment";
import { quoteAmount } from "../prices/paymentOptions";
import { intentOf } from "../payments/paymentRegistration";
import { PAYMENT_CHANNEL } from "../store/paymentStore";
import type { GatewayContext } from "../ledger/gatewayContext";
import { ApiError, invalidField } from "../ledger/apiErrors";
import { paymentIdParams } from "../payments/paymentId";
import { failedTransactionBody, walletQuery } from "./checkoutSchemas";
import { CheckoutFeed } from "./checkoutFeed";
import { CheckoutReader, type CheckoutState } from "./checkoutReader";
import { isOpen } from "../payments/statuses";

/** Statuses in which a customer may still pay. */

/** How often an open page's event stream carries a comment, so that proxies and load balancers keep it open. */
const HEARTBEAT_MS = 20_000;

/**
 * The customer's side: the hosted checkout page at `checkout_url`, its assets, and its status, pushed over
 * server-sent events (fed by the database's NOTIFY: one LISTEN session per API process, fanned out in memory to the
 * open pages) or polled. No API key.
 */
export function checkoutRoutes(app: FastifyInstance, context: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const reader = new CheckoutReader(context);
  const checkoutScript = () => browserBundle(path.join(__dirname, "browser", "checkout.ts"));
  api.get(
    "/checkout/assets/checkout.css",
    { schema: { hide: true } },
    staticAsset("text/css; charset=utf-8", () => CHECKOUT_CSS),
  );
  api.get("/checkout/assets/checkout.js", { schema: { hide: true } }, staticAsset("text/javascript; charset=utf-8", checkoutScript));
  for (const [file, svg] of tokenLogoFiles())
    api.get(
      `/checkout/assets/tokens/${file}`,
      { schema: { hide: true } },
      staticAsset("image/svg+xml", () => svg),
    );
  // Built now, so that the first shopper does not wait for it; a failure shows on the first request for it.
  checkoutScript().catch(() => undefined);

  const feed = new CheckoutFeed<CheckoutState>((id) => reader.stateOf(id));
  const streams = new Set<FastifyReply["raw"]>();
  let stopListening: (() => Promise<void>) | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  app.addHook("onReady", async () => {
    stopListening = await context.listen(PAYMENT_CHANNEL, (payload) => feed.notified(payload));
    heartbeat = setInterval(() => feed.forEach((send) => void send("")), HEARTBEAT_MS).unref();
  });
  // Open streams would hold the server's close forever: they end first (the pages reconnect to another process).
  app.addHook("preClose", async () => {
    clearInterval(heartbeat);
    for (const stream of streams) stream.end();
    await stopListening?.();
  });

  api.get("/checkout/:id", { schema: { hide: true, params: paymentIdParams } }, async (request, reply) => {
    // Reading changes nothing: a link preview or a crawler is not a shopper (the page's script reports the opening).
    const { view, settings } = await reader.view(await reader.load(request.params.id));
    return sendPage(reply, checkoutPage(view), settings?.frameOrigins ?? []);
  });

  // The page's script, once the page is shown to a person: that moves the payment from initiated to pending (and
  // tells the merchant). A repeat, or a payment already past initiated, changes nothing.
  api.post("/checkout/:id/opened", { schema: { hide: true, params: paymentIdParams } }, async (request, reply) => {
    const record = await reader.load(request.params.id);
    if (record.payment.status === "initiated") {
      try {
        await recordOffChainEvent(context.db, context.chainId, context.settings, record.payment.id, { kind: "checkout_opened" });
      } catch (error) {
        // Another request moved it first.
        if (!(error instanceof PaymentEventRefused)) throw error;
      }
    }
    return reply.code(204).send();
  });

  api.get("/checkout/:id/options", { schema: { hide: true, params: paymentIdParams } }, async (request, reply) => {
    const record = await reader.load(request.params.id);
    const html = paymentOptionsHtml({
      options: await reader.withQrCodes(reader.currentOptions(record)),
      depositAddress: record.registration.depositAddress,
      network: networkName(context.chainId),
    });
    return reply.header("content-type", "text/html; charset=utf-8").header("cache-control", "no-store").send(html);
  });

  api.get("/checkout/:id/status", { schema: { hide: true, params: paymentIdParams } }, async (request) => reader.state(await reader.load(request.params.id)));

  // The status pushed: each state of the payment as one event, from the one it has now.
  api.get("/checkout/:id/events", { schema: { hide: true, params: paymentIdParams } }, async (request, reply) => {
    const id = (await reader.load(request.params.id)).payment.id;
    reply.hijack();
    const stream = reply.raw;
    stream.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" });
    // An empty message is the heartbeat: a comment line, which EventSource ignores.
    const unsubscribe = feed.subscribe(id, (json) => stream.write(json === "" ? ":\n\n" : `data: ${json}\n\n`));
    streams.add(stream);
    request.raw.on("close", () => {
      unsubscribe();
      streams.delete(stream);
    });
  });

  // "Pay with wallet": the calls for the shopper's wallet to send, for what remains at the current price.
  api.get("/checkout/:id/wallet", { schema: { hide: true, params: paymentIdParams, querystring: walletQuery } }, async (request) => {
    const record = await reader.load(request.params.id);
    const { payment, registration } = record;
    if (!isOpen(payment.status)) throw new ApiError(409, "conflict_error", `payment ${payment.id} is ${payment.status}: there is nothing to pay`, "id");
    const symbol = request.query.token.toUpperCase();
    const token = context.tokens.find((candidate) => candidate.symbol.toUpperCase() === symbol);
    if (!token || !record.request.options.some((option) => option.token === token.symbol)) {
      throw invalidField(
        "token",
        `${request.query.token} is not offered for this payment; one of ${record.request.options.map((option) => option.token).join(", ")}`,
      );
    }
    const price = context.prices.current().get(token.address.toLowerCase());
    if (!price) throw new ApiError(503, "api_error", `no current price for ${token.symbol}; try again in a moment`, "token");
    return walletPayment({
      chainId: context.chainId,
      escrow: context.escrow,
      intent: intentOf(registration),
      signature: registration.signature,
      token,
      amount: quoteAmount(reader.dueNow(payment, token.address), price),
    });
  });

  // The checkout reports a pay call that reverted; it counts once it is checked against the chain.
  api.post("/checkout/:id/failed-transactions", { schema: { hide: true, params: paymentIdParams, body: failedTransactionBody } }, async (request, reply) => {
    const record = await reader.load(request.params.id);
    const hash = request.body.transaction_hash;
    const check = await checkFailedTransaction(context.client, { escrow: context.escrow, paymentId: record.payment.id, hash });
    if (!check.ok)
      throw new ApiError(
        check.status,
        check.status === 409 ? "conflict_error" : "invalid_request_error",
        `transaction_hash: ${check.problem}`,
        "transaction_hash",
      );
    const { payment } = await recordOffChainEvent(context.db, context.chainId, context.settings, record.payment.id, {
      kind: "transaction_failed",
      transactionHash: hash,
      reason: check.reason,
    });
    return reply.code(201).send({ transaction_hash: hash, reason: check.reason, status: payment.status });
  });
}
