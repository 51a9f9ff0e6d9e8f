import type { Address, Hex, Log } from "viem";
import type { MerchantLog } from "../payments/merchantBalance";
import { decodedFields, eventLayouts } from "./escrowLogs";

/**
 * The escrow's events that move a merchant's balance, by the kind they become. Deposits are not among them: a
 * completion's credit is worked out from its payment's deposits as payment events (`applyMerchantLogs`).
 */
const KINDS = { PaymentCompleted: "completed", PaymentRefunded: "refunded", Withdrawn: "withdrawn" } as const;

/** Decoded by hand like the payment events (`escrowLogs.ts`): every backfill batch goes through here too. */
const LAYOUTS = eventLayouts(Object.keys(KINDS));

/** The merchant-level logs among raw escrow logs, in chain order; removed logs are left out. */
export function merchantLogs(logs: readonly Log[]): MerchantLog[] {
  const result: MerchantLog[] = [];
  for (const log of logs) {
    const layout = log.topics[0] === undefined ? undefined : LAYOUTS.get(log.topics[0].toLowerCase() as Hex);
    if (!layout || log.removed || log.blockNumber === null || log.logIndex === null || log.blockHash === null || log.transactionHash === null) continue;
    const kind = KINDS[layout.name as keyof typeof KINDS];
    const fields = decodedFields(log, layout, kind) as {
      merchant: Address;
      token: Address;
      amount: bigint;
      fee?: bigint;
      paymentId?: Hex;
      to?: Address;
      payout?: Address;
    };
    result.push({
      kind,
      merchant: fields.merchant,
      token: fields.token,
      amount: fields.amount,
      fee: fields.fee ?? 0n,
      paymentId: fields.paymentId ? (fields.paymentId.toLowerCase() as Hex) : null,
      counterparty: kind === "refunded" ? fields.to! : kind === "withdrawn" ? fields.payout! : null,
      blockNumber: Number(log.blockNumber),
      logIndex: log.logIndex,
      blockHash: log.blockHash,
      transactionHash: log.transactionHash,
    });
  }
  return result.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
}
