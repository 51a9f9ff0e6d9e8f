import { zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import { readBalances, readEscrowPayments } from "../chain/escrowReadings";
import type { ConfirmedBlock } from "../payments/paymentEvents";
import type { OnChainEvidence } from "../payments/settlement";
import type { BlockRecord } from "../chain/blockHeaders";
import { paymentsDueAt, type Db } from "../store/paymentStore";
import type { PaymentLog } from "./escrowLogs";

/** How the evidence is read: by block hash (EIP-1898), through the indexer's current provider. */
export interface EvidenceReader {
  /** A call retried (and failed over) until it succeeds. */
  read<T>(call: (client: PublicClient) => Promise<T>): Promise<T>;
  /** Retried, but thrown at once when the node says the block's state is gone (pruned). */
  attempt<T>(call: (client: PublicClient) => Promise<T>): Promise<T>;
  /** The hash of the last block at or before a time (a payment's expiry), or undefined when none is known. */
  blockAtOrBefore(timestamp: bigint): Promise<BlockRecord | undefined>;
}

/**
 * What the escrow says, at `head`, of every payment that may be settled once the batch is applied (those the
 * database finds due at `confirmed`) and of every payment the batch touches. For a payment with nothing received
 * whose time is up, also what its deposit address held of each accepted token and of BNB at its expiry block (absent
 * when that block's state cannot be read: the payment then waits for the late-collect window, after which the
 * escrow's record alone decides).
 */
export async function settlementEvidence(
  db: Db,
  chainId: number,
  {
    escrow,
    tokens,
    head,
    confirmed,
    logs,
  }: { escrow: Address; tokens: readonly Address[]; head: BlockRecord; confirmed: ConfirmedBlock; logs: readonly PaymentLog[] },
  reader: EvidenceReader,
): Promise<Map<string, OnChainEvidence>> {
  const due = await paymentsDueAt(db, chainId, confirmed, { lock: false });
  // And every payment the stretch touches: its record is checked against its logs (`escrowMismatch`).
  const ids = new Set<string>([...due.keys(), ...logs.map(({ paymentId }) => paymentId as string)]);
  const evidence = new Map<string, OnChainEvidence>();
  if (ids.size === 0) return evidence;
  const list = [...ids] as Hex[];
  const states = await reader.read((client) => readEscrowPayments(client, escrow, list, { blockHash: head.hash }));
  for (const [i, id] of list.entries()) evidence.set(id, { escrow: states[i] });

  // Nothing received: what waited at the deposit address at the expiry, grouped by expiry block.
  const byExpiryBlock = new Map<Hex, Array<{ id: string; depositAddress: Address }>>();
  for (const [id, { payment }] of due) {
    if (payment.receivedUsd !== 0n || payment.expiredBlock !== null) continue;
    const block = await reader.blockAtOrBefore(payment.expiry);
    if (!block) continue;
    const group = byExpiryBlock.get(block.hash) ?? [];
    group.push({ id, depositAddress: payment.depositAddress });
    byExpiryBlock.set(block.hash, group);
  }
  const watchedTokens = [...tokens, zeroAddress as Address];
  for (const [blockHash, group] of byExpiryBlock) {
    let balances: bigint[][];
    try {
      balances = await reader.attempt((client) =>
        readBalances(
          client,
          group.map(({ depositAddress }) => depositAddress),
          watchedTokens,
          { blockHash },
        ),
      );
    } catch {
      // The block's state is pruned (full nodes keep about 128 blocks): the evidence stays unknown.
      continue;
    }
    group.forEach(({ id }, i) => {
      evidence.set(id, { ...evidence.get(id)!, depositAddressAtExpiry: watchedTokens.map((token, j) => ({ token, amount: balances[i][j] })) });
    });
  }
  return evidence;
}
