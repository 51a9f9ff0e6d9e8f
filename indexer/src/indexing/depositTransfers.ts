import { getAddress, zeroAddress, type Address, type Hex, type Log } from "viem";
import { NATIVE_ARRIVAL_LOG_INDEX } from "../payments/paymentEvents";
import type { PaymentLog } from "./escrowLogs";

/**
 * Turns transfers of accepted tokens into watched deposit addresses (their `Transfer` logs) into the payments'
 * `deposit_address_funded` events, dated by their block. `payments` maps each deposit address to its payment.
 */
export function depositTransferEvents(logs: readonly Log[], payments: ReadonlyMap<Address, Hex>, blocks: ReadonlyMap<number, { timestamp: bigint }>): PaymentLog[] {
  const events: PaymentLog[] = [];
  for (const log of logs) {
    if (log.blockNumber === null || log.logIndex === null || log.blockHash === null || log.transactionHash === null) continue;
    const to = getAddress(`0x${log.topics[2]!.slice(26)}`);
    const paymentId = payments.get(to);
    if (paymentId === undefined) continue;
    const blockNumber = Number(log.blockNumber);
    events.push({
      paymentId: paymentId.toLowerCase() as Hex,
      blockHash: log.blockHash,
      event: {
        kind: "deposit_address_funded",
        position: { blockNumber, logIndex: log.logIndex },
        transactionHash: log.transactionHash,
        token: getAddress(log.address),
        amount: BigInt(log.data),
        sender: getAddress(`0x${log.topics[1]!.slice(26)}`),
        timestamp: blocks.get(blockNumber)!.timestamp,
      },
    });
  }
  return events;
}

/**
 * BNB seen arriving at deposit addresses: for each balance read at the end of `block`, what it holds beyond what the
 * indexer believes waits there (`expected`, after the block's own logs). BNB leaves no log, so this is the only
 * trace of it; the event sits after the block's logs. `undated` (its timestamp null) says the block it arrived in
 * could not be told (that block's state is pruned).
 */
export function nativeArrivalEvents(
  block: { number: number; hash: Hex; timestamp: bigint },
  observed: ReadonlyArray<{ paymentId: Hex; balance: bigint; expected: bigint; undated?: boolean }>,
): PaymentLog[] {
  const events: PaymentLog[] = [];
  for (const { paymentId, balance, expected, undated } of observed) {
    const amount = balance > expected ? balance - expected : 0n;
    if (amount === 0n) continue;
    events.push({
      paymentId: paymentId.toLowerCase() as Hex,
      blockHash: block.hash,
      event: {
        kind: "deposit_address_funded",
        position: { blockNumber: block.number, logIndex: NATIVE_ARRIVAL_LOG_INDEX },
        transactionHash: null,
        token: zeroAddress,
        amount,
        sender: zeroAddress,
        timestamp: undated ? null : block.timestamp,
      },
    });
  }
  return events;
}
