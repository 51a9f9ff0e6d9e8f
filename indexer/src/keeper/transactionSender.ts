import { keccak256, type Account, type Address, type Hex, type PublicClient, type WalletClient } from "viem";

/** A replacement must pay at least 10% more to be accepted by nodes; 25% leaves room for rounding and rises. */
export const BUMP_PERCENT = 125n;

/** Gas of a plain transfer: what a no-op taking a nonce costs. */
const TRANSFER_GAS = 21_000n;

export interface SignedTransaction {
  hash: Hex;
  /** The signed bytes: what is broadcast, and broadcast again if the chain drops it. */
  raw: Hex;
  nonce: number;
  gasPrice: bigint;
}

/**
 * Signs and sends the keeper's transactions from one operator account with its own nonce counter (no wait for
 * each transaction to be mined before the next). A transaction is signed first and broadcast after (the caller
 * records it in between, so that whatever happens to the broadcast, the keeper knows the transaction it may have
 * sent). Gas is estimated first, so a call the escrow would refuse is reported, not signed. Replacements (a stuck
 * transaction at a higher gas price, or a no-op taking the nonce of one no longer wanted) keep the nonce.
 */
export class TransactionSender {
  private next?: number;

  constructor(
    private readonly client: PublicClient,
    private readonly wallet: WalletClient,
    readonly account: Account,
  ) {}

  get address(): Address {
    return this.account.address;
  }

  /**
   * Sets the next nonce from the node's pending count, never below `floor` (one above the highest nonce the
   * keeper's unsettled transactions hold, which a node that dropped them does not count) and never reusing one the
   * chain has: a nonce the chain no longer counts is filled again by the transaction that holds it.
   */
  async sync(floor = 0): Promise<number> {
    const pending = await this.client.getTransactionCount({ address: this.account.address, blockTag: "pending" });
    this.next = Math.max(pending, floor);
    return this.next;
  }

  /** Takes the next nonce; the caller records it before signing, so a crash never loses track of it. */
  async reserveNonce(): Promise<number> {
    if (this.next === undefined) await this.sync();
    return this.next!++;
  }

  /** Gives back a nonce that was reserved but not used, when it is the latest one reserved. */
  release(nonce: number): void {
    if (this.next === nonce + 1) this.next = nonce;
  }

  /**
   * Nonces the chain has mined for the account (up to `blockNumber`, or the latest block): below this, every nonce
   * of ours is taken by some transaction.
   */
  minedNonce(blockNumber?: number): Promise<number> {
    return blockNumber === undefined
      ? this.client.getTransactionCount({ address: this.account.address, blockTag: "latest" })
      : this.client.getTransactionCount({ address: this.account.address, blockNumber: BigInt(blockNumber) });
  }

  /**
   * Estimates and signs a call (nothing is broadcast). A replacement is estimated against the mined state: in the
   * pending one, the transaction it replaces has already done the work and the call would revert.
   */
  async sign(to: Address, data: Hex, nonce: number, gasPrice?: bigint, replacing = false): Promise<SignedTransaction> {
    const gas = await this.client.estimateGas({ account: this.account, to, data, ...(replacing && { blockTag: "latest" as const }) });
    const price = gasPrice ?? (await this.client.getGasPrice());
    return this.signed({ to, data, nonce, gas: (gas * 12n) / 10n, gasPrice: price });
  }

  /** The same call with the same nonce at a higher gas price, to replace a transaction that is stuck. */
  async bump(to: Address, data: Hex, nonce: number, previousGasPrice: bigint): Promise<SignedTransaction> {
    return this.sign(to, data, nonce, await this.bumpedPrice(previousGasPrice), true);
  }

  /**
   * A no-op (nothing sent to the operator account itself) with `nonce`, at a higher gas price than
   * `previousGasPrice`: once mined, the transaction that had the nonce can never be.
   */
  async cancel(nonce: number, previousGasPrice: bigint | null): Promise<SignedTransaction> {
    const gasPrice = previousGasPrice === null ? await this.client.getGasPrice() : await this.bumpedPrice(previousGasPrice);
    return this.signed({ to: this.account.address, data: "0x", nonce, gas: TRANSFER_GAS, gasPrice });
  }

  /** Broadcasts signed bytes; a node that already holds them is no failure. */
  async broadcast(raw: Hex): Promise<Hex> {
    try {
      return await this.client.request({ method: "eth_sendRawTransaction", params: [raw] });
    } catch (error) {
      if (alreadyKnown(error)) return keccak256(raw);
      throw error;
    }
  }

  private async bumpedPrice(previousGasPrice: bigint): Promise<bigint> {
    const current = await this.client.getGasPrice();
    const bumped = (previousGasPrice * BUMP_PERCENT) / 100n;
    return current > bumped ? current : bumped;
  }

  private async signed(tx: { to: Address; data: Hex; nonce: number; gas: bigint; gasPrice: bigint }): Promise<SignedTransaction> {
    const raw = await this.wallet.signTransaction({ account: this.account, chain: null, type: "legacy", value: 0n, ...tx });
    return { hash: keccak256(raw), raw, nonce: tx.nonce, gasPrice: tx.gasPrice };
  }
}

/** Whether a node refused signed bytes because it already holds them (geth, Hardhat, Erigon, Nethermind say so differently). */
export function alreadyKnown(error: unknown): boolean {
  const texts: string[] = [];
  for (let e = error as { message?: unknown; details?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    texts.push(String(e.message ?? ""), String(e.details ?? ""));
  }
  return /already known|known transaction|already exists|alreadyknown|already imported/i.test(texts.join(" "));
}
