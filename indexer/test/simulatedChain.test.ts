import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import {
  concat,
  createPublicClient,
  custom,
  encodeFunctionData,
  parseAbi,
  decodeFunctionData,
  erc20Abi,
  getAddress,
  http,
  numberToHex,
  pad,
  parseEther,
  toEventSelector,
  zeroAddress,
  type AbiEvent,
  type Address,
  type Hex,
  type Log,
  type PublicClient,
} from "viem";
import { deployOpenPay } from "../../deploy/deployOpenPay";
import { hardhatAccountKey, LOCAL_ACCOUNTS } from "../../scripts/stack/hardhatAccounts";
import { IntentSigner } from "../src/api/intentSigner";
import { openPayEscrowAbi } from "../src/chain/escrowAbi";
import { readBalances, readEscrowPayments } from "../src/chain/escrowReadings";
import { addressBits, addressTopic, bloomBits, bloomBytes, bloomMayHold } from "../src/chain/logsBloom";
import { paymentLogs } from "../src/indexing/escrowLogs";
import { seededRandom } from "./support/faultyRpcProxy";
import type { ServedView } from "./support/simulatedChain/viewServer";
import { acceptedMask, depositOf, heldApart, paymentOf, type Intent } from "./support/simulatedChain/modelEscrow";
import { transactionParties, type ChainTransaction, type SimulatedBlock } from "./support/simulatedChain/simulatedBlock";
import { transactionInput } from "./support/simulatedChain/transactionInput";
import { SimulatedChain, type ChainOptions } from "./support/simulatedChain/simulatedChain";

const ESCROW = getAddress("0x00000000000000000000000000000000000e5c40");
const USDT = getAddress("0x55d398326f99059ff775485246999027b3197955");
const USDC = getAddress("0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d");
/** A token the escrow does not allow: only ever a stray. */
const CAKE = getAddress("0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82");
const BNB: Address = zeroAddress;
const USD = (amount: string) => parseEther(amount);
const GENESIS = 1_700_000_000n;
const lower = (value: string) => value.toLowerCase();

/** The n-th test address (payers, merchants, deposit and refund addresses). */
const account = (n: number): Address => getAddress(numberToHex(0x1000 + n, { size: 20 }));
const MERCHANT = account(1);

/** The simulated escrow's tokens by index (`tokenAt`), as `newChain` configures them: USDT, USDC and BNB at 1, 2 and 3. */
const TOKEN_INDEXES = new Map<Address, number>([
  [USDT, 1],
  [USDC, 2],
  [BNB, 3],
]);

function intent(n: number, amountUsd: bigint, options: { expiry?: bigint; refundTo?: Address; accepts?: readonly Address[] } = {}): Intent {
  return {
    paymentId: concat([MERCHANT, numberToHex(n, { size: 12 })]),
    merchant: MERCHANT,
    amountUsd,
    expiry: options.expiry ?? GENESIS + 600n,
    refundTo: options.refundTo ?? zeroAddress,
    acceptedTokens: acceptedMask(TOKEN_INDEXES, options.accepts ?? [USDT, USDC, BNB]),
    depositAddress: account(500 + n),
  };
}

function newChain(options: Partial<ChainOptions> = {}): SimulatedChain {
  return SimulatedChain.create({
    chainId: 56,
    escrow: ESCROW,
    tokens: [USDT, USDC, CAKE],
    prices: new Map([
      [USDT, USD("1")],
      [USDC, USD("0.9998")],
      [BNB, USD("600")],
    ]),
    tokenIndexes: TOKEN_INDEXES,
    genesisTimestamp: GENESIS,
    ...options,
  });
}

const clientOf = (view: ServedView): PublicClient => createPublicClient({ transport: http(view.url, { retryCount: 0 }), cacheTime: 0 }) as PublicClient;

/** A JSON-RPC call over plain HTTP, to see the answer exactly as the node sends it. */
async function rpc(url: string, body: unknown): Promise<{ status: number; json?: unknown; text: string }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

const call = (url: string, method: string, params: unknown[] = []) => rpc(url, { jsonrpc: "2.0", id: 1, method, params });

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}

const selector = (name: string) => toEventSelector(openPayEscrowAbi.find((item) => item.type === "event" && item.name === name) as AbiEvent);

/**
 * One of each thing the indexer reads, on one chain: a USDT payment paid in two deposits with an overpayment, then
 * refunded by its merchant in two parts, a stray USDC at its deposit address returned; a BNB payment left underpaid
 * and expired with its deposit refunded; a payment paid by transfers to its deposit address, collected, expired
 * and its deposit-address deposit refunded by the operator.
 */
function paymentHistory(chain: SimulatedChain) {
  const paid = intent(1, USD("100"));
  const underpaid = intent(2, USD("600"));
  const collected = intent(3, USD("50"));
  const payer1 = account(11);
  const payer2 = account(12);
  const blocks: Record<string, SimulatedBlock> = {};
  blocks.deposit = chain.mine([{ kind: "pay", intent: paid, payer: payer1, token: USDT, amount: USD("40") }]);
  blocks.completion = chain.mine([
    { kind: "pay", intent: paid, payer: payer2, token: USDT, amount: USD("70") },
    { kind: "pay", intent: underpaid, payer: payer1, token: BNB, amount: USD("0.5") },
  ]);
  blocks.transfer = chain.mine([{ kind: "transfer", token: USDT, from: payer2, to: collected.depositAddress, amount: USD("20") }]);
  blocks.collect = chain.mine([{ kind: "collect", intent: collected, token: USDT }]);
  blocks.refunds = chain.mine([
    { kind: "refund", paymentId: paid.paymentId, to: payer2, amount: USD("30") },
    { kind: "refund", paymentId: paid.paymentId, to: payer1, amount: USD("80") },
  ]);
  blocks.stray = chain.mine([{ kind: "transfer", token: USDC, from: payer1, to: paid.depositAddress, amount: USD("5") }]);
  blocks.strayReturn = chain.mine([{ kind: "returnStray", intent: paid, token: USDC, to: payer1 }]);
  blocks.expiry = chain.mine(
    [
      { kind: "expire", intent: underpaid, token: BNB, payers: [payer1] },
      { kind: "expire", intent: collected, token: USDT, payers: [collected.depositAddress] },
      { kind: "refundDepositAddress", intent: collected, token: USDT, to: account(13), amount: USD("20") },
    ],
    { timestamp: GENESIS + 601n },
  );
  return { paid, underpaid, collected, payer1, payer2, blocks };
}

describe("simulated chain", function () {
  const chains: SimulatedChain[] = [];
  const chainFor = (options: Partial<ChainOptions> = {}) => {
    const chain = newChain(options);
    chains.push(chain);
    return chain;
  };
  afterEach(async function () {
    await Promise.all(chains.splice(0).map((chain) => chain.close()));
  });

  describe("the healthy view", function () {
    it("serves blocks that viem reads as a node's: hashes linked by parent, timestamps, transactions", async function () {
      const chain = chainFor();
      const history = paymentHistory(chain);
      const client = clientOf(await chain.serve());
      expect(await client.getChainId()).to.equal(56);
      expect(await client.getBlockNumber()).to.equal(BigInt(chain.head.number));
      let parent = await client.getBlock({ blockNumber: 0n });
      expect(parent.parentHash).to.equal(`0x${"0".repeat(64)}`);
      expect(parent.timestamp).to.equal(GENESIS);
      for (let n = 1; n <= chain.head.number; n++) {
        const block = await client.getBlock({ blockNumber: BigInt(n) });
        expect(block.parentHash).to.equal(parent.hash);
        expect(block.hash).to.equal(chain.block(n)!.hash);
        expect(block.timestamp > parent.timestamp).to.equal(true);
        expect(block.logsBloom).to.equal(chain.block(n)!.logsBloom);
        expect(block.transactions).to.deep.equal(chain.block(n)!.transactions.map((transaction) => transaction.hash));
        expect(await client.getBlock({ blockHash: block.hash })).to.deep.equal(block);
        parent = block;
      }
      expect((await client.getBlock({ blockTag: "latest" })).hash).to.equal(chain.head.hash);
      expect(history.blocks.expiry.timestamp).to.equal(GENESIS + 601n);
      // A whole transaction carries the escrow call a real one would.
      const full = await client.getBlock({ blockHash: history.blocks.deposit.hash, includeTransactions: true });
      const { functionName, args } = decodeFunctionData({ abi: openPayEscrowAbi, data: full.transactions[0].input });
      expect(functionName).to.equal("pay");
      expect(args[2]).to.equal(USDT);
      expect(lower(full.transactions[0].from)).to.equal(lower(history.payer1));
      expect(lower(full.transactions[0].to!)).to.equal(lower(ESCROW));
      const error = await errorOf(client.getBlock({ blockNumber: BigInt(chain.head.number + 1) }));
      expect(error.name).to.equal("BlockNotFoundError");
    });

    it("answers `finalized` at the finality depth, never moving back, and geth's error on a chain without finality", async function () {
      const final = chainFor({ finalizedDepth: 4 });
      const client = clientOf(await final.serve());
      expect((await errorOf(client.getBlock({ blockTag: "finalized" }))).message).to.match(/finalized block not found/);
      final.mineEmpty(10);
      expect((await client.getBlock({ blockTag: "finalized" })).number).to.equal(6n);
      expect((await client.getBlock({ blockTag: "safe" })).number).to.equal(6n);
      // A shorter branch lowers the head, not the finalized block.
      final.reorg(3, [{ txs: [] }]);
      expect(final.head.number).to.equal(8);
      expect((await client.getBlock({ blockTag: "finalized" })).number).to.equal(6n);
      expect(() => final.reorg(4, [{ txs: [] }])).to.throw(/finalized/);
      const none = await chainFor().serve();
      const answer = await call(none.url, "eth_getBlockByNumber", ["finalized", false]);
      expect(answer.json).to.deep.include({ error: { code: -32000, message: "finalized block not found" } });
    });

    it("puts the escrow's logs in the form the indexer's decoder reads: each kind of payment event with its fields", async function () {
      const chain = chainFor();
      const { paid, underpaid, collected, payer1, payer2, blocks } = paymentHistory(chain);
      const client = clientOf(await chain.serve());
      const logs = await client.getLogs({ address: ESCROW, fromBlock: 0n, toBlock: "latest" });
      const events = paymentLogs(logs as Log[]).map(({ paymentId, event, blockHash }) => {
        const { position, transactionHash, ...fields } = event as typeof event & { position: unknown; transactionHash: Hex };
        expect(transactionHash).to.match(/^0x[0-9a-f]{64}$/);
        return { paymentId, blockHash, ...fields } as Record<string, unknown>;
      });
      const id = (payment: Intent) => lower(payment.paymentId);
      expect(events).to.deep.equal([
        {
          paymentId: id(paid),
          blockHash: blocks.deposit.hash,
          kind: "deposited",
          payer: payer1,
          token: USDT,
          amount: USD("40"),
          valueUsd: USD("40"),
          receivedUsd: USD("40"),
          remainingUsd: USD("60"),
        },
        {
          paymentId: id(paid),
          blockHash: blocks.completion.hash,
          kind: "completed",
          payer: payer2,
          token: USDT,
          amount: USD("70"),
          valueUsd: USD("70"),
          receivedUsd: USD("110"),
          excessUsd: USD("10"),
          fee: 0n,
        },
        {
          paymentId: id(underpaid),
          blockHash: blocks.completion.hash,
          kind: "deposited",
          payer: payer1,
          token: BNB,
          amount: USD("0.5"),
          valueUsd: USD("300"),
          receivedUsd: USD("300"),
          remainingUsd: USD("300"),
        },
        {
          paymentId: id(collected),
          blockHash: blocks.collect.hash,
          kind: "deposited",
          payer: collected.depositAddress,
          token: USDT,
          amount: USD("20"),
          valueUsd: USD("20"),
          receivedUsd: USD("20"),
          remainingUsd: USD("30"),
        },
        { paymentId: id(paid), blockHash: blocks.refunds.hash, kind: "refunded", to: payer2, token: USDT, amount: USD("30"), refundedTotal: USD("30") },
        { paymentId: id(paid), blockHash: blocks.refunds.hash, kind: "refunded", to: payer1, token: USDT, amount: USD("80"), refundedTotal: USD("110") },
        { paymentId: id(paid), blockHash: blocks.strayReturn.hash, kind: "stray_returned", to: payer1, token: USDC, amount: USD("5") },
        { paymentId: id(underpaid), blockHash: blocks.expiry.hash, kind: "expired", token: BNB, amount: USD("0.5"), receivedUsd: USD("300") },
        { paymentId: id(underpaid), blockHash: blocks.expiry.hash, kind: "deposit_refunded", payer: payer1, to: payer1, token: BNB, amount: USD("0.5") },
        // Expiring without a refund address skips the deposit address's own deposit: the operator sends it back.
        { paymentId: id(collected), blockHash: blocks.expiry.hash, kind: "expired", token: USDT, amount: USD("20"), receivedUsd: USD("20") },
        {
          paymentId: id(collected),
          blockHash: blocks.expiry.hash,
          kind: "deposit_refunded",
          payer: collected.depositAddress,
          to: account(13),
          token: USDT,
          amount: USD("20"),
        },
      ]);
      // Token movements are the tokens' own Transfer logs, in the order the contracts emit them.
      const transfers = await client.getLogs({
        address: [USDT, USDC],
        fromBlock: 0n,
        event: erc20Abi.find((item) => item.type === "event" && item.name === "Transfer")!,
      });
      expect(transfers.map((log) => [log.address, log.args.from, log.args.to, log.args.value])).to.deep.equal([
        [lower(USDT), payer1, ESCROW, USD("40")],
        [lower(USDT), payer2, ESCROW, USD("70")],
        [lower(USDT), payer2, collected.depositAddress, USD("20")],
        [lower(USDT), collected.depositAddress, ESCROW, USD("20")],
        [lower(USDT), ESCROW, payer2, USD("30")],
        [lower(USDT), ESCROW, payer1, USD("80")],
        [lower(USDC), payer1, paid.depositAddress, USD("5")],
        [lower(USDC), paid.depositAddress, payer1, USD("5")],
        [lower(USDT), ESCROW, account(13), USD("20")],
      ]);
      const completion = (await client.getTransactionReceipt({ hash: blocks.completion.transactions[0].hash })).logs;
      expect(completion.map((log) => lower(log.address))).to.deep.equal([lower(ESCROW), lower(USDT)]);
    });

    it("filters logs by address lists and topic OR-lists with nulls, as geth does", async function () {
      const chain = chainFor();
      const { paid, payer1, payer2 } = paymentHistory(chain);
      const view = await chain.serve();
      const getLogs = async (filter: Record<string, unknown>) => {
        const answer = await call(view.url, "eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest", ...filter }]);
        return (answer.json as { result: Array<{ address: string; topics: string[] }> }).result;
      };
      const all = await getLogs({});
      expect(all.length).to.equal(range(0, chain.head.number).reduce((sum, n) => sum + chain.block(n)!.logs.length, 0));
      expect(all.length).to.equal(20);
      const payerTopic = (payer: Address) => pad(lower(payer) as Hex, { size: 32 });
      const deposits = await getLogs({
        address: [ESCROW, USDC],
        topics: [[selector("PaymentDeposited"), selector("PaymentCompleted")], null, null, [payerTopic(payer1), payerTopic(payer2)]],
      });
      const expected = all.filter(
        (log) =>
          [lower(ESCROW), lower(USDC)].includes(log.address) &&
          [selector("PaymentDeposited"), selector("PaymentCompleted")].includes(log.topics[0] as Hex) &&
          [payerTopic(payer1), payerTopic(payer2)].includes(log.topics[3] as Hex),
      );
      expect(deposits).to.deep.equal(expected);
      expect(deposits.length).to.equal(3);
      expect(await getLogs({ topics: [null, lower(paid.paymentId)] })).to.have.length(5);
      // A position past a log's last topic never matches, even as null (PaymentExpired has two topics).
      expect(await getLogs({ topics: [selector("PaymentExpired"), null] })).to.have.length(2);
      expect(await getLogs({ topics: [selector("PaymentExpired"), null, null] })).to.have.length(0);
      expect(await getLogs({ address: USDT.toLowerCase() })).to.have.length(7);
      expect(await getLogs({ address: [] })).to.have.length(all.length);
      const invalid = await call(view.url, "eth_getLogs", [{ fromBlock: "0x5", toBlock: "0x2" }]);
      expect(invalid.json).to.deep.include({ error: { code: -32000, message: "invalid block range params" } });
      const both = await call(view.url, "eth_getLogs", [{ fromBlock: "0x1", blockHash: chain.head.hash }]);
      expect((both.json as { error: { code: number } }).error.code).to.equal(-32602);
    });

    it("sets in every block's bloom each log's address and topics, and nothing in a block without logs", async function () {
      const chain = chainFor();
      const { collected, blocks } = paymentHistory(chain);
      chain.mineEmpty(2);
      const client = clientOf(await chain.serve());
      for (let n = 0; n <= chain.head.number; n++) {
        const header = await client.getBlock({ blockNumber: BigInt(n) });
        const bloom = bloomBytes(header.logsBloom!);
        const logs = await client.getLogs({ blockHash: header.hash! });
        expect(logs.length).to.equal(chain.block(n)!.logs.length);
        for (const log of logs) {
          expect(bloomMayHold(bloom, addressBits(log.address))).to.equal(true);
          for (const topic of log.topics) expect(bloomMayHold(bloom, bloomBits(topic))).to.equal(true);
        }
        if (logs.length === 0) expect(bloom.every((byte) => byte === 0)).to.equal(true);
      }
      // A transfer to a deposit address sets its address as a topic (what the indexer watches), and not the escrow.
      const transfer = bloomBytes(blocks.transfer.logsBloom);
      expect(bloomMayHold(transfer, bloomBits(addressTopic(collected.depositAddress)))).to.equal(true);
      expect(bloomMayHold(transfer, addressBits(ESCROW))).to.equal(false);
      // Each receipt's bloom holds its own logs.
      const receipt = await client.getTransactionReceipt({ hash: blocks.collect.transactions[0].hash });
      expect(bloomMayHold(bloomBytes(receipt.logsBloom), addressBits(ESCROW))).to.equal(true);
    });

    it("answers both readers, balances and LATE_COLLECT_WINDOW from the model's state at the block asked", async function () {
      const chain = chainFor({ lateCollectWindow: 1800n });
      const { paid, underpaid, collected, payer1, blocks } = paymentHistory(chain);
      const client = clientOf(await chain.serve());
      const ids = [paid.paymentId, underpaid.paymentId, collected.paymentId, intent(99, USD("1")).paymentId];
      const at = async (block: SimulatedBlock) => readEscrowPayments(client, ESCROW, ids, { blockHash: block.hash });
      expect(await at(blocks.deposit)).to.deep.equal([
        { status: "open", token: USDT, amount: USD("40"), receivedUsd: USD("40"), refunded: 0n },
        { status: "none", token: zeroAddress, amount: 0n, receivedUsd: 0n, refunded: 0n },
        { status: "none", token: zeroAddress, amount: 0n, receivedUsd: 0n, refunded: 0n },
        { status: "none", token: zeroAddress, amount: 0n, receivedUsd: 0n, refunded: 0n },
      ]);
      expect((await at(blocks.refunds)).map((payment) => payment.status)).to.deep.equal(["refunded", "open", "open", "none"]);
      expect(await at(blocks.expiry)).to.deep.equal([
        { status: "refunded", token: USDT, amount: USD("110"), receivedUsd: USD("110"), refunded: USD("110") },
        { status: "expired", token: BNB, amount: USD("0.5"), receivedUsd: USD("300"), refunded: 0n },
        { status: "expired", token: USDT, amount: USD("20"), receivedUsd: USD("20"), refunded: 0n },
        { status: "none", token: zeroAddress, amount: 0n, receivedUsd: 0n, refunded: 0n },
      ]);
      const holders = [collected.depositAddress, paid.depositAddress, payer1, ESCROW];
      const tokens = [USDT, BNB, USDC];
      expect(await readBalances(client, holders, tokens, { blockHash: blocks.transfer.hash })).to.deep.equal([
        [USD("20"), 0n, 0n],
        [0n, 0n, 0n],
        [0n, 0n, 0n],
        [USD("110"), USD("0.5"), 0n],
      ]);
      expect(await readBalances(client, holders, tokens, { blockHash: blocks.expiry.hash })).to.deep.equal([
        [0n, 0n, 0n],
        [0n, 0n, 0n],
        [USD("80"), USD("0.5"), USD("5")],
        [0n, 0n, 0n],
      ]);
      // An address without code as a token makes the real reader revert.
      expect((await errorOf(readBalances(client, holders, [CAKE, account(77)], { blockHash: blocks.expiry.hash }))).message).to.match(/execution reverted/);
      expect(await client.getBalance({ address: ESCROW, blockNumber: BigInt(blocks.completion.number) })).to.equal(USD("0.5"));
      expect(await client.getBalance({ address: payer1 })).to.equal(USD("0.5"));
      expect(await client.readContract({ address: ESCROW, abi: openPayEscrowAbi, functionName: "LATE_COLLECT_WINDOW" })).to.equal(1800n);
      expect(
        await client.readContract({ address: USDT, abi: erc20Abi, functionName: "balanceOf", args: [payer1], blockNumber: BigInt(blocks.refunds.number) }),
      ).to.equal(USD("80"));
      const unknown = await call(clientUrl(client), "eth_call", [{ data: "0x00" }, { blockHash: `0x${"ab".repeat(32)}` }]);
      expect(unknown.json).to.deep.include({ error: { code: -32000, message: "header for hash not found" } });
    });

    it("mines a transaction whose action is invalid as reverted: status 0, no logs, no state change", async function () {
      const chain = chainFor();
      const late = intent(5, USD("10"), { expiry: GENESIS + 10n });
      const open = intent(6, USD("10"), { accepts: [USDT] });
      // An expiry more than the escrow's 24-hour time to live away: no first deposit yet.
      const far = intent(8, USD("10"), { expiry: GENESIS + 20n + 24n * 3600n + 1n });
      const before = chain.mine([{ kind: "pay", intent: open, payer: account(11), token: USDT, amount: USD("1") }]);
      const block = chain.mine(
        [
          { kind: "pay", intent: late, payer: account(11), token: USDT, amount: USD("10") },
          { kind: "pay", intent: open, payer: account(11), token: USDC, amount: USD("10") },
          { kind: "collect", intent: open, token: USDT },
          {
            kind: "pay",
            intent: { ...open, paymentId: concat([account(2), numberToHex(6, { size: 12 })]) },
            payer: account(11),
            token: USDT,
            amount: USD("10"),
          },
          { kind: "pay", intent: open, payer: account(11), token: CAKE, amount: USD("10") },
          { kind: "expire", intent: open, token: USDT, payers: [account(11)] },
          { kind: "refund", paymentId: open.paymentId, to: account(11), amount: 1n },
          { kind: "returnStray", intent: open, token: USDT, to: account(11) },
          { kind: "pay", intent: far, payer: account(11), token: USDT, amount: USD("10") },
          { kind: "expire", intent: late, token: USDT, payers: [account(11)] },
          { kind: "refundDepositAddress", intent: open, token: USDT, to: account(11), amount: 1n },
          { kind: "pay", intent: { ...open, amountUsd: USD("11") }, payer: account(11), token: USDT, amount: USD("2") },
          { kind: "pay", intent: open, payer: account(11), token: USDT, amount: USD("2"), beneficiary: ESCROW },
          { kind: "pay", intent: open, payer: account(11), token: USDT, amount: USD("2") },
        ],
        { timestamp: GENESIS + 20n },
      );
      const reverts = [
        "DepositAfterExpiry",
        "TokenNotAccepted",
        "NothingToCollect",
        "PaymentIdNotOfMerchant",
        "TokenNotAllowed",
        "PaymentNotExpired",
        "InvalidPaymentStatus",
        "DepositCollectable",
        "ExpiryTooFar",
        "NotRefundable",
        "NotRefundable",
        "IntentMismatch",
        "EscrowAsReceiver",
      ];
      expect(block.transactions.map((transaction) => transaction.revertReason ?? "ok")).to.deep.equal([...reverts, "ok"]);
      const client = clientOf(await chain.serve());
      const receipts = await Promise.all(block.transactions.map((transaction) => client.getTransactionReceipt({ hash: transaction.hash })));
      expect(receipts.map((receipt) => receipt.status)).to.deep.equal([...reverts.map(() => "reverted"), "success"]);
      expect(receipts.slice(0, reverts.length).every((receipt) => receipt.logs.length === 0)).to.equal(true);
      expect(paymentOf(chain.stateAt(block.hash), late.paymentId)).to.equal(undefined);
      expect(paymentOf(chain.stateAt(block.hash), far.paymentId)).to.equal(undefined);
      expect(paymentOf(chain.stateAt(block.hash), open.paymentId)!.amount).to.equal(USD("3"));
      expect(paymentOf(chain.stateAt(before.hash), open.paymentId)!.amount).to.equal(USD("1"));
      const blockReceipts = (await call(clientUrl(client), "eth_getBlockReceipts", [block.hash])).json as { result: Array<{ status: string }> };
      expect(blockReceipts.result.map((receipt) => receipt.status)).to.deep.equal([...reverts.map(() => "0x0"), "0x1"]);
    });

    it("keeps each accepted token apart: the record's token is the first deposit's until another token pays it, the others' deposits go back", async function () {
      const chain = chainFor({ lateCollectWindow: 1800n });
      const paid = intent(20, USD("100"));
      const expired = intent(21, USD("50"), { accepts: [USDT, BNB], expiry: GENESIS + 100n });
      const [customer, router, user, sender] = [account(11), account(31), account(30), account(32)];
      const mined = (transactions: ChainTransaction[], timestamp?: bigint) => chain.mine(transactions, timestamp ? { timestamp } : {});
      // A third party pays 1 USDC first, for a user it names; the customer pays in USDT; BNB reaches the deposit address.
      mined([{ kind: "pay", intent: paid, payer: router, token: USDC, amount: USD("1"), beneficiary: user }]);
      mined([{ kind: "pay", intent: paid, payer: customer, token: USDT, amount: USD("40") }]);
      mined([{ kind: "sendNative", to: paid.depositAddress, amount: USD("0.01") }]);
      mined([{ kind: "collect", intent: paid, token: BNB }]);
      const open = paymentOf(chain.head.state, paid.paymentId)!;
      expect({ status: open.status, token: open.token, amount: open.amount }).to.deep.equal({ status: 1, token: lower(USDC), amount: USD("1") });
      mined([{ kind: "pay", intent: paid, payer: customer, token: USDT, amount: USD("60") }]);
      const completed = paymentOf(chain.head.state, paid.paymentId)!;
      // USDT paid it: the record switches to USDT; the USDC and BNB deposits wait to go back.
      expect({ status: completed.status, token: completed.token, amount: completed.amount, receivedUsd: completed.receivedUsd }).to.deep.equal({
        status: 2,
        token: lower(USDT),
        amount: USD("100"),
        receivedUsd: USD("100"),
      });
      expect(heldApart(completed)).to.deep.equal([
        { token: zeroAddress, amount: USD("0.01") },
        { token: lower(USDC), amount: USD("1") },
      ]);
      const client = clientOf(await chain.serve());
      const depositOfCall = (token: Address, payer: Address) =>
        client.readContract({ address: ESCROW, abi: openPayEscrowAbi, functionName: "depositOf", args: [paid.paymentId, token, payer] });
      expect(await depositOfCall(USDC, user)).to.equal(USD("1"));
      expect(await depositOfCall(USDC, router)).to.equal(0n);
      expect(await depositOfCall(USDT, customer)).to.equal(0n);
      expect(await depositOfCall(BNB, paid.depositAddress)).to.equal(USD("0.01"));
      expect(depositOf(completed, USDT, customer)).to.equal(0n);
      expect(await client.readContract({ address: ESCROW, abi: openPayEscrowAbi, functionName: "tokenAt", args: [2] })).to.equal(USDC);
      expect(await client.readContract({ address: ESCROW, abi: openPayEscrowAbi, functionName: "tokenAt", args: [9] })).to.equal(zeroAddress);

      const refunds = mined([
        { kind: "expire", intent: paid, token: USDT, payers: [customer] },
        { kind: "expire", intent: paid, token: USDC, payers: [router, user] },
        { kind: "expire", intent: paid, token: BNB, payers: [paid.depositAddress] },
        { kind: "refundDepositAddress", intent: paid, token: BNB, to: sender, amount: USD("0.01") },
        { kind: "refundDepositAddress", intent: paid, token: USDT, to: sender, amount: 1n },
      ]);
      expect(refunds.transactions.map((transaction) => transaction.revertReason ?? "ok")).to.deep.equal(["NotRefundable", "ok", "ok", "ok", "NotRefundable"]);
      expect(heldApart(paymentOf(chain.head.state, paid.paymentId))).to.deep.equal([]);

      // An open payment in USDT with BNB kept apart: expiring it refunds one token at a time.
      mined([
        { kind: "pay", intent: expired, payer: customer, token: USDT, amount: USD("10") },
        { kind: "pay", intent: expired, payer: customer, token: BNB, amount: USD("0.01") },
        { kind: "pay", intent: expired, payer: customer, token: USDC, amount: USD("10") },
        // Enough BNB, with the 0.01 already deposited, to pay the $50 (and 1 wei of USDT beside it, which alone would
        // hold nobody's expiry back).
        { kind: "sendNative", to: expired.depositAddress, amount: USD("0.08") },
        { kind: "transfer", token: USDT, from: sender, to: expired.depositAddress, amount: 1n },
      ]);
      const late = mined(
        [
          { kind: "expire", intent: expired, token: BNB, payers: [customer], byOperator: false },
          { kind: "returnStray", intent: expired, token: BNB, to: sender, byOperator: false },
          { kind: "returnStray", intent: expired, token: BNB, to: sender },
          { kind: "expire", intent: expired, token: BNB, payers: [customer], byOperator: false },
          { kind: "expire", intent: expired, token: USDT, payers: [customer], byOperator: false },
        ],
        GENESIS + 200n,
      );
      expect(late.transactions.map((transaction) => transaction.revertReason ?? "ok")).to.deep.equal([
        "LateCollectPending",
        "DepositCollectable",
        "ok",
        "ok",
        "ok",
      ]);

      const logs = await client.getLogs({ address: ESCROW, fromBlock: 0n, toBlock: "latest" });
      const name = (address: Address) => ({ [lower(USDT)]: "USDT", [lower(USDC)]: "USDC", [zeroAddress]: "BNB" })[lower(address)] ?? address;
      const who = (address: Address) =>
        ({ [lower(customer)]: "customer", [lower(user)]: "user", [lower(sender)]: "sender" })[lower(address)] ??
        (lower(address) === lower(paid.depositAddress) || lower(address) === lower(expired.depositAddress) ? "deposit address" : address);
      expect(
        paymentLogs(logs as Log[]).map(({ event }) => {
          const fields = event as { kind: string; token: Address; amount: bigint; payer?: Address; to?: Address; receivedUsd?: bigint };
          const party = fields.payer ? ` from ${who(fields.payer)}` : fields.to ? ` to ${who(fields.to)}` : "";
          const received = fields.receivedUsd === undefined ? "" : ` ($${Number(fields.receivedUsd / 10n ** 14n) / 10_000} received)`;
          return `${fields.kind} ${Number(fields.amount / 10n ** 14n) / 10_000} ${name(fields.token)}${party}${received}`;
        }),
      ).to.deep.equal([
        "deposited 1 USDC from user ($0.9998 received)",
        "deposited 40 USDT from customer ($40 received)",
        "deposited 0.01 BNB from deposit address ($6 received)",
        "completed 60 USDT from customer ($100 received)",
        "deposit_refunded 1 USDC from user",
        "deposit_refunded 0.01 BNB from deposit address",
        "deposited 10 USDT from customer ($10 received)",
        "deposited 0.01 BNB from customer ($6 received)",
        "stray_returned 0.08 BNB to sender",
        "expired 10 USDT ($10 received)",
        "deposit_refunded 0.01 BNB from customer",
        "deposit_refunded 10 USDT from customer",
      ]);
      // The USDC payment never joined: the intent does not accept USDC.
      expect(chain.block(refunds.number + 1)!.transactions.map((transaction) => transaction.revertReason ?? "ok")).to.deep.equal([
        "ok",
        "ok",
        "TokenNotAccepted",
        "ok",
        "ok",
      ]);
    });

    it("answers batches call by call, and an unknown method with -32601", async function () {
      const chain = chainFor();
      chain.mineEmpty(3);
      const view = await chain.serve();
      const answer = await rpc(view.url, [
        { jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] },
        { jsonrpc: "2.0", id: 2, method: "eth_getBlockByNumber", params: ["0x9", false] },
        { jsonrpc: "2.0", id: 3, method: "eth_sign", params: [] },
        { jsonrpc: "2.0", id: 4, method: "net_version", params: [] },
      ]);
      expect(answer.json).to.deep.equal([
        { jsonrpc: "2.0", id: 1, result: "0x3" },
        { jsonrpc: "2.0", id: 2, result: null },
        { jsonrpc: "2.0", id: 3, error: { code: -32601, message: "the method eth_sign does not exist/is not available" } },
        { jsonrpc: "2.0", id: 4, result: "56" },
      ]);
      expect(view.stats).to.deep.include({ requests: 1, calls: 4, batches: 1 });
      expect(view.stats.byMethod).to.deep.equal({ eth_blockNumber: 1, eth_getBlockByNumber: 1, eth_sign: 1, net_version: 1 });
    });
  });

  describe("reorganisations", function () {
    it("give the replaced heights new hashes, even for the same content, and keep the orphaned branch servable", async function () {
      const chain = chainFor();
      const payment = intent(7, USD("100"));
      chain.mineEmpty(3);
      const deposit: ChainTransaction = { kind: "pay", intent: payment, payer: account(11), token: USDT, amount: USD("40") };
      const orphanedDeposit = chain.mine([deposit]);
      const orphanedTip = chain.mine([{ kind: "pay", intent: payment, payer: account(12), token: USDT, amount: USD("30") }]);
      const client = clientOf(await chain.serve());
      const orphanedLogs = await client.getLogs({ blockHash: orphanedTip.hash });

      // The same deposit (same transaction) again, at the same timestamps: only the branch differs.
      const { orphaned, added, ancestor } = chain.reorg(2, [
        { txs: [{ ...deposit, hash: orphanedDeposit.transactions[0].hash }], timestamp: orphanedDeposit.timestamp },
        { txs: [], timestamp: orphanedTip.timestamp },
        { txs: [] },
      ]);
      expect(ancestor.number).to.equal(3);
      expect(orphaned.map((block) => block.hash)).to.deep.equal([orphanedDeposit.hash, orphanedTip.hash]);
      expect(added.map((block) => block.number)).to.deep.equal([4, 5, 6]);
      expect(added[0].hash).not.to.equal(orphanedDeposit.hash);
      expect(added[1].hash).not.to.equal(orphanedTip.hash);
      expect(added[0].transactions[0].hash).to.equal(orphanedDeposit.transactions[0].hash);
      expect(await client.getBlockNumber()).to.equal(6n);
      expect((await client.getBlock({ blockNumber: 4n })).hash).to.equal(added[0].hash);
      expect((await client.getBlock({ blockNumber: 4n })).parentHash).to.equal(ancestor.hash);

      // The orphaned blocks stay known by hash: header, logs, receipts and state.
      expect((await client.getBlock({ blockHash: orphanedTip.hash })).number).to.equal(5n);
      expect(await client.getLogs({ blockHash: orphanedTip.hash })).to.deep.equal(orphanedLogs);
      expect(orphanedLogs[0].blockHash).to.equal(orphanedTip.hash);
      expect(await readEscrowPayments(client, ESCROW, [payment.paymentId], { blockHash: orphanedTip.hash })).to.deep.equal([
        { status: "open", token: USDT, amount: USD("70"), receivedUsd: USD("70"), refunded: 0n },
      ]);
      expect(await readEscrowPayments(client, ESCROW, [payment.paymentId], { blockHash: chain.head.hash })).to.deep.equal([
        { status: "open", token: USDT, amount: USD("40"), receivedUsd: USD("40"), refunded: 0n },
      ]);
      const orphanedOnly = await call(clientUrl(client), "eth_call", [{ data: "0x" }, { blockHash: orphanedTip.hash, requireCanonical: true }]);
      expect(orphanedOnly.json).to.deep.include({ error: { code: -32000, message: "hash is not currently canonical" } });
      // A receipt follows the canonical chain: the re-included transaction's is the new block's; the dropped one has none.
      expect((await client.getTransactionReceipt({ hash: orphanedDeposit.transactions[0].hash })).blockHash).to.equal(added[0].hash);
      const dropped = await errorOf(client.getTransactionReceipt({ hash: orphanedTip.transactions[0].hash }));
      expect(dropped.name).to.equal("TransactionReceiptNotFoundError");
      const range = await client.getLogs({ address: ESCROW, fromBlock: 0n, toBlock: "latest" });
      expect(range.map((log) => log.blockHash)).to.deep.equal([added[0].hash]);

      // A shorter branch moves the head back; the block at 6 is then unknown.
      const shorter = chain.reorg(3, [{ txs: [] }]);
      expect(await client.getBlockNumber()).to.equal(4n);
      expect((await client.getBlock({ blockNumber: 4n })).hash).to.equal(shorter.added[0].hash);
      expect(chain.orphanedBranches.map((tip) => tip.hash)).to.deep.equal([orphanedTip.hash, added[2].hash]);
    });
  });

  describe("views", function () {
    /** A chain of 12 blocks, each with one deposit to its own payment (a log in every block). */
    function busyChain(options: Partial<ChainOptions> = {}) {
      const chain = chainFor(options);
      for (let n = 1; n <= 12; n++)
        chain.mine([{ kind: "pay", intent: intent(100 + n, USD("1000")), payer: account(20 + n), token: USDT, amount: USD(String(n)) }]);
      return chain;
    }
    const numbersOf = (logs: readonly { blockNumber: bigint | null }[]) => logs.map((log) => Number(log.blockNumber));

    it("a lagging view: its head k behind, newer blocks unknown, log ranges clamped to its head", async function () {
      const chain = busyChain();
      const view = await chain.serve({ lag: 3 });
      const client = clientOf(view);
      expect(await client.getBlockNumber()).to.equal(9n);
      expect((await client.getBlock({ blockTag: "latest" })).hash).to.equal(chain.block(9)!.hash);
      expect((await errorOf(client.getBlock({ blockNumber: 10n }))).name).to.equal("BlockNotFoundError");
      expect((await errorOf(client.getBlock({ blockHash: chain.block(10)!.hash }))).name).to.equal("BlockNotFoundError");
      expect(numbersOf(await client.getLogs({ address: ESCROW, fromBlock: 5n, toBlock: 12n }))).to.deep.equal(range(5, 9));
      expect(await client.getLogs({ address: ESCROW, fromBlock: 10n, toBlock: 12n })).to.deep.equal([]);
      expect(view.stats.clampedLogRanges).to.equal(2);
      expect(await errorOf(client.getLogs({ blockHash: chain.block(11)!.hash }))).to.have.property("details", "unknown block");
      expect(await errorOf(client.getBalance({ address: ESCROW, blockNumber: 12n }))).to.have.property("details", "header not found");
      chain.mineEmpty(2);
      expect(await client.getBlockNumber()).to.equal(11n);
      view.configure({ lag: 0 });
      expect(await client.getBlockNumber()).to.equal(14n);
    });

    it("a view whose log index lags its headers: no logs for its newest k blocks, until it catches up", async function () {
      const chain = busyChain();
      const view = await chain.serve({ logLag: 2 });
      const client = clientOf(view);
      expect(await client.getBlockNumber()).to.equal(12n);
      expect(numbersOf(await client.getLogs({ address: ESCROW, fromBlock: 1n, toBlock: 12n }))).to.deep.equal(range(1, 10));
      expect(await client.getLogs({ blockHash: chain.block(12)!.hash })).to.deep.equal([]);
      expect(await client.getLogs({ blockHash: chain.block(10)!.hash })).to.have.length(2);
      // The receipts still hold the logs: what the indexer checks a header's bloom against.
      expect((await client.getTransactionReceipt({ hash: chain.block(12)!.transactions[0].hash })).logs).to.have.length(2);
      expect(view.stats.logLagged).to.equal(2);
      chain.mineEmpty(2);
      expect(numbersOf(await client.getLogs({ address: ESCROW, fromBlock: 11n, toBlock: 12n }))).to.deep.equal([11, 12]);
    });

    it("a view on an orphaned branch's headers, and one with canonical headers but the orphaned branch's logs", async function () {
      const chain = busyChain();
      const { orphaned, added } = chain.reorg(4, [{ txs: [] }, { txs: [] }, { txs: [] }, { txs: [] }, { txs: [] }]);
      const tip = orphaned[orphaned.length - 1];
      const stale = clientOf(await chain.serve({ headers: tip.hash }));
      expect(await stale.getBlockNumber()).to.equal(12n);
      expect((await stale.getBlock({ blockTag: "latest" })).hash).to.equal(tip.hash);
      expect((await stale.getBlock({ blockNumber: 9n })).hash).to.equal(orphaned[0].hash);
      expect((await stale.getBlock({ blockNumber: 8n })).hash).to.equal(chain.block(8)!.hash);
      expect(numbersOf(await stale.getLogs({ address: ESCROW, fromBlock: 7n, toBlock: 12n }))).to.deep.equal(range(7, 12));

      const mixed = clientOf(await chain.serve({ logs: tip.hash }));
      expect(await mixed.getBlockNumber()).to.equal(13n);
      expect((await mixed.getBlock({ blockNumber: 9n })).hash).to.equal(added[0].hash);
      const logs = await mixed.getLogs({ address: ESCROW, fromBlock: 7n, toBlock: 13n });
      expect(logs.map((log) => log.blockHash)).to.deep.equal([chain.block(7)!.hash, chain.block(8)!.hash, ...orphaned.map((block) => block.hash)]);
      // By hash too: asked for the canonical block 10, it answers the orphaned block 10's logs.
      expect((await mixed.getLogs({ address: ESCROW, blockHash: added[1].hash })).map((log) => log.blockHash)).to.deep.equal([orphaned[1].hash]);
    });

    it("log faults by range and by hash, each alone: nothing, a seeded subset, another branch's logs; for the next n calls", async function () {
      const chain = busyChain();
      const { orphaned } = chain.reorg(3, [{ txs: [] }, { txs: [] }, { txs: [] }]);
      const view = await chain.serve({ faults: { logsByRange: { kind: "nothing", times: 2 } } });
      const client = clientOf(view);
      const all = () => client.getLogs({ address: ESCROW, fromBlock: 0n, toBlock: 12n });
      expect(await all()).to.deep.equal([]);
      expect(await client.getLogs({ blockHash: chain.block(5)!.hash })).to.have.length(2);
      expect(await all()).to.deep.equal([]);
      expect(numbersOf(await all())).to.deep.equal(range(1, 9));
      expect(view.stats.faults.logsNothing).to.equal(2);

      view.setFaults({ logsByHash: { kind: "nothing" } });
      expect(await client.getLogs({ blockHash: chain.block(5)!.hash })).to.deep.equal([]);
      expect(numbersOf(await all())).to.deep.equal(range(1, 9));

      view.setFaults({ logsByRange: { kind: "subset" } });
      const subset = numbersOf(await all());
      expect(subset.length).to.be.lessThan(9);
      expect(subset.every((n) => n >= 1 && n <= 9)).to.equal(true);
      expect(view.stats.faults.logsSubset).to.equal(1);

      view.setFaults({ logsByRange: { kind: "other-branch" }, logsByHash: { kind: "other-branch" } });
      const other = await all();
      expect(other.map((log) => log.blockHash)).to.deep.equal([...range(1, 9).map((n) => chain.block(n)!.hash), ...orphaned.map((block) => block.hash)]);
      const byHash = await client.getLogs({ address: ESCROW, blockHash: chain.block(11)!.hash });
      expect(byHash.map((log) => log.blockHash)).to.deep.equal([orphaned[1].hash]);
      expect(view.stats.faults.logsOtherBranch).to.equal(2);
      view.setFaults({});
      expect(numbersOf(await all())).to.deep.equal(range(1, 9));
    });

    it("fails a method with a JSON-RPC error or HTTP 503 for the next n calls, and counts what it did", async function () {
      const chain = busyChain();
      const view = await chain.serve({
        faults: {
          failures: [
            { methods: ["eth_blockNumber"], answer: "rpc-error", times: 2, code: -32005, message: "limit exceeded" },
            { methods: ["eth_getLogs"], answer: "http-503", times: 1 },
          ],
        },
      });
      const client = clientOf(view);
      const first = await errorOf(client.getBlockNumber());
      expect(first).to.have.property("details", "limit exceeded");
      await errorOf(client.getBlockNumber({ cacheTime: 0 }));
      expect(await client.getBlockNumber({ cacheTime: 0 })).to.equal(12n);
      const unavailable = await call(view.url, "eth_getLogs", [{ fromBlock: "0x0" }]);
      expect(unavailable.status).to.equal(503);
      expect(unavailable.text).to.equal("Service Temporarily Unavailable");
      expect((await call(view.url, "eth_getLogs", [{ fromBlock: "0x0" }])).status).to.equal(200);
      expect(view.stats.faults).to.deep.include({ rpcErrors: 2, http503: 1 });
      expect(view.faultCount).to.equal(3);
      expect(view.stats.byMethod).to.deep.equal({ eth_blockNumber: 3, eth_getLogs: 2 });
      // Closed, the view refuses connections (a provider that went away).
      await view.close();
      expect(await errorOf(client.getBlockNumber({ cacheTime: 0 }))).to.have.property("name", "HttpRequestError");
    });

    it("gives the same answers for the same seed, and others for another", async function () {
      const chain = busyChain();
      const faults = {
        logsByRange: { kind: "subset", probability: 0.7 },
        logsByHash: { kind: "nothing", probability: 0.5 },
        failures: [{ methods: ["eth_getBlockByNumber"], answer: "rpc-error", probability: 0.3 }],
      } as const;
      const answers = async (seed: number) => {
        const view = await chain.serve({ seed, faults });
        const sequence: unknown[] = [];
        for (let i = 0; i < 12; i++) {
          sequence.push((await call(view.url, "eth_getLogs", [{ fromBlock: "0x1", toBlock: "0xc" }])).json);
          sequence.push((await call(view.url, "eth_getLogs", [{ blockHash: chain.block(1 + i)!.hash }])).json);
          sequence.push((await call(view.url, "eth_getBlockByNumber", [numberToHex(i), false])).json);
        }
        return { sequence, faults: view.faultCount };
      };
      const first = await answers(7);
      const again = await answers(7);
      const other = await answers(8);
      expect(again).to.deep.equal(first);
      expect(first.faults).to.be.greaterThan(10);
      expect(other.sequence).not.to.deep.equal(first.sequence);
    });
  });

  it("builds random histories of hundreds of blocks fast, and its logs replay into the state its reader answers", async function () {
    this.timeout(60_000);
    const started = performance.now();
    let blocks = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const chain = randomHistory(seed, 200);
      blocks += chain.head.number;
      const view = await chain.serve();
      chains.push(chain);
      const client = clientOf(view);
      const logs = await client.getLogs({ address: ESCROW, fromBlock: 0n, toBlock: "latest" });
      const replayed = replay(paymentLogs(logs as Log[]).map((log) => ({ paymentId: log.paymentId, ...log.event }) as ReplayedEvent));
      const ids = [...replayed.keys()] as Hex[];
      const onChain = await readEscrowPayments(client, ESCROW, ids, { blockHash: chain.head.hash });
      ids.forEach((id, i) => {
        const { apart, ...record } = replayed.get(id)!;
        expect({ id, ...onChain[i] }).to.deep.equal({ id, ...record });
        // What it holds apart in its other tokens, from its events alone, is the model's.
        const held = [...apart].filter(([, amount]) => amount !== 0n).sort(([a], [b]) => (a < b ? -1 : 1));
        expect({ id, held }).to.deep.equal({ id, held: heldApart(paymentOf(chain.head.state, id)).map(({ token, amount }) => [token, amount]) });
      });
      // A payment that only ever had strays returned has no record, and the reader answers it as none.
      for (const id of ids) expect(paymentOf(chain.head.state, id)?.amount ?? 0n).to.equal(replayed.get(id)!.amount);
      await view.close();
    }
    const seconds = (performance.now() - started) / 1000;
    expect(blocks).to.be.greaterThan(12 * 150);
    // Generous: the point is hundreds of histories in a test run, not a benchmark.
    expect(seconds).to.be.lessThan(30);
  });
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const clientUrl = (client: PublicClient) => (client.transport as unknown as { url: string }).url;

type ReplayedEvent = { paymentId: Hex; kind: string; token?: Address; amount?: bigint; receivedUsd?: bigint; refundedTotal?: bigint; payer?: Address };
type Replayed = { status: string; token: Address; amount: bigint; receivedUsd: bigint; refunded: bigint };

/**
 * What the escrow's record of each payment must be after these events, and what it holds apart in its other tokens:
 * the status machine's view, in miniature. Each token adds up apart; the record keeps the first deposit's token until
 * another token completes the payment, whose deposits it then holds, the first token's being held apart.
 */
function replay(events: readonly ReplayedEvent[]): Map<string, Replayed & { apart: Map<Address, bigint> }> {
  const payments = new Map<string, Replayed & { apart: Map<Address, bigint> }>();
  for (const event of events) {
    const payment = payments.get(event.paymentId) ?? {
      status: "none",
      token: zeroAddress,
      amount: 0n,
      receivedUsd: 0n,
      refunded: 0n,
      apart: new Map<Address, bigint>(),
    };
    const inRecord = payment.status === "none" || lower(payment.token) === lower(event.token ?? "");
    const apart = (token: Address) => payment.apart.get(lower(token) as Address) ?? 0n;
    const setApart = (token: Address, amount: bigint) => payment.apart.set(lower(token) as Address, amount);
    switch (event.kind) {
      case "deposited":
        if (inRecord) {
          payment.status = "open";
          payment.token = event.token!;
          payment.amount += event.amount!;
          payment.receivedUsd = event.receivedUsd!;
        } else setApart(event.token!, apart(event.token!) + event.amount!);
        break;
      case "completed":
        if (!inRecord) {
          // The other token paid it: what it held in that token is now the record's, the record's goes apart.
          setApart(payment.token, apart(payment.token) + payment.amount);
          payment.amount = apart(event.token!);
          setApart(event.token!, 0n);
        }
        payment.status = "completed";
        payment.token = event.token!;
        payment.amount += event.amount!;
        payment.receivedUsd = event.receivedUsd!;
        break;
      case "expired":
        payment.status = "expired";
        break;
      case "deposit_refunded":
        if (!inRecord) setApart(event.token!, apart(event.token!) - event.amount!);
        break;
      case "refunded":
        payment.refunded = event.refundedTotal!;
        payment.status = payment.refunded === payment.amount ? "refunded" : "partially_refunded";
        break;
    }
    payments.set(event.paymentId, payment);
  }
  return payments;
}

/** A seeded random history: payments paid in several tokens, underpaid, collected, expired, refunded and strays, with reorgs. */
function randomHistory(seed: number, length: number): SimulatedChain {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const chain = newChain();
  const allowed = [USDT, USDC, BNB];
  const intents = Array.from({ length: 30 }, (_, i) =>
    intent(1000 + i, USD(String(10 + Math.floor(random() * 90))), {
      expiry: GENESIS + BigInt(30 + Math.floor(random() * 600)),
      refundTo: random() < 0.5 ? zeroAddress : account(900 + i),
      // Mostly all three, else a random non-empty subset.
      accepts: random() < 0.5 ? allowed : ((subset) => (subset.length > 0 ? subset : [pick(allowed)]))(allowed.filter(() => random() < 0.5)),
    }),
  );
  const payers = Array.from({ length: 5 }, (_, i) => account(40 + i));
  const tokens = [USDT, USDC, BNB, CAKE];
  const action = (): ChainTransaction => {
    const target = pick(intents);
    const token = pick(tokens);
    const amount = USD(String(1 + Math.floor(random() * 60)));
    switch (pick(["pay", "pay", "transfer", "transfer", "collect", "expire", "refund", "refundDepositAddress", "returnStray"] as const)) {
      case "pay": {
        const beneficiary = random() < 0.2 ? { beneficiary: pick(payers) } : {};
        return {
          kind: "pay",
          intent: target,
          payer: pick(payers),
          token: token === CAKE ? pick([USDT, USDC]) : token,
          amount: token === BNB ? amount / 600n : amount,
          ...beneficiary,
        };
      }
      case "transfer":
        return token === BNB
          ? { kind: "sendNative", to: target.depositAddress, amount: amount / 600n }
          : { kind: "transfer", token, from: pick(payers), to: target.depositAddress, amount };
      case "collect":
        return { kind: "collect", intent: target, token, byOperator: random() < 0.8 };
      case "expire":
        return { kind: "expire", intent: target, token, payers: [...payers, target.depositAddress], byOperator: random() < 0.8 };
      case "refund":
        return { kind: "refund", paymentId: target.paymentId, to: pick(payers), amount: amount / 4n };
      case "refundDepositAddress":
        return { kind: "refundDepositAddress", intent: target, token, to: pick(payers), amount: amount / 4n };
      case "returnStray":
        return { kind: "returnStray", intent: target, token, to: pick(payers) };
    }
  };
  const block = () => ({ txs: Array.from({ length: Math.floor(random() * 4) }, action) });
  while (chain.head.number < length) {
    if (random() < 0.05 && chain.head.number > 5) {
      const depth = 1 + Math.floor(random() * 5);
      chain.reorg(depth, Array.from({ length: 1 + Math.floor(random() * 6) }, block));
    } else chain.mine(block().txs);
  }
  return chain;
}

/**
 * The model against the contract: the same script of actions, at the same timestamps, on OpenPayEscrow deployed on
 * Hardhat's chain (local Ignition module: 18-decimal test tokens, Chainlink mocks at $1, $0.9998 and $600) and on a
 * simulated chain with the same addresses and prices. Each action must succeed or revert alike (with the contract's
 * error name), emit the same logs byte for byte, and leave the same payments and balances.
 */
describe("simulated chain against the real escrow", function () {
  const provider = hre.network.provider;
  const real = createPublicClient({ transport: custom(provider), cacheTime: 0 }) as PublicClient;
  let snapshot = "";
  let deploymentsDir = "";

  before(async function () {
    snapshot = (await provider.send("evm_snapshot", [])) as string;
    deploymentsDir = mkdtempSync(path.join(tmpdir(), "open-pay-simulated-"));
  });
  after(async function () {
    await provider.send("evm_revert", [snapshot]);
    rmSync(deploymentsDir, { recursive: true, force: true });
  });

  it("the model emits the contract's logs, reverts where it reverts, and ends in its state", async function () {
    const { record } = await deployOpenPay(hre, { deploymentsDir, displayUi: false }, () => undefined);
    const usdt = record.tokens.USDT.address;
    const usdc = record.tokens.USDC.address;
    // Each token's own tolerance, as deployed (stablecoins far tighter than BNB).
    const tolerances = new Map<Address, number>();
    // Each token's index, its bit in an intent's acceptedTokens.
    const indexes = new Map<Address, number>();
    for (const { address } of Object.values(record.tokens)) {
      const config = await real.readContract({ address: record.escrow, abi: openPayEscrowAbi, functionName: "tokenConfigOf", args: [address] });
      tolerances.set(address, config.toleranceBps);
      indexes.set(address, config.index);
    }
    const merchant = record.demoMerchant!.merchant;
    const signers = await hre.ethers.getSigners();
    const operator = getAddress(signers[LOCAL_ACCOUNTS.operator].address);
    const customer = getAddress(signers[LOCAL_ACCOUNTS.customer].address);
    const stranger = getAddress(signers[7].address);
    const signer = new IntentSigner(hardhatAccountKey(LOCAL_ACCOUNTS.intentSigner), { chainId: record.chainId, escrow: record.escrow });
    const send = async (from: Address, to: Address, data: Hex, value = 0n) => {
      try {
        await provider.send("eth_sendTransaction", [{ from, to, data, value: numberToHex(value), gas: numberToHex(3_000_000) }]);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    };
    const mint = parseAbi(["function mint(address to, uint256 amount)"]);
    for (const token of [usdt, usdc]) {
      await send(customer, token, encodeFunctionData({ abi: mint, functionName: "mint", args: [customer, USD("10000")] }));
      await send(customer, token, encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [record.escrow, USD("10000")] }));
    }
    const start = (await real.getBlock()).timestamp + 100n;

    const signatures = new Map<Hex, Hex>();
    const paymentIntent = async (
      n: number,
      amountUsd: bigint,
      expiresIn: bigint,
      refundTo: Address = zeroAddress,
      accepts: readonly Address[] = [usdt, usdc, BNB],
    ): Promise<Intent> => {
      const terms = {
        paymentId: concat([merchant, numberToHex(n, { size: 12 })]),
        merchant,
        amountUsd,
        expiry: start + expiresIn,
        refundTo,
        acceptedTokens: acceptedMask(indexes, accepts),
      };
      signatures.set(terms.paymentId, signer.sign(terms).signature);
      const depositAddress = await real.readContract({ address: record.escrow, abi: openPayEscrowAbi, functionName: "depositAddressOf", args: [terms] });
      return { ...terms, depositAddress };
    };
    const receivers = [account(801), account(802), account(803)] as const;
    const [r1, r2, r3] = receivers;
    const paid = await paymentIntent(1, USD("100"), 1000n);
    const native = await paymentIntent(2, USD("600"), 300n);
    const collectedWithRefundTo = await paymentIntent(3, USD("50"), 300n, r1);
    const collected = await paymentIntent(4, USD("50"), 300n);
    const lateCollect = await paymentIntent(5, USD("20"), 300n);
    const withinTolerance = await paymentIntent(6, USD("100"), 300n);
    const overpaidInBnb = await paymentIntent(7, USD("300"), 300n);
    const onlyUsdt = await paymentIntent(8, USD("10"), 300n, zeroAddress, [usdt]);
    const switched = await paymentIntent(9, USD("100"), 300n, zeroAddress, [usdt, BNB]);
    // More than the escrow's 24-hour time to live away at its first deposit.
    const tooFar = await paymentIntent(10, USD("10"), 25n * 3600n);
    const dusted = await paymentIntent(11, USD("20"), 300n);
    const intents = [paid, native, collectedWithRefundTo, collected, lateCollect, withinTolerance, overpaidInBnb, onlyUsdt, switched, tooFar, dusted];

    const byOperator = { byOperator: true } as const;
    const script: Array<[seconds: bigint, ChainTransaction, outcome: string]> = [
      [10n, { kind: "pay", intent: paid, payer: customer, token: usdt, amount: USD("40") }, "ok"],
      // Another accepted token adds up apart: the payment stays a USDT payment.
      [20n, { kind: "pay", intent: paid, payer: customer, token: usdc, amount: USD("10") }, "ok"],
      [30n, { kind: "pay", intent: paid, payer: customer, token: usdt, amount: USD("70") }, "ok"],
      // Recorded for the beneficiary the caller names (r3), who alone gets it back.
      [40n, { kind: "pay", intent: native, payer: customer, token: BNB, amount: USD("0.5"), beneficiary: r3 }, "ok"],
      [50n, { kind: "transfer", token: usdc, from: customer, to: collectedWithRefundTo.depositAddress, amount: USD("20") }, "ok"],
      [60n, { kind: "collect", intent: collectedWithRefundTo, token: usdc, ...byOperator }, "ok"],
      [70n, { kind: "transfer", token: usdt, from: customer, to: collected.depositAddress, amount: USD("10") }, "ok"],
      [80n, { kind: "collect", intent: collected, token: usdt, ...byOperator }, "ok"],
      [85n, { kind: "pay", intent: collected, payer: customer, token: BNB, amount: USD("0.01") }, "ok"],
      [90n, { kind: "collect", intent: collected, token: usdt, ...byOperator }, "NothingToCollect"],
      // USDT paid it: USDC's deposit is not the merchant's, and goes back; USDT's is.
      [95n, { kind: "expire", intent: paid, token: usdt, payers: [customer], byOperator: false }, "NotRefundable"],
      [96n, { kind: "expire", intent: paid, token: usdc, payers: [customer], byOperator: false }, "ok"],
      [100n, { kind: "refund", paymentId: paid.paymentId, to: r3, amount: USD("30") }, "ok"],
      [110n, { kind: "transfer", token: usdc, from: customer, to: paid.depositAddress, amount: USD("5") }, "ok"],
      [115n, { kind: "returnStray", intent: collected, token: usdt, to: r2, ...byOperator }, "DepositCollectable"],
      [120n, { kind: "returnStray", intent: paid, token: usdc, to: r3, ...byOperator }, "ok"],
      [130n, { kind: "pay", intent: lateCollect, payer: customer, token: usdt, amount: USD("5") }, "ok"],
      [135n, { kind: "transfer", token: usdt, from: customer, to: lateCollect.depositAddress, amount: USD("25") }, "ok"],
      // Only dust waits at this one's deposit address: it holds nobody's expiry back.
      [136n, { kind: "pay", intent: dusted, payer: customer, token: usdt, amount: USD("5") }, "ok"],
      [137n, { kind: "transfer", token: usdt, from: customer, to: dusted.depositAddress, amount: 1n }, "ok"],
      [138n, { kind: "sendNative", to: dusted.depositAddress, amount: 1n }, "ok"],
      // Within USDT's own 0.2% tolerance as deployed (99.00 would leave it open).
      [140n, { kind: "pay", intent: withinTolerance, payer: customer, token: usdt, amount: USD("99.85") }, "ok"],
      [145n, { kind: "pay", intent: overpaidInBnb, payer: customer, token: BNB, amount: USD("0.6") }, "ok"],
      [150n, { kind: "pay", intent: onlyUsdt, payer: customer, token: usdc, amount: USD("10") }, "TokenNotAccepted"],
      [155n, { kind: "pay", intent: tooFar, payer: customer, token: usdt, amount: USD("10") }, "ExpiryTooFar"],
      // Part paid in USDT, then BNB at the deposit address and BNB paid in full: BNB pays it, USDT's deposit goes back.
      [160n, { kind: "pay", intent: switched, payer: customer, token: usdt, amount: USD("40") }, "ok"],
      [165n, { kind: "sendNative", to: switched.depositAddress, amount: USD("0.01") }, "ok"],
      [170n, { kind: "collect", intent: switched, token: usdc, ...byOperator }, "NothingToCollect"],
      [175n, { kind: "collect", intent: switched, token: BNB, byOperator: false }, "ok"],
      [180n, { kind: "pay", intent: switched, payer: customer, token: BNB, amount: USD("0.2") }, "ok"],
      [185n, { kind: "refundDepositAddress", intent: switched, token: BNB, to: r2, amount: USD("0.01"), ...byOperator }, "NotRefundable"],
      [190n, { kind: "expire", intent: switched, token: usdt, payers: [customer], byOperator: false }, "ok"],
      [310n, { kind: "pay", intent: native, payer: customer, token: BNB, amount: USD("1") }, "DepositAfterExpiry"],
      [320n, { kind: "expire", intent: lateCollect, token: usdt, payers: [customer], byOperator: false }, "LateCollectPending"],
      [322n, { kind: "expire", intent: dusted, token: usdt, payers: [customer], byOperator: false }, "ok"],
      [325n, { kind: "collect", intent: lateCollect, token: usdt, byOperator: false }, "DepositAfterExpiry"],
      [330n, { kind: "collect", intent: lateCollect, token: usdt, ...byOperator }, "ok"],
      [340n, { kind: "expire", intent: native, token: BNB, payers: [customer], ...byOperator }, "ok"],
      [345n, { kind: "expire", intent: native, token: BNB, payers: [customer, r3], ...byOperator }, "ok"],
      [350n, { kind: "expire", intent: collectedWithRefundTo, token: usdc, payers: [collectedWithRefundTo.depositAddress], ...byOperator }, "ok"],
      [360n, { kind: "expire", intent: collected, token: usdt, payers: [collected.depositAddress, customer], ...byOperator }, "ok"],
      [362n, { kind: "expire", intent: collected, token: BNB, payers: [collected.depositAddress, customer], byOperator: false }, "ok"],
      [365n, { kind: "refundDepositAddress", intent: collected, token: usdt, to: r2, amount: USD("11"), ...byOperator }, "RefundExceedsDeposit"],
      [370n, { kind: "refundDepositAddress", intent: collected, token: usdt, to: r2, amount: USD("10"), ...byOperator }, "ok"],
      [380n, { kind: "refund", paymentId: paid.paymentId, to: r3, amount: USD("80") }, "ok"],
      [390n, { kind: "refund", paymentId: paid.paymentId, to: r3, amount: 1n }, "InvalidPaymentStatus"],
      [400n, { kind: "sendNative", to: collectedWithRefundTo.depositAddress, amount: USD("0.01") }, "ok"],
      [410n, { kind: "returnStray", intent: collectedWithRefundTo, token: BNB, to: r1, ...byOperator }, "ok"],
    ];

    const simulated = SimulatedChain.create({
      chainId: record.chainId,
      escrow: record.escrow,
      tokens: [usdt, usdc],
      prices: new Map([
        [usdt, USD("1")],
        [usdc, USD("0.9998")],
        [BNB, USD("600")],
      ]),
      tokenIndexes: indexes,
      toleranceBps: new Map(Object.values(record.tokens).map(({ address }) => [address, tolerances.get(address)!])),
      genesisTimestamp: start,
      operator,
    });
    const senders = { operator, anyone: stranger, faucet: customer };
    const outcomes: string[] = [];
    for (const [seconds, transaction] of script) {
      const timestamp = start + seconds;
      await provider.send("evm_setNextBlockTimestamp", [Number(timestamp)]);
      const { from, to, value } = transactionParties(transaction, record.escrow, senders);
      const failure = await send(
        from,
        to,
        transactionInput(transaction, (intent) => signatures.get(intent.paymentId)!),
        value,
      );
      const block = await real.getBlock({ includeTransactions: false });
      expect(block.timestamp).to.equal(timestamp);
      const receipt = await real.getTransactionReceipt({ hash: block.transactions[0] });
      const model = simulated.mine([transaction], { timestamp }).transactions[0];
      const step = `${transaction.kind} at +${seconds}s`;
      expect(receipt.status, `${step}: ${failure ?? "succeeded"} / model: ${model.revertReason ?? "succeeded"}`).to.equal(
        model.revertReason ? "reverted" : "success",
      );
      if (model.revertReason) expect(failure, step).to.include(`reverted with custom error '${model.revertReason}(`);
      const logsOf = (logs: readonly { address: string; topics: readonly string[]; data: string }[]) =>
        logs.map((log) => ({ address: lower(log.address), topics: log.topics.map(lower), data: lower(log.data) }));
      expect(logsOf(receipt.logs), step).to.deep.equal(logsOf(model.logs));
      outcomes.push(model.revertReason ?? "ok");
    }
    // The script reaches every kind of event and the reverts the indexer meets.
    expect(outcomes).to.deep.equal(script.map(([, , outcome]) => outcome));

    // What each payer can still get back, token by token, as the escrow's depositOf says.
    const payers = [customer, r3, ...intents.map((intent) => intent.depositAddress)];
    for (const intent of intents) {
      for (const token of [usdt, usdc, BNB]) {
        for (const payer of payers) {
          const args = [intent.paymentId, token, payer] as const;
          const onChain = await real.readContract({ address: record.escrow, abi: openPayEscrowAbi, functionName: "depositOf", args });
          expect(depositOf(paymentOf(simulated.head.state, intent.paymentId), token, payer), `depositOf(${args.join(", ")})`).to.equal(onChain);
        }
      }
    }

    const view = await simulated.serve();
    try {
      const sim = clientOf(view);
      const ids = intents.map((intent) => intent.paymentId);
      const realHead = { blockHash: (await real.getBlock()).hash! };
      const simHead = { blockHash: simulated.head.hash };
      expect(await readEscrowPayments(sim, record.escrow, ids, simHead)).to.deep.equal(await readEscrowPayments(real, record.escrow, ids, realHead));
      const holders = [...intents.map((intent) => intent.depositAddress), ...receivers, record.escrow];
      const tokens = [usdt, usdc, BNB];
      expect(await readBalances(sim, holders, tokens, simHead)).to.deep.equal(await readBalances(real, holders, tokens, realHead));
      expect((await readEscrowPayments(sim, record.escrow, ids, simHead)).map((payment) => payment.status)).to.deep.equal([
        "refunded",
        "expired",
        "expired",
        "expired",
        "completed",
        "completed",
        "completed",
        "none",
        "completed",
        "none",
        "expired",
      ]);
    } finally {
      await view.close();
    }
  });
});
