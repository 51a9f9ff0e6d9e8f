import type { Logger } from "pino";
import { createPublicClient, webSocket, zeroAddress } from "viem";
import { watchBlockNumber } from "viem/actions";
import type { DeploymentRecord } from "../chain/deployment";
import { createProviderPool } from "../chain/providerPool";
import type { MachineSettings } from "../payments/statusMachine";
import type { Db } from "../store/paymentStore";
import { Indexer, type IndexerObserver } from "./indexer";

/** What the indexing role needs: the chain's providers, its deployment, the database, where to report. */
export interface IndexingContext {
  rpcUrls: readonly string[];
  /** A WebSocket endpoint announcing new heads, so that the indexer steps at once rather than at its next poll. */
  wsUrl?: string;
  deployment: DeploymentRecord;
  db: Db;
  settings: MachineSettings;
  pollIntervalMs: number;
  logger: Logger;
  observer: IndexerObserver;
  /** The process's shutdown: indexing stops as it aborts. */
  signal: AbortSignal;
  /** Told when indexing ends: by the shutdown, or by an error (a reorganisation deeper than the kept blocks). */
  ended(error?: unknown): void;
}

/** Follows the chain into the database until the signal aborts; returns what waits for it to stop. */
export function startIndexing(context: IndexingContext): () => Promise<void> {
  const { deployment, logger } = context;
  const indexer = new Indexer({
    // The indexer moves between providers itself (a wrong answer is a reason to, not only a failed request).
    rpc: createProviderPool([...context.rpcUrls]),
    db: context.db,
    chainId: deployment.chainId,
    escrow: deployment.escrow,
    tokens: Object.values(deployment.tokens)
      .map((token) => token.address)
      .filter((address) => address !== zeroAddress),
    startBlock: deployment.blockNumber,
    settings: context.settings,
    logger,
    pollIntervalMs: context.pollIntervalMs,
    observer: context.observer,
  });
  let unwatch: (() => void) | undefined;
  if (context.wsUrl) {
    const heads = createPublicClient({ transport: webSocket(context.wsUrl) });
    unwatch = watchBlockNumber(heads, {
      poll: false,
      onBlockNumber: () => indexer.notifyHead(),
      onError: (err) => logger.warn({ err }, "newHeads subscription failed; polling meanwhile"),
    });
  }
  const running = indexer.run(context.signal).then(
    () => context.ended(),
    (error) => context.ended(error),
  );
  return async () => {
    unwatch?.();
    await running;
  };
}
