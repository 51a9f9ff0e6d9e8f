import type { Account, Address, Hex, PublicClient, WalletClient } from "viem";

/** A replacement must pay at least 10% more to be accepted by nodes; 25% leaves room for rounding and rises. */
export const BUMP_PERCENT = 125n;

export interface SentTransaction {
  hash: Hex;
  nonce: number;
  gasPrice: bigint;
}

/**
 * Sends the keeper's transactions from one operator account with its own nonce counter (no wait for each
 * transaction to be mined before the next), and replaces a stuck transaction with the same nonce at a higher gas
 * price. Gas is estimated first, so a call the escrow would refuse is reported, not broadcast.
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

  /** Re-reads the account's next nonce from the node (at start, and after a nonce error). */
  async resync(): Promise<number> {
    this.next = await this.client.getTransactionCount({ address: this.account.address, blockTag: "pending" });
    return this.next;
  }

  /** Takes the next nonce; the caller records it before broadcasting, so a crash never loses track of it. */
  async reserveNonce(): Promise<number> {
    if (this.next === undefined) await this.resync();
    return this.next!++;
  }

  /** Gives back a nonce that was reserved but not used, when it is the latest one reserved. */
  release(nonce: number): void {
    if (this.next === nonce + 1) this.next = nonce;
  }

  /** Nonces the chain has mined for the account: below this, every transaction of ours is settled one way or another. */
  minedNonce(): Promise<number> {
    return this.client.getTransactionCount({ address: this.account.address, blockTag: "latest" });
  }

  async send(to: Address, data: Hex, nonce: number, gasPrice?: bigint, replacing = false): Promise<SentTransaction> {
    // A replacement is estimated against the mined state: in the pending one, the transaction it replaces has
    // already done the work and the call would revert.
    const gas = await this.client.estimateGas({ account: this.account, to, data, ...(replacing && { blockTag: "latest" as const }) });
    const price = gasPrice ?? (await this.client.getGasPrice());
    const hash = await this.wallet.sendTransaction({
      account: this.account,
      chain: null,
      to,
      data,
      nonce,
      gas: (gas * 12n) / 10n,
      gasPrice: price,
    });
    return { hash, nonce, gasPrice: price };
  }

  /** Sends the same call again with the same nonce at a higher gas price, replacing a transaction that is stuck. */
  async bump(to: Address, data: Hex, nonce: number, previousGasPrice: bigint): Promise<SentTransaction> {
    const current = await this.client.getGasPrice();
    const bumped = (previousGasPrice * BUMP_PERCENT) / 100n;
    return this.send(to, data, nonce, current > bumped ? current : bumped, true);
  }
}
