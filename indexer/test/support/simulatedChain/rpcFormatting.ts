import { concat, keccak256, numberToHex, stringToHex, type Hex } from "viem";
import type { SimulatedBlock, SimulatedLog, SimulatedTransaction } from "./simulatedBlock";
import { transactionInput } from "./transactionInput";

/**
 * Blocks, logs, receipts and transactions in the JSON a geth-like node (BSC's among them) answers, with every field
 * viem's formatters read. Blocks never change once made, so each answer is built once and kept.
 */

export type LogJson = ReturnType<typeof buildLogJson>;

const EMPTY_TRIE_ROOT: Hex = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";
const EMPTY_UNCLES_HASH: Hex = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347";
const ZERO_WORD: Hex = `0x${"0".repeat(64)}`;
/** BSC's validators mine with these; any fixed address does. */
const VALIDATOR = "0x0000000000000000000000000000000000001000";
const GAS_LIMIT = 140_000_000n;
/** BSC's gas price floor (0.1 gwei), so that the numbers look like BSC's. */
const GAS_PRICE = 100_000_000n;

const hex = (value: number | bigint): Hex => numberToHex(value);

function buildLogJson(block: SimulatedBlock, log: SimulatedLog) {
  return {
    address: log.address,
    topics: log.topics,
    data: log.data,
    blockNumber: hex(block.number),
    transactionHash: log.transactionHash,
    transactionIndex: hex(log.transactionIndex),
    blockHash: block.hash,
    logIndex: hex(log.logIndex),
    removed: false,
  };
}

const logCache = new WeakMap<SimulatedBlock, LogJson[]>();

/** The block's logs as a node answers them, in order. */
export function logsJson(block: SimulatedBlock): readonly LogJson[] {
  let logs = logCache.get(block);
  if (!logs) {
    logs = block.logs.map((log) => buildLogJson(block, log));
    logCache.set(block, logs);
  }
  return logs;
}

const receiptCache = new WeakMap<SimulatedBlock, object[]>();

/** Every receipt of the block, in order (`eth_getBlockReceipts`). */
export function receiptsJson(block: SimulatedBlock): readonly object[] {
  let receipts = receiptCache.get(block);
  if (!receipts) {
    const logs = logsJson(block);
    let first = 0;
    receipts = block.transactions.map((transaction) => {
      const own = logs.slice(first, first + transaction.logs.length);
      first += transaction.logs.length;
      return {
        transactionHash: transaction.hash,
        transactionIndex: hex(transaction.index),
        blockHash: block.hash,
        blockNumber: hex(block.number),
        from: transaction.from,
        to: transaction.to,
        cumulativeGasUsed: hex(transaction.cumulativeGasUsed),
        gasUsed: hex(transaction.gasUsed),
        effectiveGasPrice: hex(GAS_PRICE),
        contractAddress: null,
        logs: own,
        logsBloom: transaction.logsBloom,
        status: transaction.revertReason === undefined ? "0x1" : "0x0",
        type: "0x0",
      };
    });
    receiptCache.set(block, receipts);
  }
  return receipts;
}

export function transactionJson(block: SimulatedBlock, transaction: SimulatedTransaction, chainId: number) {
  return {
    blockHash: block.hash,
    blockNumber: hex(block.number),
    from: transaction.from,
    gas: hex(transaction.gasUsed * 2n),
    gasPrice: hex(GAS_PRICE),
    hash: transaction.hash,
    input: transactionInput(transaction.action),
    // Not a sender's real nonce (the model keeps none): only a number that differs between transactions.
    nonce: hex(Number(BigInt(transaction.hash.slice(0, 10)))),
    to: transaction.to,
    transactionIndex: hex(transaction.index),
    value: hex(transaction.value),
    type: "0x0",
    chainId: hex(chainId),
    v: hex(chainId * 2 + 35),
    r: transaction.hash,
    s: keccak256(transaction.hash),
  };
}

const blockCache = new WeakMap<SimulatedBlock, Record<string, unknown>>();

/** The header and transaction hashes (`eth_getBlockByNumber(…, false)`); with `full`, whole transactions. */
export function blockJson(block: SimulatedBlock, chainId: number, full = false): Record<string, unknown> {
  let header = blockCache.get(block);
  if (!header) {
    const derived = (label: string) => keccak256(concat([block.hash, stringToHex(label)]));
    header = {
      number: hex(block.number),
      hash: block.hash,
      parentHash: block.parentHash,
      timestamp: hex(block.timestamp),
      nonce: "0x0000000000000000",
      mixHash: ZERO_WORD,
      sha3Uncles: EMPTY_UNCLES_HASH,
      logsBloom: block.logsBloom,
      transactionsRoot: block.transactions.length === 0 ? EMPTY_TRIE_ROOT : derived("transactions"),
      stateRoot: derived("state"),
      receiptsRoot: block.transactions.length === 0 ? EMPTY_TRIE_ROOT : derived("receipts"),
      miner: VALIDATOR,
      // BSC's in-turn validator signs with difficulty 2.
      difficulty: "0x2",
      totalDifficulty: hex(2 * (block.number + 1)),
      extraData: "0xd883010000846765746888676f312e32322e35856c696e7578",
      size: hex(620 + 110 * block.transactions.length),
      gasLimit: hex(GAS_LIMIT),
      gasUsed: hex(block.gasUsed),
      baseFeePerGas: "0x0",
      blobGasUsed: "0x0",
      excessBlobGas: "0x0",
      uncles: [],
      transactions: block.transactions.map((transaction) => transaction.hash),
    };
    blockCache.set(block, header);
  }
  if (!full) return header;
  return { ...header, transactions: block.transactions.map((transaction) => transactionJson(block, transaction, chainId)) };
}
