import assert from "node:assert/strict";
import { bytesToHex, createPublicClient, custom, keccak256, numberToHex, pad, stringToHex, type Address, type Hex, type PublicClient } from "viem";
import { addressBits, addToBloom, bloomBits, bloomBytes, bloomMayHold } from "../chain/logsBloom";
import { ProviderFault } from "../chain/providerFault";
import { readSegment, TRANSFER_TOPIC, WatchedBits, type ReadTargets } from "./segmentReader";

const ESCROW: Address = "0x00000000000000000000000000000000000e5c40";
const TOKEN: Address = "0x55d398326f99059ff775485246999027b3197955";
const FUNDED: Address = "0x0000000000000000000000000000000000001001";
const UNFUNDED: Address = "0x0000000000000000000000000000000000001002";
const topicOf = (address: Address): Hex => pad(address, { size: 32 });

interface RawLog {
  address: Address;
  topics: Hex[];
  data: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  transactionHash: Hex;
  transactionIndex: Hex;
  logIndex: Hex;
  removed: boolean;
}

/**
 * Three linked blocks (10 to 12); block 11 holds one transaction with one token transfer into FUNDED, and its bloom
 * says so. Served over JSON-RPC as a node would, except that `omitTransfers` makes eth_getLogs leave the transfer out.
 */
function smallChain({ omitTransfers = false } = {}) {
  const hash = (n: number) => keccak256(stringToHex(`block ${n}`));
  const transaction = keccak256(stringToHex("transfer"));
  const transfer: RawLog = {
    address: TOKEN,
    topics: [TRANSFER_TOPIC, topicOf("0x0000000000000000000000000000000000000777"), topicOf(FUNDED)],
    data: numberToHex(5n, { size: 32 }),
    blockNumber: numberToHex(11),
    blockHash: hash(11),
    transactionHash: transaction,
    transactionIndex: "0x0",
    logIndex: "0x0",
    removed: false,
  };
  const bloomOf = (logs: readonly RawLog[]) => {
    const bloom = new Uint8Array(256);
    for (const log of logs) for (const item of [log.address, ...log.topics]) addToBloom(bloom, bloomBits(item));
    return bytesToHex(bloom);
  };
  const logsOf = (n: number) => (n === 11 ? [transfer] : []);
  const header = (n: number) => ({
    number: numberToHex(n),
    hash: hash(n),
    parentHash: hash(n - 1),
    timestamp: numberToHex(1_700_000_000 + n * 3),
    logsBloom: bloomOf(logsOf(n)),
    transactions: n === 11 ? [transaction] : [],
  });
  const asked: Array<{ method: string; params: unknown[] }> = [];
  const request = async ({ method, params }: { method: string; params: unknown[] }) => {
    asked.push({ method, params });
    switch (method) {
      case "eth_getBlockByNumber":
        return header(Number(params[0]));
      case "eth_getBlockByHash":
        return header([10, 11, 12].find((n) => hash(n) === params[0])!);
      case "eth_getBlockReceipts": {
        const n = [10, 11, 12].find((n) => hash(n) === params[0])!;
        return n === 11 ? [{ blockHash: hash(11), transactionHash: transaction, logs: [transfer] }] : [];
      }
      case "eth_getLogs": {
        const filter = params[0] as { address?: Address; topics?: [Hex, null, Hex[]]; fromBlock: Hex; toBlock: Hex };
        if (filter.address || omitTransfers) return [];
        const recipients = new Set(filter.topics![2].map((topic) => topic.toLowerCase()));
        return [10, 11, 12]
          .filter((n) => Number(filter.fromBlock) <= n && n <= Number(filter.toBlock))
          .flatMap(logsOf)
          .filter((log) => recipients.has(log.topics[2].toLowerCase()));
      }
      default:
        throw new Error(`${method} is not served`);
    }
  };
  const client = createPublicClient({ transport: custom({ request }) }) as PublicClient;
  return { client, asked, parentHash: hash(9) };
}

const targets: ReadTargets = { escrow: ESCROW, tokens: [TOKEN], depositAddresses: [FUNDED, UNFUNDED], paymentIds: [] };
const transferQueries = (asked: ReturnType<typeof smallChain>["asked"]) =>
  asked.filter(({ method, params }) => method === "eth_getLogs" && !(params[0] as { address?: Address }).address);

describe("segmentReader", () => {
  it("asks for transfers only into deposit addresses a bloom with a Transfer leaves room for", async () => {
    const { client, asked, parentHash } = smallChain();
    // What the test rests on: the funded address is in block 11's bloom, the unfunded one in none, nor the escrow.
    const bloom11 = bloomBytes((await client.getBlock({ blockNumber: 11n })).logsBloom!);
    assert.equal(bloomMayHold(bloom11, bloomBits(topicOf(UNFUNDED))), false);
    assert.equal(bloomMayHold(bloom11, addressBits(ESCROW)), false);

    const segment = await readSegment(client, targets, { from: 10, to: 12, parentHash });
    assert.ok(!("forked" in segment));
    assert.deepEqual(
      segment.transferLogs.map((log) => log.topics[2]),
      [topicOf(FUNDED)],
    );
    const queries = transferQueries(asked);
    assert.equal(queries.length, 1);
    assert.deepEqual((queries[0].params[0] as { topics: unknown[] }).topics, [TRANSFER_TOPIC, null, [topicOf(FUNDED)]]);
    // The answer was whole: no receipts asked for.
    assert.equal(asked.filter(({ method }) => method === "eth_getBlockReceipts").length, 0);
  });

  it("asks for no transfers when no deposit address shares a bloom with a Transfer", async () => {
    const { client, asked, parentHash } = smallChain();
    const segment = await readSegment(client, { ...targets, depositAddresses: [UNFUNDED] }, { from: 10, to: 12, parentHash });
    assert.ok(!("forked" in segment));
    assert.equal(segment.transferLogs.length, 0);
    assert.equal(transferQueries(asked).length, 0);
  });

  it("still finds a provider out that leaves a watched transfer out of a narrowed query (missing_logs)", async () => {
    const { client, asked, parentHash } = smallChain({ omitTransfers: true });
    await assert.rejects(
      readSegment(client, targets, { from: 10, to: 12, parentHash }),
      (error) => error instanceof ProviderFault && error.kind === "missing_logs",
    );
    assert.equal(transferQueries(asked).length, 1);
  });

  it("keeps the watched items' bloom bits from one segment to the next, and only the last segment's", () => {
    const known = new WatchedBits();
    const [a, b, c] = [topicOf(FUNDED), topicOf(UNFUNDED), keccak256(stringToHex("a payment"))];
    const first = known.of([a, b]);
    assert.deepEqual(first, [bloomBits(a), bloomBits(b)]);
    const second = known.of([b, c]);
    // The same bits, worked out once: the very arrays of the last segment.
    assert.equal(second[0], first[1]);
    assert.deepEqual(second[1], bloomBits(c));
    // `a` was not watched by the last segment: worked out again, not kept.
    assert.notEqual(known.of([a])[0], first[0]);
  });
});
