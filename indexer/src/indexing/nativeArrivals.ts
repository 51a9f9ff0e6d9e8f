import { zeroAddress, type Address, type Hex } from "viem";
import type { BlockHeader } from "../chain/blockHeaders";
import type { WatchedPayment } from "../store/paymentStore";
import { nativeArrivalEvents } from "./depositTransfers";
import type { PaymentLog } from "./escrowLogs";
import { sameAddress } from "../payments/addresses";

/** BNB of each address at the end of a block; throws when the node no longer holds that block's state (pruned). */
export type NativeBalancesAt = (addresses: readonly Address[], block: BlockHeader) => Promise<bigint[]>;

/**
 * A stretch of blocks in which a deposit address's BNB can only grow: between two sweeps of it by the escrow (a
 * collect of BNB, a stray returned), each of which takes all it holds. `baseline` is what it held before `from`.
 */
interface Stretch {
  payment: WatchedPayment;
  from: number;
  to: number;
  baseline: bigint;
}

const isNative = (token: Address) => token.toLowerCase() === zeroAddress;

/**
 * The stretches to look at for each payment open to BNB: the segment cut at each sweep of its deposit address, and
 * ending at its completion (BNB sent after it is a stray, which the keeper sees by balance). A deposit in another
 * token changes nothing: each accepted token adds up apart, so BNB may still pay it.
 */
function stretches(headers: readonly BlockHeader[], watched: readonly WatchedPayment[], logs: readonly PaymentLog[]): Stretch[] {
  const from = headers[0].number;
  const end = headers[headers.length - 1].number;
  const result: Stretch[] = [];
  // Grouped once: a catch-up's segment holds thousands of logs for thousands of watched payments.
  const byPayment = new Map<string, PaymentLog[]>();
  for (const log of logs) {
    const id = log.paymentId.toLowerCase();
    const own = byPayment.get(id);
    if (own) own.push(log);
    else byPayment.set(id, [log]);
  }
  for (const payment of watched) {
    if (!payment.takesNative) continue;
    const own = byPayment.get(payment.id.toLowerCase()) ?? [];
    const sweeps: number[] = [];
    let last = end;
    for (const { event } of own) {
      const sweep =
        ((event.kind === "deposited" || event.kind === "completed") && isNative(event.token) && sameAddress(event.payer, payment.depositAddress)) ||
        (event.kind === "stray_returned" && isNative(event.token));
      if (sweep) sweeps.push(event.position.blockNumber);
      if (event.kind === "completed") {
        last = event.position.blockNumber - 1;
        break;
      }
    }
    let start = from;
    let baseline = payment.nativeWaiting;
    for (const sweep of [...new Set(sweeps)].filter((block) => block <= last)) {
      if (sweep - 1 >= start) result.push({ payment, from: start, to: sweep - 1, baseline });
      [start, baseline] = [sweep, 0n];
    }
    if (last >= start) result.push({ payment, from: start, to: last, baseline });
  }
  return result;
}

/**
 * BNB arriving at deposit addresses leaves no log, so the indexer reads their balances. Within a stretch in which a
 * deposit address's BNB can only grow (no sweep by the escrow), what it holds at the stretch's end beyond what it
 * held before is arrivals; each is found at the first block its balance rose (a binary search over the stretch), so
 * a catch-up dates and announces it where following block by block would have, also when it was collected within
 * the same range. An arrival whose block's state the node no longer holds (pruned: full nodes keep about 128 blocks)
 * is recorded undated at the stretch's end, and the payment then waits for the late-collect window and the keeper
 * leaves such BNB to the operator, rather than guess on which side of the expiry it came.
 */
export async function nativeArrivals(
  headers: readonly BlockHeader[],
  watched: readonly WatchedPayment[],
  logs: readonly PaymentLog[],
  balancesAt: NativeBalancesAt,
): Promise<PaymentLog[]> {
  if (headers.length === 0) return [];
  const todo = stretches(headers, watched, logs);
  if (todo.length === 0) return [];
  const byNumber = new Map(headers.map((header) => [header.number, header]));
  const balanceAt = (addresses: readonly Address[], block: number) => balancesAt(addresses, byNumber.get(block)!);

  // Each stretch's end, read together for all stretches that end at the same block.
  const ends = new Map<number, Stretch[]>();
  // Pushed, not copied: most stretches end at the segment's end, and thousands of payments may be watched.
  for (const stretch of todo) {
    const group = ends.get(stretch.to);
    if (group) group.push(stretch);
    else ends.set(stretch.to, [stretch]);
  }
  const arrivals: PaymentLog[] = [];
  for (const [block, group] of ends) {
    let balances: bigint[];
    try {
      balances = await balanceAt(
        group.map((stretch) => stretch.payment.depositAddress as Address),
        block,
      );
    } catch {
      // The stretch's end is pruned too (a catch-up far behind): arrivals there are seen at a later segment's end.
      continue;
    }
    for (const [i, stretch] of group.entries()) {
      let known = stretch.baseline;
      let low = stretch.from;
      const address = stretch.payment.depositAddress as Address;
      // Each rise in turn: the first block whose balance exceeds what was known, then on from there.
      while (balances[i] > known) {
        let [lo, hi] = [low, stretch.to];
        let atHi = balances[i];
        try {
          while (lo < hi) {
            const middle = Math.floor((lo + hi) / 2);
            const [balance] = await balanceAt([address], middle);
            if (balance > known) [hi, atHi] = [middle, balance];
            else lo = middle + 1;
          }
        } catch {
          arrivals.push(
            ...nativeArrivalEvents(byNumber.get(stretch.to)!, [{ paymentId: stretch.payment.id as Hex, balance: balances[i], expected: known, undated: true }]),
          );
          break;
        }
        arrivals.push(...nativeArrivalEvents(byNumber.get(hi)!, [{ paymentId: stretch.payment.id as Hex, balance: atHi, expected: known }]));
        [known, low] = [atHi, hi + 1];
      }
    }
  }
  return arrivals;
}
