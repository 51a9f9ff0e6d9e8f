import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { ApiContext } from "../apiContext";
import { balanceSchema, createWithdrawalBody, errorSchema, withdrawalRequestSchema } from "../apiSchemas";
import { idempotentInTransaction } from "../idempotency";
import { listBalances, requestWithdrawal } from "../../ledger/merchantBalances";
import { sent } from "./paymentRoutes";

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 429: errorSchema };

/** The merchant's escrow balance, and withdrawals of it the merchant signs. */
export function balanceRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    "/v1/balances",
    {
      schema: {
        tags: ["balances"],
        operationId: "getBalances",
        summary: "The merchant's escrow balance per token, as indexed",
        description: "Read from the indexer's state at its checkpoint (as_of), never from the chain live: what is confirmed, pending and taken in fees.",
        response: { 200: balanceSchema, ...errors },
      },
    },
    async (request) => listBalances(context, await context.auth.owner(request)),
  );

  api.post(
    "/v1/withdrawals",
    {
      schema: {
        tags: ["balances"],
        operationId: "createWithdrawal",
        summary: "Prepare a withdrawal of the escrow balance to the payout wallet",
        description:
          "Checks the amount against the indexed withdrawable balance and returns the escrow's withdraw call for the merchant to sign with its own key " +
          "(as a transaction and as a Safe Transaction Builder batch). The indexer announces balance.withdrawn once it is confirmed. " +
          "Send an `Idempotency-Key` header to make retries safe.",
        body: createWithdrawalBody,
        response: { 201: withdrawalRequestSchema, ...errors },
      },
    },
    async (request, reply) => {
      const owner = await context.auth.owner(request);
      const outcome = await idempotentInTransaction(context.db, owner, request, 201, (db) => requestWithdrawal(context, db, owner, request.body));
      return sent(reply, outcome);
    },
  );
}
