import { expect } from "chai";
import fc from "fast-check";
import { zeroAddress, type Address, type Hex } from "viem";
import type { BlockHeader } from "../chain/blockHeaders";
import { NATIVE_ARRIVAL_LOG_INDEX, type ChainPaymentEvent } from "../payments/paymentEvents";
import type { WatchedPayment } from "../store/paymentStore";
import type { PaymentLog } from "./escrowLogs";
import { nativeArrivals } from "./nativeArrivals";

const ID = `0x${"11".repeat(32)}` as Hex;
const DEPOSIT = `0x${"22".repeat(20)}` as Address;
const USDT = `0x${"33".repeat(20)}` as Address;
const header = (number: number): BlockHeader => ({
  number,
  hash: `0x${number.toString(16).padStart(64, "0")}` as Hex,
  parentHash: "0x" as Hex,
  timestamp: 1_000n + BigInt(number),
  logsBloom: "0x" as Hex,
});
const headers = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => header(from + i));
const watched = (changes: Partial<WatchedPayment> = {}): WatchedPayment => ({
  id: ID,
  depositAddress: DEPOSIT,
  status: "initiated",
  expiry: 5_000n,
  takesNative: true,
  nativeWaiting: 0n,
  ...changes,
});

/** A collect of BNB from the deposit address (it sweeps all of it) in `block`. */
const collect = (block: number, amount: bigint, kind: "deposited" | "completed" = "deposited"): PaymentLog => ({
  paymentId: ID,
  blockHash: header(block).hash,
  event: {
    kind,
    position: { blockNumber: block, logIndex: 0 },
    transactionHash: `0x${"44".repeat(32)}`,
    payer: DEPOSIT,
    token: zeroAddress,
    amount,
    valueUsd: 1n,
    receivedUsd: 1n,
    ...(kind === "completed" ? { excessUsd: 0n, fee: 0n } : { remainingUsd: 1n }),
  } as ChainPaymentEvent,
});

/** A chain whose deposit address holds `balance(block)` at the end of each block; `pruned` blocks' state is gone. */
function chain(balance: (block: number) => bigint, pruned: (block: number) => boolean = () => false) {
  const reads: number[] = [];
  const at = async (addresses: readonly Address[], block: BlockHeader) => {
    reads.push(block.number);
    if (pruned(block.number)) throw new Error("missing trie node");
    return addresses.map(() => balance(block.number));
  };
  return { at, reads };
}

const found = (logs: PaymentLog[]) =>
  logs.map(({ event }) => {
    if (event.kind !== "deposit_address_funded") throw new Error(`not an arrival: ${event.kind}`);
    return { block: event.position.blockNumber, amount: event.amount, dated: event.timestamp !== null };
  });

describe("BNB arrivals at deposit addresses, seen by balance", function () {
  it("finds each rise at the block it happened, as following block by block would", async function () {
    // 5 wei at block 13, 7 more at block 17, in a segment of blocks 10..20.
    const { at } = chain((block) => (block >= 17 ? 12n : block >= 13 ? 5n : 0n));
    const arrivals = await nativeArrivals(headers(10, 20), [watched()], [], at);
    expect(found(arrivals)).to.deep.equal([
      { block: 13, amount: 5n, dated: true },
      { block: 17, amount: 7n, dated: true },
    ]);
    expect(arrivals[0].event.position.logIndex).to.equal(NATIVE_ARRIVAL_LOG_INDEX);
    expect(arrivals[0].event).to.include({ timestamp: 1_013n, transactionHash: null, sender: zeroAddress, token: zeroAddress });
  });

  it("finds BNB that arrived and was collected within the same range", async function () {
    // 9 wei at block 12, swept by a collect in block 15 (which completes the payment); nothing left at the end.
    const { at } = chain((block) => (block >= 12 && block < 15 ? 9n : 0n));
    const arrivals = await nativeArrivals(headers(10, 20), [watched()], [collect(15, 9n, "completed")], at);
    expect(found(arrivals)).to.deep.equal([{ block: 12, amount: 9n, dated: true }]);
  });

  it("counts what it already knew waited there, and what a sweep took", async function () {
    // 4 wei known to wait before the segment, 3 more at block 11, all swept at block 14, then 6 at block 18.
    const { at } = chain((block) => (block >= 18 ? 6n : block >= 14 ? 0n : block >= 11 ? 7n : 4n));
    const arrivals = await nativeArrivals(headers(10, 20), [watched({ nativeWaiting: 4n })], [collect(14, 7n)], at);
    expect(found(arrivals)).to.deep.equal([
      { block: 11, amount: 3n, dated: true },
      { block: 18, amount: 6n, dated: true },
    ]);
  });

  it("reads nothing for a payment not open to BNB", async function () {
    const { at, reads } = chain(() => 5n);
    expect(await nativeArrivals(headers(10, 20), [watched({ takesNative: false })], [], at)).to.deep.equal([]);
    expect(reads).to.deep.equal([]);
  });

  it("dates BNB that arrived before a deposit in another token: each accepted token adds up apart", async function () {
    const { at } = chain((block) => (block >= 11 ? 5n : 0n));
    const usdt: PaymentLog = { ...collect(12, 1n), event: { ...collect(12, 1n).event, token: USDT, payer: `0x${"55".repeat(20)}` } as ChainPaymentEvent };
    expect(found(await nativeArrivals(headers(10, 20), [watched()], [usdt], at))).to.deep.equal([{ block: 11, amount: 5n, dated: true }]);
  });

  it("records an arrival it cannot date (its block's state is pruned) undated at the stretch's end", async function () {
    const { at } = chain(
      (block) => (block >= 13 ? 5n : 0n),
      (block) => block < 20,
    );
    expect(found(await nativeArrivals(headers(10, 20), [watched()], [], at))).to.deep.equal([{ block: 20, amount: 5n, dated: false }]);
  });

  it("finds every rise with a number of reads that grows with the rises, not the blocks", async function () {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 0, max: 199 }), { maxLength: 4 }), async (rises) => {
        const sorted = [...rises].sort((a, b) => a - b);
        const { at, reads } = chain((block) => BigInt(sorted.filter((rise) => rise + 100 <= block).length));
        const arrivals = await nativeArrivals(headers(100, 299), [watched()], [], at);
        expect(found(arrivals)).to.deep.equal(sorted.map((rise) => ({ block: rise + 100, amount: 1n, dated: true })));
        expect(reads.length).to.be.at.most(1 + sorted.length * 8);
      }),
    );
  });
});
