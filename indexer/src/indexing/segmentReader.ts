import { erc20Abi, toEventSelector, type AbiEvent, type Address, type Hex, type Log, type PublicClient } from "viem";
import { blockLogsFromReceipts } from "../chain/blockReceipts";
import { fetchHeaders, type BlockHeader } from "../chain/blockHeaders";
import { addBlock, BloomColumns } from "../chain/bloomColumns";
import { addressBits, addressTopic, bloomBits, bloomBytes, type BloomBits } from "../chain/logsBloom";
import { ProviderFault } from "../chain/providerFault";
import { sameAddress } from "../payments/addresses";

/** An ERC-20 `Transfer(from, to, value)`'s topic 0. */
export const TRANSFER_TOPIC: Hex = toEventSelector(erc20Abi.find((item) => item.type === "event" && item.name === "Transfer") as AbiEvent);

/** Recipients per eth_getLogs topic filter: providers cap the length of OR-lists. */
const ADDRESSES_PER_QUERY = 200;

/** Doubtful blocks whose receipts are asked for at once: together they go as JSON-RPC batches, yet stay bounded. */
const RECEIPT_BLOCKS_AT_ONCE = 16;

/**
 * What the indexer reads: the escrow's logs, and transfers of any token into watched deposit addresses (by topic,
 * not by token address: a token the escrow does not take must be seen too, to be reported).
 */
export interface ReadTargets {
  escrow: Address;
  /** BEP-20 tokens the escrow accepts (BNB is watched by balance, not by log): their transfers can pay. */
  tokens: readonly Address[];
  /** Deposit addresses whose incoming transfers are read. */
  depositAddresses: readonly Address[];
  /** Payments whose escrow logs matter (each payment event's first indexed topic is its id). */
  paymentIds: readonly Hex[];
}

/** A stretch of chain as read: hash-linked headers, and every log the indexer needs in them. */
export interface ChainSegment {
  headers: BlockHeader[];
  escrowLogs: Log[];
  transferLogs: Log[];
  /** Blocks whose bloom said there might be logs, none were returned, and the receipts confirmed there are none. */
  bloomFalsePositives: number;
}

/**
 * The bloom bits of watched items (deposit addresses as Transfer topics, payment ids), kept from one segment to the
 * next: thousands of payments stay watched for many segments, and each item's bits take a keccak256 to work out.
 * Only the items of the last segment are kept, so payments no longer watched are let go.
 */
export class WatchedBits {
  private known = new Map<Hex, BloomBits>();

  /** The bits of each item (a lower-case topic), reusing those of the last segment's items. */
  of(items: readonly Hex[]): BloomBits[] {
    const next = new Map<Hex, BloomBits>();
    const bits = items.map((item) => {
      const found = next.get(item) ?? this.known.get(item) ?? bloomBits(item);
      next.set(item, found);
      return found;
    });
    this.known = next;
    return bits;
  }
}

/**
 * The bloom bits of what is read, for one segment. Each watched item is checked on its own: a provider that answers
 * a block with some of its logs (one payment's, one deposit address's) and leaves out others must not pass because
 * the block was not empty. Items are tested against the segment's blooms as columns (`BloomColumns`), so a segment
 * costs the same per watched item however many blocks it has.
 */
class Watch {
  readonly escrow: BloomBits;
  /** Deposit addresses as Transfer topics (lower case), with their bits and the Transfer topic's: both in a bloom. */
  readonly recipients: ReadonlyArray<{ topic: Hex; positions: number[] }>;
  /** Payment ids (lower case), with their bits and the escrow's: a payment's log is the escrow's. */
  readonly payments: ReadonlyArray<{ topic: Hex; positions: number[] }>;
  private readonly recipientSet: Set<string>;

  constructor(
    readonly targets: ReadTargets,
    known: WatchedBits,
  ) {
    this.escrow = addressBits(targets.escrow);
    const transfer = bloomBits(TRANSFER_TOPIC);
    const recipients = targets.depositAddresses.map(addressTopic);
    const payments = targets.paymentIds.map((id) => id.toLowerCase() as Hex);
    const bits = known.of([...recipients, ...payments]);
    this.recipients = recipients.map((topic, i) => ({ topic, positions: [...transfer, ...bits[i]] }));
    this.payments = payments.map((topic, i) => ({ topic, positions: [...this.escrow, ...bits[recipients.length + i]] }));
    this.recipientSet = new Set(recipients);
  }

  /** Whether any bloom leaves room for an escrow log. */
  escrowMayLog(blooms: BloomColumns): boolean {
    return blooms.anyWith(this.escrow);
  }

  /**
   * The watched deposit addresses (as topics) a transfer into which the blooms leave room for: each must share a
   * bloom with the Transfer topic. The others are provably absent from every block, so not asked for.
   */
  possibleRecipients(blooms: BloomColumns): Hex[] {
    return this.recipients.filter(({ positions }) => blooms.anyWith(positions)).map(({ topic }) => topic);
  }

  /**
   * The blocks (indices) whose bloom leaves room for a log their answer lacks: an escrow log where it has none, a
   * watched payment's where it has none of that payment, a transfer into a watched address where it has none into
   * that one. A block once doubted is not tested again.
   */
  doubtful(blooms: BloomColumns, answers: ReadonlyArray<BlockAnswer | undefined>): number[] {
    const doubted = blooms.blockSet();
    for (const block of blooms.blocksWith(this.escrow)) if (!answers[block]?.escrow) addBlock(doubted, block);
    for (const { topic, positions } of this.payments) {
      for (const block of blooms.blocksWith(positions, doubted)) if (!answers[block]?.paymentIds.has(topic)) addBlock(doubted, block);
    }
    for (const { topic, positions } of this.recipients) {
      for (const block of blooms.blocksWith(positions, doubted)) if (!answers[block]?.recipients.has(topic)) addBlock(doubted, block);
    }
    return answers.map((_, block) => block).filter((block) => (doubted[block >> 5] & (1 << (block & 31))) !== 0);
  }

  isEscrowLog(log: Log): boolean {
    return sameAddress(log.address, this.targets.escrow);
  }

  isWatchedTransfer(log: Log): boolean {
    return log.topics[0]?.toLowerCase() === TRANSFER_TOPIC && log.topics.length === 3 && this.recipientSet.has(log.topics[2]!.toLowerCase());
  }
}

/** What an answer holds for one block: whether any escrow log, which payments' logs, which recipients' transfers. */
interface BlockAnswer {
  escrow: boolean;
  paymentIds: Set<string>;
  recipients: Set<string>;
  /** Every log of the answer in this block, as transaction hash and log index. */
  logs: Set<string>;
}

const logKey = (log: Log) => `${log.transactionHash?.toLowerCase()}:${Number(log.logIndex)}`;

/**
 * The escrow's logs and the watched transfers of blocks `from`..`to`: by block hash for one block, by range for more
 * (`escrow`, when the range's escrow logs were already asked for).
 */
async function fetchLogs(
  client: PublicClient,
  watch: Watch,
  headers: readonly BlockHeader[],
  blooms: BloomColumns,
  escrow?: Promise<Log[]>,
): Promise<{ escrowLogs: Log[]; transferLogs: Log[] }> {
  const where =
    headers.length === 1
      ? // By hash: the logs of exactly this block, even if the chain moved on meanwhile.
        { blockHash: headers[0].hash }
      : { fromBlock: BigInt(headers[0].number), toBlock: BigInt(headers[headers.length - 1].number) };
  // A bloom that rules a kind of log out in every block saves asking for it (most followed blocks hold none).
  const escrowLogs = escrow ?? (watch.escrowMayLog(blooms) ? client.getLogs({ address: watch.targets.escrow, ...where }) : Promise.resolve([]));
  const transfers: Array<Promise<Log[]>> = [];
  // A recipient left out here cannot be doubted later either: no bloom it shares with a Transfer, no receipts asked.
  const recipients = watch.possibleRecipients(blooms);
  if (recipients.length > 0) {
    for (let i = 0; i < recipients.length; i += ADDRESSES_PER_QUERY) {
      transfers.push(
        client.request({
          method: "eth_getLogs",
          params: [
            {
              topics: [TRANSFER_TOPIC, null, recipients.slice(i, i + ADDRESSES_PER_QUERY)],
              ...("blockHash" in where
                ? { blockHash: where.blockHash }
                : { fromBlock: `0x${where.fromBlock.toString(16)}`, toBlock: `0x${where.toBlock.toString(16)}` }),
            },
          ] as never,
        }) as unknown as Promise<Log[]>,
      );
    }
  }
  const [escrowAnswer, ...transferChunks] = await Promise.all([escrowLogs, ...transfers]);
  return { escrowLogs: escrowAnswer as Log[], transferLogs: transferChunks.flat().map(normalLog) };
}

/** A raw log (eth_getLogs through `request`) with its numbers as viem's getLogs gives them. */
function normalLog(log: Log): Log {
  const raw = log as unknown as Record<string, unknown>;
  const number = (value: unknown) => (typeof value === "string" ? BigInt(value) : (value as bigint | null));
  const index = (value: unknown) => (typeof value === "string" ? Number(BigInt(value)) : (value as number | null));
  return { ...log, blockNumber: number(raw.blockNumber), logIndex: index(raw.logIndex), transactionIndex: index(raw.transactionIndex) } as Log;
}

/**
 * Reads blocks `from`..`to`: their headers (linked by parent hash; the first must be a child of `parentHash`, else
 * the chain forked below and `forked` is returned), the escrow's logs and the watched transfers. Every log must
 * sit in a block of those headers (else `foreign_logs`), and a block whose bloom leaves room for a log the answer
 * lacks is checked against its receipts: if they hold one, the answer was incomplete (`missing_logs`). Either fault
 * is thrown, never applied: the caller moves to another provider and reads again.
 */
export async function readSegment(
  client: PublicClient,
  targets: ReadTargets,
  { from, to, parentHash }: { from: number; to: number; parentHash: Hex },
  known: WatchedBits = new WatchedBits(),
): Promise<ChainSegment | { forked: true; header: BlockHeader }> {
  // A range's escrow logs need not wait for its headers: asked for at once, checked against them once both are in.
  const escrow = to > from ? client.getLogs({ address: targets.escrow, fromBlock: BigInt(from), toBlock: BigInt(to) }) : undefined;
  escrow?.catch(() => undefined);
  const headers = await fetchHeaders(client, from, to);
  if (headers[0].parentHash !== parentHash) return { forked: true, header: headers[0] };
  const watch = new Watch(targets, known);
  const blooms = new BloomColumns(headers.map((header) => bloomBytes(header.logsBloom)));
  const { escrowLogs, transferLogs } = await fetchLogs(client, watch, headers, blooms, escrow);

  const byNumber = new Map(headers.map((header) => [header.number, header]));
  const answers = new Map<number, BlockAnswer>();
  const note = (logs: readonly Log[], escrowLogs: boolean) => {
    for (const log of logs) {
      const header = log.blockNumber === null ? undefined : byNumber.get(Number(log.blockNumber));
      if (!header || log.blockHash !== header.hash) {
        throw new ProviderFault(
          "foreign_logs",
          `a log of block ${log.blockNumber} (${log.blockHash}) is not of the block the indexer read there (${header?.hash ?? "none"})`,
        );
      }
      if (log.removed) throw new ProviderFault("foreign_logs", `a log of block ${log.blockNumber} is marked removed`);
      let answer = answers.get(header.number);
      if (!answer) {
        answer = { escrow: false, paymentIds: new Set(), recipients: new Set(), logs: new Set() };
        answers.set(header.number, answer);
      }
      answer.logs.add(logKey(log));
      if (escrowLogs) {
        answer.escrow = true;
        if (log.topics[1]) answer.paymentIds.add(log.topics[1].toLowerCase());
      } else if (log.topics[2]) answer.recipients.add(log.topics[2].toLowerCase());
    }
  };
  note(escrowLogs, true);
  note(transferLogs, false);

  // The bloom leaves room for logs the answer does not have: only the blocks' receipts can say which is right.
  const doubtful = watch
    .doubtful(
      blooms,
      headers.map((header) => answers.get(header.number)),
    )
    .map((block) => headers[block]);
  for (let i = 0; i < doubtful.length; i += RECEIPT_BLOCKS_AT_ONCE) {
    await Promise.all(
      doubtful.slice(i, i + RECEIPT_BLOCKS_AT_ONCE).map(async (header) => {
        const answer = answers.get(header.number);
        const inReceipts = await blockLogsFromReceipts(client, header.hash);
        const missing = inReceipts.filter((log) => (watch.isEscrowLog(log) || watch.isWatchedTransfer(log)) && !answer?.logs.has(logKey(log)));
        if (missing.length > 0) {
          throw new ProviderFault(
            "missing_logs",
            `block ${header.number} holds ${missing.length} log(s) of the escrow or a watched deposit address that eth_getLogs left out`,
          );
        }
      }),
    );
  }
  const bloomFalsePositives = doubtful.length;
  return { headers, escrowLogs, transferLogs, bloomFalsePositives };
}
