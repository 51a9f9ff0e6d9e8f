import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { createWalletClient, http, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Db } from "../store/paymentStore";
import { Keeper } from "./keeper";
import { keeperMetrics } from "./keeperMetrics";
import { TransactionSender } from "./transactionSender";

/** What the keeper role needs: the chain, the operator's key, the database, and its timing. */
export interface KeeperContext {
  client: PublicClient;
  /** Where its transactions are sent (the first of RPC_URLS). */
  rpcUrl: string;
  /** OPERATOR_PRIVATE_KEY: an account with the escrow's OPERATOR_ROLE. */
  operatorKey: `0x${string}`;
  db: Db;
  chainId: number;
  escrow: Address;
  lateCollectWindow: bigint;
  logger: Logger;
  pollIntervalMs: number;
  stuckAfterMs: number;
  /** Its own transactions are final at the depth at which the indexer takes payments as final. */
  finalityDepth: number;
  /** Where its metrics go (the status server's registry). */
  registry: Registry;
  /** The process's shutdown: the keeper stops as it aborts. */
  signal: AbortSignal;
  /** Told when the keeper ends: by the shutdown, or by the error given. */
  ended(error?: unknown): void;
}

/** Runs the keeper until the signal aborts; returns what waits for it to stop. */
export function startKeeper(context: KeeperContext): () => Promise<void> {
  const account = privateKeyToAccount(context.operatorKey);
  const sender = new TransactionSender(context.client, createWalletClient({ account, transport: http(context.rpcUrl) }), account);
  const keeper = new Keeper({
    client: context.client,
    sender,
    db: context.db,
    chainId: context.chainId,
    escrow: context.escrow,
    lateCollectWindow: context.lateCollectWindow,
    logger: context.logger,
    pollIntervalMs: context.pollIntervalMs,
    stuckAfterMs: context.stuckAfterMs,
    finalityDepth: context.finalityDepth,
    observer: keeperMetrics(context.registry),
  });
  context.logger.info({ operator: account.address }, "keeper running");
  const running = keeper.run(context.signal).then(
    () => context.ended(),
    (error) => context.ended(error),
  );
  return () => running;
}
