import type { FastifyInstance, FastifyReply } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { paymentResourceSchema } from "../../payments/resourceSchemas";
import { listPayments } from "../../ledger/paymentList";
import type { ApiContext } from "../apiContext";
import { notFound } from "../../ledger/apiErrors";
import { createPaymentBody, createRefundBody, errorSchema, listPaymentsQuery, paymentIdParams, paymentListSchema, refundSchema } from "../apiSchemas";
import { idempotent, idempotentInTransaction } from "../idempotency";
import { createPayment } from "../../ledger/paymentCreation";
import { abandonRefund, requestRefund } from "../../ledger/refundRequest";

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 429: errorSchema };
const IDEMPOTENCY = " Send an `Idempotency-Key` header to make retries safe: the same key and body replay the first response.";

/** Sends an idempotent outcome: its status, and whether it is a replay. */
export function sent<T>(reply: FastifyReply, outcome: { status: number; body: T; replayed: boolean }): T {
  reply.code(outcome.status);
  if (outcome.replayed) reply.header("idempotent-replayed", "true");
  return outcome.body;
}

/** Payments: create, read, list, refund. */
export function paymentRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    "/v1/payments",
    {
      schema: {
        tags: ["payments"],
        operationId: "createPayment",
        summary: "Create a payment",
        description: "Signs the payment's terms and returns its checkout URL, deposit address and EIP-681 URIs. Costs no gas." + IDEMPOTENCY,
        body: createPaymentBody,
        response: { 201: paymentResourceSchema, ...errors },
      },
    },
    async (request, reply) => {
      const owner = await context.auth.owner(request);
      const outcome = await idempotent(context.db, owner, request, 201, (key) => createPayment(context, context.db, owner, request.body, key));
      if (!outcome.replayed) context.webhookWakeup.poke();
      return sent(reply, outcome);
    },
  );

  api.get(
    "/v1/payments/:id",
    {
      schema: {
        tags: ["payments"],
        operationId: "getPayment",
        summary: "Retrieve a payment, with its history",
        params: paymentIdParams,
        response: { 200: paymentResourceSchema, ...errors },
      },
    },
    async (request) => {
      const owner = await context.auth.owner(request);
      const payment = await context.views.one(context.db, request.params.id, { merchantId: owner.merchant.id, mode: owner.mode });
      if (!payment) throw notFound("payment", request.params.id);
      return payment;
    },
  );

  api.get(
    "/v1/payments",
    {
      schema: {
        tags: ["payments"],
        operationId: "listPayments",
        summary: "List payments, newest first",
        querystring: listPaymentsQuery,
        response: { 200: paymentListSchema, ...errors },
      },
    },
    async (request) => {
      const owner = await context.auth.owner(request);
      return listPayments(context, { merchantId: owner.merchant.id, mode: owner.mode }, request.query);
    },
  );

  api.post(
    "/v1/payments/:id/refunds",
    {
      schema: {
        tags: ["refunds"],
        operationId: "createRefund",
        summary: "Refund a paid payment, fully or in part",
        description: "Records the refund (the payment turns `refunding`) and returns the escrow transaction the merchant signs with its own key." + IDEMPOTENCY,
        params: paymentIdParams,
        // Optional: no body refunds everything still refundable to the payment's refund_address.
        body: createRefundBody.optional(),
        response: { 201: refundSchema, ...errors },
      },
    },
    async (request, reply) => {
      const owner = await context.auth.owner(request);
      const outcome = await idempotentInTransaction(context.db, owner, request, 201, (db) =>
        requestRefund(context, db, owner, request.params.id, request.body ?? {}),
      );
      return sent(reply, outcome);
    },
  );

  api.post(
    "/v1/payments/:id/refunds/cancel",
    {
      schema: {
        tags: ["refunds"],
        operationId: "cancelRefund",
        summary: "Withdraw a refund that will not be signed",
        params: paymentIdParams,
        response: { 200: paymentResourceSchema, ...errors },
      },
    },
    async (request) => abandonRefund(context, await context.auth.owner(request), request.params.id),
  );
}
