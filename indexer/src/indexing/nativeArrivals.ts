import { zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import type { BlockHeader } from "../chain/blockHeaders";
import { readBalances } from "../chain/escrowReadings";
import { nativeWaitingAfter } from "../payments/statusMachine";
import type { WatchedPayment } from "../store/paymentStore";
import { nativeArrivalEvents } from "./depositTransfers";
import type { PaymentLog } from "./escrowLogs";

export interface BalanceReading {
  /** Retried until it answers: the newest blocks' state is always there. */
  read<T>(call: (client: PublicClient) => Promise<T>): Promise<T>;
  /** Retried, but thrown at once when the node says the block's state is gone (pruned). */
  attempt<T>(call: (client: PublicClient) => Promise<T>): Promise<T>;
}

/**
 * BNB arriving at deposit addresses leaves no log, so the indexer reads their balances: at the end of every segment
 * it applies (every block, when following the head), and at the expiry block of each payment whose expiry falls
 * inside a longer segment, so that an arrival is always dated on the right side of the expiry. What a balance holds
 * beyond what the payment's events say waits there is an arrival (`deposit_address_funded`, BNB, no sender).
 *
 * An expiry block whose state cannot be read (pruned on full nodes after about 128 blocks) gives an undated marker
 * instead, and arrivals seen later in the segment are undated too: the payment then waits for the late-collect
 * window, and the keeper leaves such BNB to the operator, rather than guess on which side of the expiry it came.
 */
export async function nativeArrivals(
  headers: readonly BlockHeader[],
  watched: readonly WatchedPayment[],
  logs: readonly PaymentLog[],
  reading: BalanceReading,
): Promise<PaymentLog[]> {
  // A payment this segment completed, or fixed to a token other than BNB, takes no BNB any more: BNB sent there is a
  // stray, which the keeper sees by balance. Not reading them keeps a catch-up's reads to the payments still open.
  const settledOtherwise = new Set(
    logs
      .filter(({ event }) => event.kind === "completed" || (event.kind === "deposited" && event.token.toLowerCase() !== zeroAddress))
      .map(({ paymentId }) => paymentId.toLowerCase()),
  );
  const payments = watched.filter((payment) => payment.takesNative && !settledOtherwise.has(payment.id.toLowerCase()));
  if (payments.length === 0 || headers.length === 0) return [];
  const end = headers[headers.length - 1];
  const first = headers[0];

  // Where to look: the end, and inside the segment the last block at or before each expiry it crosses.
  const points = new Map<number, { header: BlockHeader; payments: WatchedPayment[] }>([[end.number, { header: end, payments }]]);
  for (const payment of payments) {
    if (payment.expiry < first.timestamp || payment.expiry >= end.timestamp) continue;
    let header = first;
    for (const candidate of headers) if (candidate.timestamp <= payment.expiry) header = candidate;
    const point = points.get(header.number) ?? { header, payments: [] };
    if (point.header !== end) point.payments.push(payment);
    points.set(header.number, point);
  }

  const byPayment = new Map<string, PaymentLog[]>();
  for (const log of logs) {
    const list = byPayment.get(log.paymentId) ?? [];
    list.push(log);
    byPayment.set(log.paymentId, list);
  }
  const arrivals: PaymentLog[] = [];
  const undated = new Set<string>();
  for (const point of [...points.values()].sort((a, b) => a.header.number - b.header.number)) {
    const addresses = point.payments.map((payment) => payment.depositAddress as Address);
    let balances: bigint[][];
    try {
      const call = (client: PublicClient) => readBalances(client, addresses, [zeroAddress], { blockHash: point.header.hash });
      balances = headers.length === 1 ? await reading.read(call) : await reading.attempt(call);
    } catch {
      if (point.header === end) continue;
      for (const payment of point.payments) undated.add(payment.id);
      arrivals.push(...nativeArrivalEvents(point.header, point.payments.map((payment) => ({ paymentId: payment.id, balance: 0n, expected: 0n, undated: true }))));
      continue;
    }
    const observed = point.payments.map((payment, i) => {
      // What the payment's events say waits there at the end of this block, arrivals seen before included.
      let expected = payment.nativeWaiting;
      const events = [...(byPayment.get(payment.id) ?? []), ...arrivals.filter((arrival) => arrival.paymentId === payment.id)]
        .filter(({ event }) => event.position.blockNumber <= point.header.number)
        .sort((a, b) => a.event.position.blockNumber - b.event.position.blockNumber || a.event.position.logIndex - b.event.position.logIndex);
      for (const { event } of events) expected = nativeWaitingAfter(expected, payment.depositAddress as Address, event);
      return { paymentId: payment.id as Hex, balance: balances[i][0], expected, undated: undated.has(payment.id) };
    });
    // Only real arrivals here: an undated marker was recorded where the doubt arose.
    arrivals.push(...nativeArrivalEvents(point.header, observed.map((entry) => ({ ...entry, undated: entry.undated && entry.balance > entry.expected }))));
  }
  return arrivals;
}
