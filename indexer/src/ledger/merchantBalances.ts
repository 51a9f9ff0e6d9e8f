import type { Address } from "viem";
import { z } from "zod";
import { lastConfirmedBlock } from "../payments/confirmations";
import { checkWithdrawal, tokenBalances, type TokenBalance } from "../payments/merchantBalance";
import { formatDecimal } from "../prices/decimalAmounts";
import { readCheckpoint } from "../store/checkpointStore";
import { balanceMovements, requestedRefunds } from "../store/merchantLedgerStore";
import type { Db } from "../store/paymentStore";
import type { GatewayContext } from "./gatewayContext";
import { ApiError, invalidField } from "./apiErrors";
import { balanceResource, merchantTransaction, withdrawCall } from "./balanceResources";
import type { TokenInfo } from "../payments/paymentResource";
import { parseAmount, type RefundOwner } from "./refundRequest";
import { decimal } from "./fieldSchemas";
import { sameAddress } from "../payments/addresses";

/** What balances read of the gateway. */
type BalanceContext = Pick<GatewayContext, "db" | "chainId" | "escrow" | "tokens" | "settings">;

/** A withdrawal's body, in the API and the dashboard. */
export const createWithdrawalBody = z.strictObject({
  token: z.string().min(1, "must name a token such as USDT").max(42).describe("A token symbol (USDT, USDC, BNB) or its address."),
  amount: z.union([z.literal("all"), decimal("an amount of the token")]).describe('In whole tokens, or "all": everything withdrawable.'),
});

/** The tokens the API names, by lowercase address (the escrow's, BNB at the zero address). */
function catalogue(context: BalanceContext): Map<string, TokenInfo> {
  return new Map(context.tokens.map((token) => [token.address.toLowerCase(), { symbol: token.symbol, address: token.address, decimals: token.decimals }]));
}

/**
 * The merchant's balances as indexed: at the indexer's checkpoint (what the escrow's `balanceOf` answers at that
 * block), with the part final under the confirmation depth, never a live read of the chain.
 */
async function indexedBalances(context: BalanceContext, db: Db, merchant: Address) {
  const checkpoint = await readCheckpoint(db, context.chainId);
  const indexed = checkpoint?.blockNumber ?? -1;
  const confirmed = Math.min(indexed, lastConfirmedBlock({ number: indexed }, { ...context.settings.confirmations, mode: "depth" }));
  const [movements, refunds] = await Promise.all([balanceMovements(db, context.chainId, merchant, confirmed), requestedRefunds(db, context.chainId, merchant)]);
  const balances = tokenBalances(
    movements,
    context.tokens.map((token) => token.address.toLowerCase()),
    refunds,
  );
  return { checkpoint, confirmed, balances };
}

/** `GET /v1/balances`. */
export async function listBalances(context: BalanceContext, owner: RefundOwner) {
  // One snapshot: the checkpoint and the movements of the same commit of the indexer.
  const { checkpoint, confirmed, balances } = await context.db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute((trx) => indexedBalances(context, trx, owner.merchant.address));
  const tokens = catalogue(context);
  return {
    object: "balance" as const,
    merchant: owner.merchant.address,
    as_of: {
      block_number: checkpoint?.blockNumber ?? null,
      block_hash: checkpoint?.blockHash ?? null,
      confirmed_block_number: checkpoint ? Math.max(confirmed, -1) : null,
    },
    data: balances.map((balance) => balanceResource(balance, tokens)),
  };
}

/**
 * `POST /v1/withdrawals`: the escrow's `withdraw` for the merchant to sign with its own key (the escrow pays only
 * `msg.sender`'s balance, to its payout wallet), checked against the indexed balance less the refunds it asked for.
 * Nothing is recorded: the indexer sees the `Withdrawn` log and announces `balance.withdrawn` once confirmed.
 */
export async function requestWithdrawal(context: BalanceContext, db: Db, owner: RefundOwner, body: { token: string; amount: string }) {
  const token = context.tokens.find((candidate) => candidate.symbol.toUpperCase() === body.token.toUpperCase() || sameAddress(candidate.address, body.token));
  if (!token)
    throw invalidField("token", `${body.token} is not a token of this escrow: one of ${context.tokens.map((candidate) => candidate.symbol).join(", ")}`);
  const { checkpoint, balances } = await indexedBalances(context, db, owner.merchant.address);
  const balance = balances.find((candidate) => candidate.token === token.address.toLowerCase()) as TokenBalance;
  const requested = body.amount === "all" ? "all" : parseAmount(body.amount, token.decimals);
  const check = checkWithdrawal(requested, balance.withdrawable);
  const whole = (amount: bigint) => `${formatDecimal(amount, token.decimals)} ${token.symbol}`;
  if (!check.ok && check.reason === "zero") {
    throw body.amount === "all"
      ? new ApiError(409, "conflict_error", `nothing to withdraw in ${token.symbol}: the withdrawable balance is ${whole(check.withdrawable)}`, "amount")
      : invalidField("amount", "must be more than zero");
  }
  if (!check.ok) {
    const kept =
      balance.refundsRequested > 0n ? ` (the balance of ${whole(balance.balance)} less ${whole(balance.refundsRequested)} of refunds requested)` : "";
    throw invalidField("amount", `${whole(check.amount)} exceeds the ${whole(check.withdrawable)} withdrawable${kept}`);
  }
  const amount = check.amount;
  return {
    object: "withdrawal_request" as const,
    token: { symbol: token.symbol, address: token.address },
    amount: formatDecimal(amount, token.decimals),
    amount_units: amount.toString(),
    as_of_block_number: checkpoint?.blockNumber ?? null,
    ...merchantTransaction(
      {
        chainId: context.chainId,
        escrow: context.escrow,
        merchant: owner.merchant.address,
        name: `Open Pay withdrawal of ${whole(amount)}`,
        description: `withdraw(${token.address}, ${amount}) on the Open Pay escrow: to the merchant's payout wallet`,
      },
      withdrawCall(token.address, amount),
    ),
  };
}
