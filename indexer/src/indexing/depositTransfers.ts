import { getAddress, zeroAddress, type Address, type Hex, type Log } from "viem";
import { NATIVE_ARRIVAL_LOG_INDEX } from "../payments/paymentEvents";
import type { PaymentLog } from "./escrowLogs";

/** The escrow's tokens as `depositTransferEvents` takes them. */
export const tokenSet = (tokens: readonly Address[]): ReadonlySet<string> => new Set(tokens.map((token) => token.toLowerCase()));

/**
 * Turns `Transfer` logs into watched deposit addresses, of any token contract, into the payments' events:
 * `deposit_address_funded` (dated by its block) for a token the escrow takes (`tokens`, lower case), else
 * `unaccepted_transfer`, which nothing collects and the merchant and operator must hear of. `payments` maps each
 * deposit address to its payment. Logs that are not an ERC-20 transfer (an ERC-721 `Transfer` shares its topic but
 * indexes a token id and carries no amount) and transfers of nothing are left out.
 */
export function depositTransferEvents(
  logs: readonly Log[],
  payments: ReadonlyMap<Address, Hex>,
  blocks: ReadonlyMap<number, { timestamp: bigint }>,
  tokens: ReadonlySet<string>,
): PaymentLog[] {
  const events: PaymentLog[] = [];
  for (const log of logs) {
    if (log.blockNumber === null || log.logIndex === null || log.blockHash === null || log.transactionHash === null) continue;
    if (log.topics.length !== 3 || log.data.length !== 66) continue;
    const to = getAddress(`0x${log.topics[2]!.slice(26)}`);
    const paymentId = payments.get(to);
    if (paymentId === undefined) continue;
    const blockNumber = Number(log.blockNumber);
    const token = getAddress(log.address);
    const amount = BigInt(log.data);
    const sender = getAddress(`0x${log.topics[1]!.slice(26)}`);
    const position = { blockNumber, logIndex: log.logIndex };
    if (!tokens.has(token.toLowerCase())) {
      if (amount === 0n) continue;
      events.push({
        paymentId: paymentId.toLowerCase() as Hex,
        blockHash: log.blockHash,
        event: { kind: "unaccepted_transfer", position, transactionHash: log.transactionHash, token, amount, sender },
      });
      continue;
    }
    events.push({
      paymentId: paymentId.toLowerCase() as Hex,
      blockHash: log.blockHash,
      event: {
        kind: "deposit_address_funded",
        position,
        transactionHash: log.transactionHash,
        token,
        amount,
        sender,
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
