import type { FastifyInstance, FastifyReply } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import QRCode from "qrcode";
import { PaymentEventRefused, recordOffChainEvent } from "../../indexing/offChainEvents";
import { CHECKOUT_CSS, CHECKOUT_JS } from "../../checkout/checkoutAssets";
import { checkoutPage, networkName, statusText } from "../../checkout/checkoutPage";
import { findMerchant } from "../../store/merchantStore";
import { loadPaymentRecords } from "../../store/paymentRequestStore";
import type { ApiContext } from "../apiContext";
import { notFound } from "../apiErrors";
import { paymentIdParams } from "../apiSchemas";

/** The customer's side: the hosted checkout page at `checkout_url`, its assets and its status feed. No API key. */
export function checkoutRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const asset = (type: string, body: string) => (_request: unknown, reply: FastifyReply) =>
    reply.header("content-type", type).header("cache-control", "public, max-age=300").send(body);
  api.get("/checkout/assets/checkout.css", { schema: { hide: true } }, asset("text/css; charset=utf-8", CHECKOUT_CSS));
  api.get("/checkout/assets/checkout.js", { schema: { hide: true } }, asset("text/javascript; charset=utf-8", CHECKOUT_JS));

  const load = async (id: string) => {
    const record = (await loadPaymentRecords(context.db, context.chainId, [id.toLowerCase()])).get(id.toLowerCase());
    if (!record) throw notFound("payment", id);
    return record;
  };

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
    const [resource] = await context.views.resources(context.db, [record]);
    const merchant = await findMerchant(context.db, record.merchantId);
    const options = await Promise.all(
      resource.payment_options.map(async (option) => ({
        ...option,
        qrSvg: await QRCode.toString(option.uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 }),
      })),
    );
    const html = checkoutPage({
      paymentId: resource.id,
      merchantName: merchant?.name ?? "Merchant",
      description: resource.description,
      amountUsd: resource.amount_usd,
      remainingUsd: resource.remaining_usd,
      status: resource.status,
      network: networkName(context.chainId),
      depositAddress: resource.deposit_address,
      expiresAt: resource.expires_at,
      cancelUrl: resource.cancel_url,
      options,
    });
    return reply
      .header("content-type", "text/html; charset=utf-8")
      .header("content-security-policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'")
      .header("cache-control", "no-store")
      .send(html);
  });

  api.get("/checkout/:id/status", { schema: { hide: true, params: paymentIdParams } }, async (request) => {
    const [resource] = await context.views.resources(context.db, [await load(request.params.id)]);
    const confirming = resource.status === "confirming" ? ` (${resource.confirmations.seen} of ${resource.confirmations.required} confirmations)` : "";
    return {
      status: resource.status,
      text: statusText(resource.status, resource.remaining_usd) + confirming,
      remaining_usd: resource.remaining_usd,
      received_usd: resource.received_usd,
      confirmations: resource.confirmations,
      expires_at: resource.expires_at,
      success_url: resource.success_url,
      cancel_url: resource.cancel_url,
    };
  });
}
