import { decodeEventLog, toEventSelector, type AbiEvent, type Address, type Hex, type Log } from "viem";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import type { MerchantLog } from "../payments/merchantBalance";

const KINDS = { PaymentDeposited: "deposited", PaymentCompleted: "completed", PaymentRefunded: "refunded", Withdrawn: "withdrawn" } as const;
type EventName = keyof typeof KINDS;

/** Only these events' ABI: decoding against four entries rather than the escrow's whole ABI. */
const EVENTS = openPayEscrowAbi.filter((item): item is Extract<(typeof openPayEscrowAbi)[number], { type: "event" }> => item.type === "event" && item.name in KINDS);
const SELECTORS = new Set(EVENTS.map((event) => toEventSelector(event as AbiEvent).toLowerCase()));

/** The merchant-level logs among raw escrow logs, in chain order; removed logs are left out. */
export function merchantLogs(logs: readonly Log[]): MerchantLog[] {
  const result: MerchantLog[] = [];
  for (const log of logs) {
    if (log.removed || !log.topics[0] || !SELECTORS.has(log.topics[0].toLowerCase())) continue;
    if (log.blockNumber === null || log.logIndex === null || log.blockHash === null || log.transactionHash === null) continue;
    const { eventName, args } = decodeEventLog({ abi: EVENTS, topics: log.topics, data: log.data });
    const fields = args as { merchant: Address; token: Address; amount: bigint; fee?: bigint; paymentId?: Hex; to?: Address; payout?: Address };
    const kind = KINDS[eventName as EventName];
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
