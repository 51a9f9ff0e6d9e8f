import { bytesToHex, concat, keccak256, numberToHex, stringToHex, zeroAddress, type Address, type Hex } from "viem";
import { addressBits, addToBloom, bloomBits, type BloomBits } from "../../../src/chain/logsBloom";
import { encodeEvent } from "./eventEncoding";
import { applyAction, type EscrowAction, type EscrowConfig, type EscrowState } from "./modelEscrow";

/** A transaction the test puts in a block: a model action, optionally with its sender and hash chosen. */
export type ChainTransaction = EscrowAction & {
  /**
   * The transaction's sender; by default the payer, the transfer's `from`, the merchant (refunds, withdrawals), the
   * claimant or the operator (keeper actions). Only the receipt shows it: the model does not check who may do what.
   */
  sender?: Address;
  /**
   * The transaction's hash; by default a new one per transaction. Give the hash of an orphaned transaction to put
   * the same transaction in a new branch (a reorganisation re-includes it).
   */
  hash?: Hex;
};

/** Addresses that send what the action itself names no sender for. */
export interface Senders {
  operator: Address;
  /** Whoever calls a keeper action without the operator's role. */
  anyone: Address;
  /** The sender of `sendNative`. */
  faucet: Address;
}

export interface SimulatedLog {
  address: Address;
  topics: readonly Hex[];
  data: Hex;
  /** Position in the block. */
  logIndex: number;
  transactionIndex: number;
  transactionHash: Hex;
}

export interface SimulatedTransaction {
  hash: Hex;
  index: number;
  from: Address;
  to: Address;
  /** Wei sent along (BNB payments and transfers). */
  value: bigint;
  action: EscrowAction;
  /** The contract's error name when the action reverted (no logs, no state change). */
  revertReason?: string;
  logs: readonly SimulatedLog[];
  logsBloom: Hex;
  gasUsed: bigint;
  cumulativeGasUsed: bigint;
}

export interface SimulatedBlock {
  number: number;
  hash: Hex;
  parentHash: Hex;
  /** Unix seconds. */
  timestamp: bigint;
  /** The salt of the branch the block was made in: the same content in another branch gets another hash. */
  branch: number;
  transactions: readonly SimulatedTransaction[];
  /** Every log of the block, in order. */
  logs: readonly SimulatedLog[];
  logsBloom: Hex;
  gasUsed: bigint;
  /** The model's state after the block. */
  state: EscrowState;
}

export const ZERO_HASH: Hex = `0x${"0".repeat(64)}`;

/** Gas a transaction uses, by what it does: only so that receipts and headers carry plausible numbers. */
const GAS = { native: 21_000n, token: 52_000n, escrow: 95_000n, reverted: 30_000n } as const;

/** Bloom bits by item: blocks repeat the same addresses and event topics, and each costs a keccak256. */
const bitsCache = new Map<string, BloomBits>();
function cachedBits(item: Hex, of: (item: Hex) => BloomBits): BloomBits {
  let bits = bitsCache.get(item);
  if (bits === undefined) {
    if (bitsCache.size > 50_000) bitsCache.clear();
    bits = of(item);
    bitsCache.set(item, bits);
  }
  return bits;
}

/** A log's bloom bits: its address and each of its topics (both lowercase). */
function logBloomBits(log: { address: Address; topics: readonly Hex[] }): BloomBits[] {
  return [cachedBits(log.address, (item) => addressBits(item as Address)), ...log.topics.map((topic) => cachedBits(topic, bloomBits))];
}

/** The bloom of logs whose addresses and topics are lowercase. */
export function bloomOf(logs: readonly { address: Address; topics: readonly Hex[] }[]): Hex {
  const bloom = new Uint8Array(256);
  for (const log of logs) for (const bits of logBloomBits(log)) addToBloom(bloom, bits);
  return bytesToHex(bloom);
}

/** Who sends a transaction doing `action`, to which address, with how much BNB: as a real one would. */
export function transactionParties(action: EscrowAction, escrow: Address, senders: Senders): { from: Address; to: Address; value: bigint } {
  const keeper = (byOperator: boolean | undefined) => ((byOperator ?? true) ? senders.operator : senders.anyone);
  switch (action.kind) {
    case "pay":
      return { from: action.payer, to: escrow, value: action.token.toLowerCase() === zeroAddress ? action.amount : 0n };
    case "transfer":
      return { from: action.from, to: action.token, value: 0n };
    case "sendNative":
      return { from: senders.faucet, to: action.to, value: action.amount };
    case "refund":
      return { from: action.merchant ?? (action.paymentId.slice(0, 42) as Address), to: escrow, value: 0n };
    case "withdraw":
      return { from: action.merchant, to: escrow, value: 0n };
    case "claim":
      return { from: action.account, to: escrow, value: 0n };
    case "withdrawFees":
      return { from: senders.anyone, to: escrow, value: 0n };
    case "collect":
    case "expire":
    case "refundDepositAddress":
    case "returnStray":
      return { from: keeper(action.byOperator), to: escrow, value: 0n };
  }
}

const jsonWithBigints = (value: unknown) => JSON.stringify(value, (_key, item: unknown) => (typeof item === "bigint" ? `${item}n` : item));

/** A new transaction's hash: its content and a serial number, so that two equal transactions differ. */
export function transactionHash(chainId: number, serial: number, transaction: ChainTransaction): Hex {
  return keccak256(stringToHex(`${chainId}:${serial}:${jsonWithBigints(transaction)}`));
}

export interface BlockInput {
  parent: SimulatedBlock | undefined;
  number: number;
  timestamp: bigint;
  branch: number;
  /** Each transaction with its hash decided. */
  transactions: ReadonlyArray<{ transaction: ChainTransaction; hash: Hex }>;
  config: EscrowConfig;
  senders: Senders;
  /** The state before the block (the genesis state for block 0). */
  state: EscrowState;
}

/**
 * Applies the transactions to the model in order and makes the block: its logs (the model's events, encoded as the
 * contracts emit them), bloom, receipts' data and hash. The hash covers the parent's hash, the number, the
 * timestamp, the branch's salt and the transactions' hashes, so that a block differs from every other.
 */
export function buildBlock(input: BlockInput): SimulatedBlock {
  let state = input.state;
  let cumulativeGasUsed = 0n;
  const logs: SimulatedLog[] = [];
  const transactions: SimulatedTransaction[] = input.transactions.map(({ transaction, hash }, index) => {
    const { sender, hash: _chosen, ...action } = transaction;
    const modelAction = action as EscrowAction;
    const { from, to, value } = transactionParties(modelAction, input.config.escrow, input.senders);
    const outcome = applyAction(input.config, state, modelAction, input.timestamp);
    const transactionLogs: SimulatedLog[] = [];
    let gasUsed: bigint = GAS.reverted;
    if (!outcome.reverted) {
      state = outcome.state;
      for (const event of outcome.events) {
        const encoded = encodeEvent(event);
        transactionLogs.push({
          address: encoded.address.toLowerCase() as Address,
          topics: encoded.topics.map((topic) => topic.toLowerCase() as Hex),
          data: encoded.data,
          logIndex: logs.length + transactionLogs.length,
          transactionIndex: index,
          transactionHash: hash,
        });
      }
      logs.push(...transactionLogs);
      gasUsed = modelAction.kind === "sendNative" ? GAS.native : modelAction.kind === "transfer" ? GAS.token : GAS.escrow;
    }
    cumulativeGasUsed += gasUsed;
    return {
      hash,
      index,
      from: (sender ?? from).toLowerCase() as Address,
      to: to.toLowerCase() as Address,
      value,
      action: modelAction,
      ...(outcome.reverted ? { revertReason: outcome.reason } : {}),
      logs: transactionLogs,
      logsBloom: bloomOf(transactionLogs),
      gasUsed,
      cumulativeGasUsed,
    };
  });
  const parentHash = input.parent?.hash ?? ZERO_HASH;
  const hash = keccak256(
    concat([
      parentHash,
      numberToHex(input.number, { size: 8 }),
      numberToHex(input.timestamp, { size: 8 }),
      numberToHex(input.branch, { size: 4 }),
      ...transactions.map((transaction) => transaction.hash),
    ]),
  );
  return {
    number: input.number,
    hash,
    parentHash,
    timestamp: input.timestamp,
    branch: input.branch,
    transactions,
    logs,
    logsBloom: bloomOf(logs),
    gasUsed: cumulativeGasUsed,
    state,
  };
}
