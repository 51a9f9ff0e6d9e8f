/**
 * What a node has said about its chain — every block header and every log — kept by height and hash, so that once
 * the node has reorganised, a lying provider (FaultyRpcProxy) can still serve the branch that is gone. One recording
 * may be shared by several proxies, or primed straight from a node before a test reorganises.
 */

export interface JsonRpcCall {
  jsonrpc?: string;
  id?: number | string | null;
  method?: string;
  params?: unknown[];
}

export interface JsonRpcAnswer {
  jsonrpc: "2.0";
  id: number | string | null;
  result?: unknown;
  error?: { code: number; message: string };
}

/** A log as JSON-RPC gives it (quantities in hex). */
export interface RpcLog {
  address: string;
  topics: string[];
  blockHash: string;
  blockNumber: string;
  logIndex: string;
  [field: string]: unknown;
}

/** A block as JSON-RPC gives it: its transactions as hashes, or as objects. */
export interface RpcBlock {
  hash: string;
  number: string;
  parentHash: string;
  transactions: Array<string | { hash: string }>;
  [field: string]: unknown;
}

/** An `eth_getLogs` filter's selection (its block range or hash aside). */
export interface LogSelection {
  address?: string | string[];
  topics?: Array<string | string[] | null>;
}

interface RecordedBlock {
  number: number;
  hash: string;
  /** The most complete form seen (with full transactions, when it was ever asked so); absent when only its logs were seen. */
  header?: RpcBlock;
  /** Every log seen of the block, by log index. */
  logs: Map<number, RpcLog>;
}

/** Where the branch that is gone stands at one height. */
export type BranchAt =
  /** It has its own block there (recorded). */
  | { kind: "orphan"; block: RecordedBlock }
  /** It shares the node's block there (below the fork, as far as the recording knows). */
  | { kind: "shared" }
  /** It does not reach so high. */
  | { kind: "beyond" };

/** The node's block hash at each height asked (null above its head). */
export type CanonicalHashes = (heights: readonly number[]) => Promise<ReadonlyMap<number, string | null>>;

/** Blocks asked per JSON-RPC batch, logs per `eth_getLogs` range, when priming and finding the branch that is gone. */
const BLOCKS_PER_BATCH = 200;
const BLOCKS_PER_LOG_QUERY = 2_000;

export const toHex = (n: number): string => `0x${n.toString(16)}`;
const quantity = (value: unknown): number | undefined => (typeof value === "string" && /^0x[0-9a-f]+$/i.test(value) ? Number(BigInt(value)) : undefined);

/** Sends calls to a JSON-RPC server as one request; answers come back in the calls' order. */
export async function askNode(url: string, calls: readonly JsonRpcCall[]): Promise<JsonRpcAnswer[]> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(calls.length === 1 ? calls[0] : calls),
  });
  const body = (await response.json()) as JsonRpcAnswer | JsonRpcAnswer[];
  if (calls.length === 1) return [Array.isArray(body) ? body[0] : body];
  if (!Array.isArray(body)) return calls.map(() => body);
  const byId = new Map(body.map((answer) => [answer.id, answer]));
  return calls.map((call) => byId.get(call.id ?? null) ?? { jsonrpc: "2.0", id: call.id ?? null, error: { code: -32603, message: "no answer from the node" } });
}

async function askOne(url: string, method: string, params: unknown[]): Promise<unknown> {
  const [answer] = await askNode(url, [{ jsonrpc: "2.0", id: 1, method, params }]);
  if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
  return answer.result;
}

const isLog = (value: unknown): value is RpcLog =>
  typeof value === "object" && value !== null && typeof (value as RpcLog).blockHash === "string" && quantity((value as RpcLog).logIndex) !== undefined;

export const isBlock = (value: unknown): value is RpcBlock =>
  typeof value === "object" && value !== null && typeof (value as RpcBlock).hash === "string" && quantity((value as RpcBlock).number) !== undefined;

const hasFullTransactions = (block: RpcBlock) => block.transactions.some((tx) => typeof tx === "object");

/** Whether a log is one `selection` asks for (addresses and topics compared as Ethereum does, case aside). */
function selects(selection: LogSelection, log: RpcLog): boolean {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  if (selection.address !== undefined) {
    const addresses = Array.isArray(selection.address) ? selection.address : [selection.address];
    if (addresses.length > 0 && !addresses.some((address) => same(address, log.address))) return false;
  }
  return (selection.topics ?? []).every((wanted, i) => {
    if (wanted === null) return true;
    const options = Array.isArray(wanted) ? wanted : [wanted];
    return options.length === 0 || (log.topics[i] !== undefined && options.some((topic) => same(topic, log.topics[i])));
  });
}

export const byPosition = (a: RpcLog, b: RpcLog): number =>
  quantity(a.blockNumber)! - quantity(b.blockNumber)! || quantity(a.logIndex)! - quantity(b.logIndex)!;

export class ChainRecording {
  /** Blocks by height, each height's in the order they were first seen. */
  private readonly byHeight = new Map<number, Map<string, RecordedBlock>>();
  private readonly byHash = new Map<string, RecordedBlock>();

  /** Keeps a block header the node gave (the fuller form when it has seen both). */
  recordBlock(block: RpcBlock): void {
    const recorded = this.entry(block.hash, quantity(block.number)!);
    if (!recorded.header || hasFullTransactions(block) || !hasFullTransactions(recorded.header)) recorded.header = block;
  }

  /** Keeps logs the node gave (pending ones, without a block, aside). */
  recordLogs(logs: readonly unknown[]): void {
    for (const log of logs) {
      if (!isLog(log)) continue;
      this.entry(log.blockHash, quantity(log.blockNumber)!).logs.set(quantity(log.logIndex)!, log);
    }
  }

  /** Keeps whatever headers and logs an answer to `method` holds. */
  recordAnswer(method: string, result: unknown): void {
    if (result === null || result === undefined) return;
    if ((method === "eth_getBlockByNumber" || method === "eth_getBlockByHash") && isBlock(result)) this.recordBlock(result);
    if (method === "eth_getLogs" && Array.isArray(result)) this.recordLogs(result);
    if (method === "eth_getTransactionReceipt") this.recordLogs((result as { logs?: unknown[] }).logs ?? []);
    if (method === "eth_getBlockReceipts" && Array.isArray(result)) {
      for (const receipt of result) this.recordLogs((receipt as { logs?: unknown[] }).logs ?? []);
    }
  }

  /** Copies another recording into this one (a proxy that did not see a branch learns it from one that did). */
  merge(other: ChainRecording): void {
    for (const block of other.byHash.values()) {
      if (block.header) this.recordBlock(block.header);
      this.recordLogs([...block.logs.values()]);
    }
  }

  /**
   * Records blocks `from`..`to` (the node's head when absent) from a JSON-RPC server — the node itself, or a proxy —
   * with their full transactions and every log: what a test does before it reorganises the chain, so that the branch
   * it is about to abandon is known whole, whatever the proxies happened to be asked.
   */
  async prime(url: string, { from = 0, to }: { from?: number; to?: number } = {}): Promise<void> {
    const last = to ?? quantity(await askOne(url, "eth_blockNumber", []))!;
    for (let start = from; start <= last; start += BLOCKS_PER_BATCH) {
      const heights = Array.from({ length: Math.min(BLOCKS_PER_BATCH, last - start + 1) }, (_, i) => start + i);
      const calls = heights.map((height, i) => ({ jsonrpc: "2.0", id: i, method: "eth_getBlockByNumber", params: [toHex(height), true] }));
      const answers = await askNode(url, calls);
      for (const answer of answers) if (isBlock(answer.result)) this.recordBlock(answer.result);
    }
    for (let start = from; start <= last; start += BLOCKS_PER_LOG_QUERY) {
      const end = Math.min(start + BLOCKS_PER_LOG_QUERY - 1, last);
      this.recordLogs((await askOne(url, "eth_getLogs", [{ fromBlock: toHex(start), toBlock: toHex(end) }])) as unknown[]);
    }
  }

  /** The block of this hash, when it was recorded. */
  block(hash: string): RecordedBlock | undefined {
    return this.byHash.get(hash.toLowerCase());
  }

  /** The recorded heights from `from` to `to`, ascending. */
  heights(from: number, to: number): number[] {
    return [...this.byHeight.keys()].filter((height) => height >= from && height <= to).sort((a, b) => a - b);
  }

  /** A recorded block's header with its transactions in the form asked (as hashes, or as objects when they were recorded so). */
  header(block: RecordedBlock, fullTransactions: boolean): RpcBlock | null {
    if (!block.header) return null;
    if (fullTransactions || !hasFullTransactions(block.header)) return block.header;
    return { ...block.header, transactions: block.header.transactions.map((tx) => (typeof tx === "string" ? tx : tx.hash)) };
  }

  /** A recorded block's logs that `selection` asks for, in order. */
  logs(block: RecordedBlock, selection: LogSelection): RpcLog[] {
    return [...block.logs.values()].filter((log) => selects(selection, log)).sort(byPosition);
  }

  /**
   * The branch that is gone, as seen from the node's current hashes: at each height, the most recently first-seen
   * recorded block the node no longer has there. Its tip is the highest height holding such a block; below the tip,
   * a height without one is taken as shared with the node. `heights` are the heights a caller will ask `at` about.
   */
  async goneBranch(canonical: CanonicalHashes, heights: readonly number[]): Promise<{ tip?: number; at(height: number): BranchAt }> {
    const orphanAt = (height: number, hashes: ReadonlyMap<number, string | null>): RecordedBlock | undefined => {
      const canonicalHash = hashes.get(height)?.toLowerCase();
      const here = [...(this.byHeight.get(height)?.values() ?? [])].filter((block) => block.hash !== canonicalHash);
      return here[here.length - 1];
    };
    // The tip: the recorded heights from the top down, asked in batches, until one holds an orphan.
    const recorded = [...this.byHeight.keys()].sort((a, b) => b - a);
    let tip: number | undefined;
    for (let i = 0; i < recorded.length && tip === undefined; i += BLOCKS_PER_BATCH) {
      const chunk = recorded.slice(i, i + BLOCKS_PER_BATCH);
      const hashes = await canonical(chunk);
      tip = chunk.find((height) => orphanAt(height, hashes) !== undefined);
    }
    // The tip is asked about too: a block tag above the branch is answered with its tip.
    const asked = [...new Set([...heights, ...(tip === undefined ? [] : [tip])])].filter((height) => this.byHeight.has(height));
    const hashes = await canonical(asked);
    return {
      tip,
      at: (height) => {
        if (tip === undefined || height > tip) return { kind: "beyond" };
        const block = orphanAt(height, hashes);
        return block ? { kind: "orphan", block } : { kind: "shared" };
      },
    };
  }

  private entry(hash: string, number: number): RecordedBlock {
    const key = hash.toLowerCase();
    let block = this.byHash.get(key);
    if (!block) {
      block = { number, hash: key, logs: new Map() };
      this.byHash.set(key, block);
      const here = this.byHeight.get(number) ?? new Map<string, RecordedBlock>();
      here.set(key, block);
      this.byHeight.set(number, here);
    }
    return block;
  }
}
