import hre from "hardhat";
import { createPublicClient, custom, numberToHex, parseGwei, zeroAddress, type Address, type Hex } from "viem";
import { openPayEscrowAbi } from "../../../src/chain/escrowAbi";
import { ESCROW_STATUSES } from "../../../src/payments/settlement";
import type { EscrowRecord, Held } from "./escrowOutcome";
import type { TruthChain } from "./historyRunner";
import type { Intent } from "../simulatedChain/modelEscrow";
import { transactionParties, type ChainTransaction, type Senders, type SimulatedBlock } from "../simulatedChain/simulatedBlock";
import type { SimulatedChain } from "../simulatedChain/simulatedChain";
import { transactionInput } from "../simulatedChain/transactionInput";

const provider = () => hre.network.provider;

/**
 * Hardhat's chain (automine off) driven block by block, with a simulated chain as its shadow: every block is mined on
 * both with the same transactions at the same time, so that the history runner can judge its steps on the shadow's
 * model, and every transaction must succeed or revert alike on both (else the shadow is no guide and the run stops).
 * A reorganisation reverts Hardhat to the snapshot taken after the common ancestor (one is kept per block) and
 * mines the new branch.
 */
export class HardhatTruthChain implements TruthChain {
  /** Snapshot ids by the shadow's block number, each taken just after that block. */
  private readonly snapshots = new Map<number, string>();

  private constructor(
    readonly model: SimulatedChain,
    /** Hardhat's block number of the shadow's block 0. */
    readonly base: number,
    private readonly escrow: Address,
    private readonly senders: Senders,
    private readonly signatureOf: (intent: Intent) => Hex,
  ) {}

  /** Starts at Hardhat's head, which is the shadow's genesis (`model` must be created at its timestamp). */
  static async start(model: SimulatedChain, escrow: Address, senders: Senders, signatureOf: (intent: Intent) => Hex): Promise<HardhatTruthChain> {
    await provider().send("evm_setAutomine", [false]);
    const base = Number(await provider().send("eth_blockNumber", []));
    const chain = new HardhatTruthChain(model, base, escrow, senders, signatureOf);
    chain.snapshots.set(0, (await provider().send("evm_snapshot", [])) as string);
    return chain;
  }

  async mine(transactions: readonly ChainTransaction[], timestamp: bigint): Promise<void> {
    const hashes = await this.mineOnHardhat(transactions, timestamp);
    await this.check(this.model.mine(transactions, { timestamp }), hashes);
  }

  async reorg(depth: number, transactions: readonly ChainTransaction[], timestamp: bigint): Promise<void> {
    const ancestor = this.model.head.number - depth;
    // Reverting deletes that snapshot and every later one: the ancestor's is taken again.
    await provider().send("evm_revert", [this.snapshots.get(ancestor)!]);
    for (const number of [...this.snapshots.keys()]) if (number >= ancestor) this.snapshots.delete(number);
    this.snapshots.set(ancestor, (await provider().send("evm_snapshot", [])) as string);
    const hashes = await this.mineOnHardhat(transactions, timestamp);
    await this.check(this.model.reorg(depth, [{ txs: transactions, timestamp }]).added[0], hashes);
  }

  /** Sends `transactions` and mines them in one block at `timestamp`; returns their hashes. */
  private async mineOnHardhat(transactions: readonly ChainTransaction[], timestamp: bigint): Promise<Hex[]> {
    const hashes: Hex[] = [];
    for (const [i, transaction] of transactions.entries()) {
      const { from, to, value } = transactionParties(transaction, this.escrow, this.senders);
      hashes.push(
        (await provider().send("eth_sendTransaction", [
          {
            from,
            to,
            data: transactionInput(transaction, this.signatureOf),
            value: numberToHex(value),
            gas: numberToHex(3_000_000),
            // A falling gas price keeps the block's transactions in the order given.
            gasPrice: numberToHex(parseGwei(String(1_000 - i))),
          },
        ])) as Hex,
      );
    }
    await provider().send("evm_setNextBlockTimestamp", [Number(timestamp)]);
    await provider().send("evm_mine", []);
    return hashes;
  }

  /** Hardhat's new head is the shadow's `block`: its number, its transactions in order, each succeeding or reverting alike. */
  private async check(block: SimulatedBlock, hashes: readonly Hex[]): Promise<void> {
    const mined = (await provider().send("eth_getBlockByNumber", ["latest", false])) as { number: Hex; transactions: Hex[] };
    if (Number(mined.number) !== this.base + block.number || mined.transactions.join() !== hashes.join()) {
      throw new Error(
        `Hardhat mined block ${Number(mined.number)} with [${mined.transactions.join(", ")}], not shadow block ${block.number} with [${hashes.join(", ")}]`,
      );
    }
    for (const [i, hash] of hashes.entries()) {
      const receipt = (await provider().send("eth_getTransactionReceipt", [hash])) as { status: Hex };
      const shadow = block.transactions[i].revertReason;
      if ((receipt.status === "0x1") !== (shadow === undefined)) {
        throw new Error(
          `${block.transactions[i].action.kind} in block ${Number(mined.number)}: Hardhat ${receipt.status === "0x1" ? "succeeded" : "reverted"}, the shadow ${
            shadow ?? "succeeded"
          }`,
        );
      }
    }
    this.snapshots.set(block.number, (await provider().send("evm_snapshot", [])) as string);
  }

  /**
   * The escrow's own record of a payment at Hardhat's head: `paymentOf` (with its token), `refundedOf`, and what
   * `depositOf` says `depositors` still have in `tokens` other than the record's.
   */
  async recordOf(paymentId: Hex, tokens: readonly Address[], depositors: readonly Address[]): Promise<EscrowRecord> {
    const client = createPublicClient({ transport: custom(provider()) });
    const read = <T>(functionName: string, args: readonly unknown[]) =>
      client.readContract({ address: this.escrow, abi: openPayEscrowAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
    const payment = await read<{ status: number; tokenIndex: number; amount: bigint; receivedUsd: bigint }>("paymentOf", [paymentId]);
    const token = payment.status === 0 ? zeroAddress : await read<Address>("tokenAt", [payment.tokenIndex]);
    const otherDeposits: Held[] = [];
    for (const other of tokens) {
      if (payment.status === 0 || other.toLowerCase() === token.toLowerCase()) continue;
      let amount = 0n;
      for (const depositor of depositors) amount += await read<bigint>("depositOf", [paymentId, other, depositor]);
      if (amount > 0n) otherDeposits.push({ token: other.toLowerCase(), amount });
    }
    return {
      status: ESCROW_STATUSES[payment.status],
      token,
      amount: payment.amount,
      receivedUsd: payment.receivedUsd,
      refunded: await read<bigint>("refundedOf", [paymentId]),
      otherDeposits: otherDeposits.sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0)),
    };
  }

  /** Back to before the history; automine on again. */
  async end(): Promise<void> {
    await provider().send("evm_revert", [this.snapshots.get(0)!]);
    await provider().send("evm_setAutomine", [true]);
  }
}
