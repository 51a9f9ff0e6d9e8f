import { numberToHex, type Address, type Hex } from "viem";
import type { ChainView } from "./chainView";
import { answerCall } from "./contractCalls";
import { parseLogFilter } from "./logFilter";
import { balanceOf } from "./modelEscrow";
import { invalidParams, RpcError } from "./rpcError";
import { blockJson, receiptsJson, transactionJson } from "./rpcFormatting";
import type { SimulatedBlock } from "./simulatedBlock";

/**
 * Answers one JSON-RPC call against a view, as geth does: the same results, `null` where geth answers null, and
 * geth's error codes and messages where it errs. Throws `RpcError` for an error answer.
 */

const HEX_QUANTITY = /^0x[0-9a-fA-F]+$/;
const HEX_HASH = /^0x[0-9a-fA-F]{64}$/;
const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** A block number or tag resolved against the view: a number, possibly above its head (then unknown to it). */
function blockNumberOf(view: ChainView, value: unknown, argument: number): number {
  switch (value ?? "latest") {
    case "latest":
    case "pending":
      return view.head.number;
    case "earliest":
      return 0;
    case "finalized":
    case "safe": {
      const finalized = view.finalized;
      if (finalized === undefined) throw new RpcError(-32000, `${value as string} block not found`);
      return finalized;
    }
  }
  if (typeof value !== "string" || !HEX_QUANTITY.test(value)) throw invalidParams(`invalid argument ${argument}: hex string without 0x prefix`);
  return Number(BigInt(value));
}

function hashOf(value: unknown, argument: number): Hex {
  if (typeof value !== "string" || !HEX_HASH.test(value))
    throw invalidParams(`invalid argument ${argument}: hex string has length ${String(value).length - 2}, want 64 for common.Hash`);
  return value.toLowerCase() as Hex;
}

function addressOf(value: unknown, argument: number): Address {
  if (typeof value !== "string" || !HEX_ADDRESS.test(value))
    throw invalidParams(`invalid argument ${argument}: hex string has length ${String(value).length - 2}, want 40 for common.Address`);
  return value.toLowerCase() as Address;
}

/** The block a state read (eth_call, eth_getBalance) is made at: a number, a tag or EIP-1898's object. */
function stateBlock(view: ChainView, value: unknown, argument: number): SimulatedBlock {
  if (value !== null && typeof value === "object") {
    const { blockHash, blockNumber, requireCanonical } = value as { blockHash?: unknown; blockNumber?: unknown; requireCanonical?: unknown };
    if (blockHash !== undefined) {
      const block = view.blockByHash(hashOf(blockHash, argument));
      if (!block) throw new RpcError(-32000, "header for hash not found");
      if (requireCanonical === true && !view.isOnChain(block)) throw new RpcError(-32000, "hash is not currently canonical");
      return block;
    }
    return stateBlock(view, blockNumber, argument);
  }
  const block = view.blockAt(blockNumberOf(view, value, argument));
  if (!block) throw new RpcError(-32000, "header not found");
  return block;
}

/** A block by number, tag or hash (eth_getBlockReceipts); undefined when the view does not have it. */
function blockByNumberOrHash(view: ChainView, value: unknown): SimulatedBlock | undefined {
  if (value !== null && typeof value === "object" && "blockHash" in value) return view.blockByHash(hashOf(value.blockHash, 0));
  if (typeof value === "string" && HEX_HASH.test(value)) return view.blockByHash(value.toLowerCase() as Hex);
  if (value !== null && typeof value === "object" && "blockNumber" in value) return view.blockAt(blockNumberOf(view, value.blockNumber, 0));
  return view.blockAt(blockNumberOf(view, value, 0));
}

/** The block on the view's chain that included a transaction, with the transaction. */
function included(view: ChainView, value: unknown) {
  const hash = hashOf(value, 0);
  for (const block of view.chain.blocksWithTransaction(hash)) {
    if (!view.isOnChain(block)) continue;
    return { block, transaction: block.transactions.find((transaction) => transaction.hash === hash)! };
  }
  return undefined;
}

function getLogs(view: ChainView, value: unknown) {
  if (value === null || typeof value !== "object") throw invalidParams("invalid argument 0: filter must be an object");
  const filter = value as { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown; address?: unknown; topics?: unknown };
  const match = parseLogFilter(filter);
  if (filter.blockHash !== undefined && filter.blockHash !== null) {
    if (filter.fromBlock !== undefined || filter.toBlock !== undefined) {
      throw invalidParams("invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other");
    }
    const block = view.blockByHash(hashOf(filter.blockHash, 0));
    if (!block) throw new RpcError(-32000, "unknown block");
    return view.logsOfBlock(block, match);
  }
  const from = blockNumberOf(view, filter.fromBlock, 0);
  const to = blockNumberOf(view, filter.toBlock, 0);
  if (from > to) throw new RpcError(-32000, "invalid block range params");
  const head = view.head.number;
  // geth stops at its head: a range that ends above it is answered up to the head, without an error.
  if (to > head) view.stats.clampedLogRanges += 1;
  if (from > head) return [];
  return view.logsInRange(from, Math.min(to, head), match);
}

export function answerMethod(view: ChainView, method: string, params: readonly unknown[]): unknown {
  const { chain } = view;
  switch (method) {
    case "eth_chainId":
      return numberToHex(chain.chainId);
    case "net_version":
      return String(chain.chainId);
    case "web3_clientVersion":
      return "Geth/v1.5.0-simulated/linux-amd64/go1.23";
    case "eth_blockNumber":
      return numberToHex(view.head.number);
    case "eth_gasPrice":
      return numberToHex(100_000_000n);
    case "eth_getBlockByNumber": {
      const block = view.blockAt(blockNumberOf(view, params[0], 0));
      return block ? blockJson(block, chain.chainId, params[1] === true) : null;
    }
    case "eth_getBlockByHash": {
      const block = view.blockByHash(hashOf(params[0], 0));
      return block ? blockJson(block, chain.chainId, params[1] === true) : null;
    }
    case "eth_getLogs":
      return getLogs(view, params[0]);
    case "eth_getBlockReceipts": {
      const block = blockByNumberOrHash(view, params[0]);
      return block ? receiptsJson(block) : null;
    }
    case "eth_getTransactionReceipt": {
      const found = included(view, params[0]);
      return found ? receiptsJson(found.block)[found.transaction.index] : null;
    }
    case "eth_getTransactionByHash": {
      const found = included(view, params[0]);
      return found ? transactionJson(found.block, found.transaction, chain.chainId) : null;
    }
    case "eth_getBalance":
      return numberToHex(balanceOf(stateBlock(view, params[1], 1).state, "0x0000000000000000000000000000000000000000", addressOf(params[0], 0)));
    case "eth_call": {
      const call = params[0] as { to?: unknown; data?: unknown; input?: unknown } | undefined;
      if (call === null || typeof call !== "object") throw invalidParams("invalid argument 0: call must be an object");
      const data = call.input ?? call.data ?? "0x";
      if (typeof data !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(data)) throw invalidParams("invalid argument 0: invalid call data");
      const to = call.to === undefined || call.to === null ? undefined : addressOf(call.to, 0);
      return answerCall(chain, stateBlock(view, params[1], 1).state, { to, data: data as Hex });
    }
    default:
      throw new RpcError(-32601, `the method ${method} does not exist/is not available`);
  }
}
