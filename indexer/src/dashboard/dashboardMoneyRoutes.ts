import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { GatewayContext } from "../ledger/gatewayContext";
import { createWithdrawalBody, listBalances, requestWithdrawal } from "../ledger/merchantBalances";
import { merchantTransactionState } from "../ledger/merchantTransactionState";
import { abandonRefund, createRefundBody, requestRefund, type RefundOwner } from "../ledger/refundRequest";
import { paymentIdParams } from "../payments/paymentId";
import { ContractAddressCache } from "./contractAddressCache";
import type { DashboardGuard } from "./dashboardGuard";

const transactionParams = z.strictObject({ hash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x transaction hash (32 bytes)") });

/**
 * Who sends the escrow's withdraw and refund calls, which the escrow takes from the merchant's own address only:
 * `wallet`, the signed-in merchant's browser wallet; `safe`, the merchant's address is a contract (a Safe multisig),
 * whose owners propose and execute the call; `merchant`, a signer is signed in, who may read but not send.
 */
export type MoneySender = "wallet" | "safe" | "merchant";

/**
 * The signed-in merchant's money for the dashboard's script: balances per token as indexed (GET /v1/balances's),
 * withdrawals and refunds prepared by the API's own ledger functions (the escrow call to sign, checked against the
 * indexed balance), and where a transaction the merchant sent stands by the indexer's confirmations. Another
 * merchant's payment or transaction is a 404. `now` is the dashboard's clock, which ages what is cached of the chain.
 */
export function dashboardMoneyRoutes(app: FastifyInstance, context: GatewayContext, guard: DashboardGuard, now: () => Date): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  // Whether the merchant's address is a Safe, wanted on every refresh of the balances: its code, asked of the node once.
  const contracts = new ContractAddressCache(async (address) => context.client.getCode({ address }), now);
  const ownerOf = async (request: FastifyRequest, reply: FastifyReply) => {
    const session = await guard.require(request, reply);
    reply.header("cache-control", "no-store");
    const owner: RefundOwner = { merchant: session.merchant, mode: context.mode };
    return { session, owner };
  };

  api.get("/dashboard/api/balances", { schema: { hide: true } }, async (request, reply) => {
    const { session, owner } = await ownerOf(request, reply);
    const [balances, safe] = await Promise.all([listBalances(context, owner), contracts.isContract(owner.merchant.address)]);
    const sender: MoneySender = safe ? "safe" : session.role === "merchant" ? "wallet" : "merchant";
    return { ...balances, sender, confirmations_required: context.settings.confirmations.depth };
  });

  api.post("/dashboard/api/withdrawals", { schema: { hide: true, body: createWithdrawalBody } }, async (request, reply) => {
    const { owner } = await ownerOf(request, reply);
    const prepared = await context.db.transaction().execute((trx) => requestWithdrawal(context, trx, owner, request.body));
    return reply.code(201).send(prepared);
  });

  api.post(
    "/dashboard/api/payments/:id/refunds",
    { schema: { hide: true, params: paymentIdParams, body: createRefundBody.optional() } },
    async (request, reply) => {
      const { owner } = await ownerOf(request, reply);
      const prepared = await requestRefund(context, context.db, owner, request.params.id, request.body ?? {});
      return reply.code(201).send(prepared);
    },
  );

  // The wallet declined or failed to send the refund: the payment returns to what it was, as the API's cancel.
  api.post("/dashboard/api/payments/:id/refunds/cancel", { schema: { hide: true, params: paymentIdParams } }, async (request, reply) => {
    const { owner } = await ownerOf(request, reply);
    return abandonRefund(context, owner, request.params.id);
  });

  api.get("/dashboard/api/transactions/:hash", { schema: { hide: true, params: transactionParams } }, async (request, reply) => {
    const { owner } = await ownerOf(request, reply);
    return merchantTransactionState(context, owner.merchant.address, request.params.hash as `0x${string}`);
  });
}
