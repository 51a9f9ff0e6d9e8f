import { encodeFunctionData, getAddress, type Address, type Hex } from "viem";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import type { TokenBalance } from "../payments/merchantBalance";
import { formatDecimal } from "../prices/decimalAmounts";
import type { WithdrawalOutboxData } from "../store/merchantLedgerStore";
import type { TokenInfo } from "../payments/paymentResource";
import type { WithdrawalResource } from "../payments/resourceSchemas";

/** The token of an address as the API names it; an unknown one keeps its address as symbol, in units (0 decimals). */
function tokenOf(tokens: ReadonlyMap<string, TokenInfo>, address: string): TokenInfo {
  return tokens.get(address.toLowerCase()) ?? { symbol: address, address: address as Address, decimals: 0 };
}

/** An amount both ways: whole tokens and units. */
function money(amount: bigint, decimals: number) {
  return { amount: formatDecimal(amount, decimals), units: amount.toString() };
}

/** One token's balance as `GET /v1/balances` shows it: whole tokens as decimal strings (units beside the balance). */
export function balanceResource(balance: TokenBalance, tokens: ReadonlyMap<string, TokenInfo>) {
  const token = tokenOf(tokens, balance.token);
  const whole = (amount: bigint) => formatDecimal(amount, token.decimals);
  return {
    token: { symbol: token.symbol, address: token.address, decimals: token.decimals },
    balance: whole(balance.balance),
    balance_units: balance.balance.toString(),
    confirmed: whole(balance.confirmed),
    withdrawable: whole(balance.withdrawable),
    withdrawable_units: balance.withdrawable.toString(),
    pending: {
      confirming_payments: whole(balance.pendingCredits),
      unconfirmed_debits: whole(balance.pendingDebits),
      refunds_requested: whole(balance.refundsRequested),
    },
    fees: whole(balance.fees),
    totals: { credited: whole(balance.credited), refunded: whole(balance.refunded), withdrawn: whole(balance.withdrawn) },
  };
}

/** A withdrawal as `balance.withdrawn` carries it. */
export function withdrawalResource({ withdrawal }: WithdrawalOutboxData, tokens: ReadonlyMap<string, TokenInfo>): WithdrawalResource {
  const token = tokenOf(tokens, withdrawal.token);
  const { amount, units } = money(BigInt(withdrawal.amount), token.decimals);
  return {
    object: "withdrawal",
    id: withdrawal.id,
    merchant: getAddress(withdrawal.merchant),
    payout: getAddress(withdrawal.payout),
    token: { symbol: token.symbol, address: token.address },
    amount,
    amount_units: units,
    transaction_hash: withdrawal.transactionHash,
    block_number: withdrawal.blockNumber,
  };
}

/** An escrow call for the merchant to sign: as an EIP-1193 `eth_sendTransaction` takes it, and as a Safe batch. */
export function merchantTransaction(
  { chainId, escrow, merchant, name, description }: { chainId: number; escrow: Address; merchant: Address; name: string; description: string },
  data: Hex,
) {
  return {
    transaction: { chain_id: chainId, from: merchant, to: escrow, data, value: "0" },
    // The Safe{Wallet} Transaction Builder's batch file (its "Load" button takes it): for a merchant address that is
    // a Safe. `createdAt` is when the API built it; no checksum, which the builder does not require.
    safe_transaction_batch: {
      version: "1.0",
      chainId: String(chainId),
      createdAt: Date.now(),
      meta: { name, description, createdFromSafeAddress: merchant },
      transactions: [{ to: escrow, value: "0", data }],
    },
  };
}

/** The escrow's `withdraw(token, amount)` call. */
export function withdrawCall(token: Address, amount: bigint): Hex {
  return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "withdraw", args: [token, amount] });
}
