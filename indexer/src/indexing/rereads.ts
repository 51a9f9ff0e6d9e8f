import { sql } from "kysely";
import { getAddress, zeroAddress, type Address, type Hex, type Log, type PublicClient } from "viem";
import { fetchBlock } from "../chain/blockHeaders";
import { isRangeTooLarge } from "../chain/logRange";
import { addressTopic } from "../chain/logsBloom";
import { readBalances } from "../chain/escrowReadings";
import type { MerchantLog } from "../payments/merchantBalance";
import { nativeWaitingAfter } from "../payments/statusMachine";
import type { BlockRecord } from "../chain/blockHeaders";
import { unrecordedMerchantLogs } from "../store/merchantLedgerStore";
import { chainEventKey, eventsOf, loadPayments, type Db, type WatchedPayment } from "../store/paymentStore";
import { depositTransferEvents, nativeArrivalEvents, tokenSet } from "./depositTransfers";
import { paymentLogs, type PaymentLog } from "./escrowLogs";
import { merchantLogs } from "./merchantLogs";
import { lastBlockAtOrBefore } from "./blockAtTime";
import { TRANSFER_TOPIC, type ReadTargets } from "./segmentReader";
import { isOpen } from "../payments/statuses";

/**
 * A second read of logs already applied once: the kept (recent) blocks every confirmation depth, or the whole
 * history of a payment whose settlement the escrow's record contradicted.
 */
export type Reread = { what: "recent_blocks"; from: number; to: number } | { what: "payment_history"; paymentId: Hex; to: number };

export interface RereadContext {
  db: Db;
  chainId: number;
  targets: ReadTargets;
  watched: readonly WatchedPayment[];
  /** The kept blocks, oldest first: a log of one of these blocks counts only if its hash is the one kept. */
  kept: readonly BlockRecord[];
  startBlock: number;
  /** Retried until it answers. */
  read<T>(call: (client: PublicClient) => Promise<T>): Promise<T>;
  /** Retried, but thrown at once when the node says the block's state is gone (pruned). */
  attempt<T>(call: (client: PublicClient) => Promise<T>): Promise<T>;
  /** The provider read now (a log range it refuses as too wide is halved, not retried). */
  current(): PublicClient;
}

/** Blocks per eth_getLogs request when reading a payment's history (providers cap ranges at a few thousand). */
const HISTORY_RANGE = 2_000;

/** `eth_getLogs` over `from`..`to` in chunks, halving a chunk a provider refuses as too wide. */
async function getLogs(context: RereadContext, filter: Record<string, unknown>, from: number, to: number): Promise<Log[]> {
  const logs: Log[] = [];
  let size = HISTORY_RANGE;
  for (let start = from; start <= to; ) {
    const end = Math.min(to, start + size - 1);
    const call = (client: PublicClient) =>
      client.request({
        method: "eth_getLogs",
        params: [{ ...filter, fromBlock: `0x${start.toString(16)}`, toBlock: `0x${end.toString(16)}` }] as never,
      }) as Promise<unknown[]>;
    let raw: unknown[];
    try {
      raw = await call(context.current());
    } catch (error) {
      if (isRangeTooLarge(error) && size > 1) {
        size = Math.ceil(size / 2);
        continue;
      }
      raw = await context.read(call);
    }
    for (const log of raw as Array<Record<string, unknown>>) {
      logs.push({
        ...(log as unknown as Log),
        blockNumber: BigInt(log.blockNumber as string),
        logIndex: Number(BigInt(log.logIndex as string)),
        transactionIndex: Number(BigInt(log.transactionIndex as string)),
      });
    }
    start = end + 1;
  }
  return logs;
}

/**
 * The headers of the blocks `logs` sit in, each checked to be the block the chain holds at that height (the kept
 * hash for recent blocks, the provider's header for older, final ones): logs of any other block are dropped.
 */
async function headersOf(context: RereadContext, logs: readonly Log[]): Promise<Map<number, BlockRecord>> {
  const kept = new Map(context.kept.map((block) => [block.number, block]));
  const headers = new Map<number, BlockRecord>();
  for (const number of new Set(logs.map((log) => Number(log.blockNumber)))) {
    const block = kept.get(number) ?? (number < (context.kept[0]?.number ?? Infinity) ? await context.read((client) => fetchBlock(client, number)) : undefined);
    if (block) headers.set(number, block);
  }
  return headers;
}

/** The logs among `logs` that are of the blocks the indexer holds, decoded into payment events. */
function onCanonicalBlocks(logs: readonly Log[], headers: ReadonlyMap<number, BlockRecord>): Log[] {
  return logs.filter((log) => headers.get(Number(log.blockNumber))?.hash === log.blockHash);
}

/** Which of `events` are not recorded yet. */
async function unrecorded(db: Db, chainId: number, events: readonly PaymentLog[]): Promise<PaymentLog[]> {
  if (events.length === 0) return [];
  const rows = await db
    .selectFrom("payment_events")
    .select(["payment_id", "block_number", "log_index"])
    .where("chain_id", "=", chainId)
    .where(sql<boolean>`payment_id = any(${sql.val([...new Set(events.map((event) => event.paymentId as string))])}::text[])`)
    .where("block_number", ">=", Math.min(...events.map((event) => event.event.position.blockNumber)))
    .execute();
  const known = new Set(rows.map((row) => chainEventKey(row.payment_id, Number(row.block_number), Number(row.log_index))));
  return events.filter((event) => !known.has(chainEventKey(event.paymentId, event.event.position.blockNumber, event.event.position.logIndex)));
}

/**
 * Reads again and returns what the first reads missed: payment events (escrow logs, transfers into watched deposit
 * addresses) of the blocks the indexer holds that it has not recorded, and merchant-level logs (balances) likewise.
 * For a payment's history, also BNB its deposit address held at its expiry beyond what its events account for.
 */
export async function rereadLogs(reread: Reread, context: RereadContext): Promise<{ logs: PaymentLog[]; merchantLogs: MerchantLog[] }> {
  const { db, chainId, targets } = context;
  const found: PaymentLog[] = [];
  const missed = async (escrowLogs: readonly Log[]) => ({
    logs: await unrecorded(db, chainId, found),
    merchantLogs: await unrecordedMerchantLogs(db, chainId, merchantLogs(escrowLogs)),
  });
  if (reread.what === "recent_blocks") {
    const watched = new Map(context.watched.map((payment) => [getAddress(payment.depositAddress), payment.id]));
    const escrowLogs = await getLogs(context, { address: targets.escrow }, reread.from, reread.to);
    const recipients = targets.depositAddresses.map(addressTopic);
    // Any token's transfers, as the segments read them: one the escrow does not take is reported too. The queries
    // (one per 200 recipients, dozens with thousands watched) are asked together, not one after another.
    const queries: Array<Promise<Log[]>> = [];
    for (let i = 0; i < recipients.length; i += 200) {
      queries.push(getLogs(context, { topics: [TRANSFER_TOPIC, null, recipients.slice(i, i + 200)] }, reread.from, reread.to));
    }
    const transfers = (await Promise.all(queries)).flat();
    const headers = await headersOf(context, [...escrowLogs, ...transfers]);
    const canonical = onCanonicalBlocks(escrowLogs, headers);
    found.push(...paymentLogs(canonical), ...depositTransferEvents(onCanonicalBlocks(transfers, headers), watched, headers, tokenSet(targets.tokens)));
    return missed(canonical);
  }

  const stored = (await loadPayments(db, chainId, [reread.paymentId])).get(reread.paymentId);
  if (!stored) return { logs: [], merchantLogs: [] };
  const row = await db.selectFrom("payments").select("registered_block").where("chain_id", "=", chainId).where("id", "=", reread.paymentId).executeTakeFirst();
  const from = Math.max(context.startBlock, Number(row?.registered_block ?? context.startBlock) - 1);
  const depositAddress = getAddress(stored.registration.depositAddress);
  const escrowLogs = await getLogs(context, { address: targets.escrow, topics: [null, reread.paymentId] }, from, reread.to);
  const transfers = await getLogs(context, { topics: [TRANSFER_TOPIC, null, addressTopic(depositAddress)] }, from, reread.to);
  const headers = await headersOf(context, [...escrowLogs, ...transfers]);
  const canonical = onCanonicalBlocks(escrowLogs, headers);
  found.push(
    ...paymentLogs(canonical),
    ...depositTransferEvents(onCanonicalBlocks(transfers, headers), new Map([[depositAddress, reread.paymentId]]), headers, tokenSet(targets.tokens)),
  );

  // BNB at the expiry that no recorded arrival accounts for (it leaves no log to find).
  const { payment } = stored;
  if (isOpen(payment.status) && payment.receivedUsd === 0n) {
    const expiryBlock = await lastBlockAtOrBefore(payment.expiry, {
      known: context.kept,
      upTo: reread.to,
      lowest: from,
      timeOf: async (n) => (await context.read((client) => fetchBlock(client, n))).timestamp,
    });
    const block = expiryBlock === undefined ? undefined : await context.read((client) => fetchBlock(client, expiryBlock));
    if (block && block.number < reread.to) {
      try {
        const [[balance]] = await context.attempt((client) => readBalances(client, [depositAddress], [zeroAddress], { blockHash: block.hash }));
        let expected = 0n;
        for (const event of await eventsOf(db, chainId, reread.paymentId)) {
          if ("position" in event && event.position.blockNumber <= block.number) expected = nativeWaitingAfter(expected, depositAddress as Address, event);
        }
        found.push(...nativeArrivalEvents(block, [{ paymentId: reread.paymentId, balance, expected }]));
      } catch {
        // The expiry block's state is pruned: the payment waits for the late-collect window instead.
      }
    }
  }
  return missed(canonical);
}
