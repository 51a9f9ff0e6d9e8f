/**
 * The indexer process: `npm run indexer`. Reads its settings from the environment (docs/operations.md lists them),
 * the escrow from deployments/<chainId>.json, and indexes until stopped (SIGINT, SIGTERM).
 */
import pino from "pino";
import { createPublicClient, createWalletClient, http, webSocket, zeroAddress } from "viem";
import { watchBlockNumber } from "viem/actions";
import { privateKeyToAccount } from "viem/accounts";
import { readDeployment, escrowAbiHash } from "./chain/deployment";
import { openPayEscrowAbi } from "./chain/escrowAbi";
import { createRpcClient } from "./chain/rpcClient";
import { retrying } from "./chain/retry";
import { readConfig } from "./config";
import { Indexer } from "./indexing/indexer";
import { acquireIndexerLock, type IndexerLock } from "./indexing/indexerLock";
import { DeepReorgError } from "./indexing/reorg";
import { Keeper } from "./keeper/keeper";
import { TransactionSender } from "./keeper/transactionSender";
import { indexerMetrics } from "./observability/metrics";
import { startStatusServer } from "./observability/statusServer";
import { openStore } from "./store/database";

/** The escrow's late-collect window (OpenPayEscrow.LATE_COLLECT_WINDOW), read from the chain at start. */
async function lateCollectWindow(client: ReturnType<typeof createRpcClient>, escrow: `0x${string}`): Promise<bigint> {
  return client.readContract({ address: escrow, abi: openPayEscrowAbi, functionName: "LATE_COLLECT_WINDOW" });
}

async function main(): Promise<number> {
  let config;
  try {
    config = readConfig(process.env);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  const logger = pino({ level: config.logLevel, base: { service: "openpay-indexer" } });
  const client = createRpcClient(config.rpcUrls);
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => stop.abort());

  const chainId = await retrying(() => client.getChainId(), { onError: (err) => logger.warn({ err }, "cannot reach the RPC; retrying"), signal: stop.signal });
  let deployment;
  try {
    deployment = readDeployment(chainId, config.deploymentsDir);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  if (deployment.abiHash !== escrowAbiHash(openPayEscrowAbi)) {
    console.error(
      `error: deployments/${chainId}.json records an escrow ABI (${deployment.abiHash}) other than the one this indexer was built with ` +
        `(${escrowAbiHash(openPayEscrowAbi)}): deploy the current escrow or run the matching indexer`,
    );
    return 2;
  }

  const metrics = indexerMetrics(chainId);
  let active = false;
  const status = await startStatusServer(
    { registry: metrics.registry, position: metrics.position, maxLagBlocks: config.healthMaxLagBlocks, active: () => active },
    config.statusPort,
  );
  logger.info({ port: status.port }, "serving /metrics and /health");

  /** A database that cannot be used is the operator's to fix: one line naming the variable, exit code 2. */
  const databaseProblem = (error: unknown) => {
    const where = config.databaseUrl ? "DATABASE_URL" : `DATA_DIR (${config.dataDir})`;
    console.error(`error: ${where}: cannot use the database: ${(error as Error).message}`);
    status.server.close();
    return 2;
  };
  let lock: IndexerLock | undefined;
  let lockLost = false;
  if (config.databaseUrl) {
    try {
      lock = await acquireIndexerLock(config.databaseUrl, chainId, {
        signal: stop.signal,
        waiting: () => logger.info({ chainId }, "another indexer holds this chain's lock; standing by"),
      });
    } catch (error) {
      return databaseProblem(error);
    }
    if (!lock) {
      status.server.close();
      logger.info("stopped while standing by");
      return 0;
    }
    lock.lost.addEventListener("abort", () => {
      // Another process may take over at once: this one must stop, and say so to whoever supervises it.
      lockLost = true;
      logger.error({ chainId }, "lost the chain's indexer lock (its database session ended); stopping");
      stop.abort();
    });
  }
  active = true;
  let store;
  try {
    store = await openStore({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir });
  } catch (error) {
    await lock?.release();
    return databaseProblem(error);
  }
  logger.info(
    { chainId, escrow: deployment.escrow, startBlock: deployment.blockNumber, store: store.kind, confirmations: config.confirmations },
    "indexing",
  );
  const indexer = new Indexer({
    client,
    db: store.db,
    chainId,
    escrow: deployment.escrow,
    startBlock: deployment.blockNumber,
    settings: {
      confirmations: config.confirmations,
      lateCollectWindow: await retrying(() => lateCollectWindow(client, deployment.escrow), { signal: stop.signal }),
    },
    logger,
    pollIntervalMs: config.pollIntervalMs,
    observer: metrics.observer,
  });
  let unwatch: (() => void) | undefined;
  if (config.wsUrl) {
    const heads = createPublicClient({ transport: webSocket(config.wsUrl) });
    unwatch = watchBlockNumber(heads, {
      poll: false,
      onBlockNumber: () => indexer.notifyHead(),
      onError: (err) => logger.warn({ err }, "newHeads subscription failed; polling meanwhile"),
    });
  }
  // The keeper runs beside the indexer of the chain it holds the lock for, so that one process acts per chain.
  let keeping: Promise<void> | undefined;
  if (config.operatorKey) {
    const account = privateKeyToAccount(config.operatorKey);
    const sender = new TransactionSender(client, createWalletClient({ account, transport: http(config.rpcUrls[0]) }), account);
    const keeper = new Keeper({
      client,
      sender,
      db: store.db,
      chainId,
      escrow: deployment.escrow,
      tokens: Object.values(deployment.tokens).map((token) => token.address).filter((address) => address !== zeroAddress),
      startBlock: deployment.blockNumber,
      lateCollectWindow: indexer.settings.lateCollectWindow,
      logger: logger.child({ component: "keeper" }),
      pollIntervalMs: config.keeperIntervalMs,
    });
    logger.info({ operator: account.address }, "keeper running");
    keeping = keeper.run(stop.signal);
  }
  let code = 0;
  try {
    await indexer.run(stop.signal);
    await keeping;
  } catch (error) {
    if (error instanceof DeepReorgError) {
      logger.fatal({ err: error }, error.message);
      console.error(`error: ${error.message}`);
      code = 3;
    } else if (!stop.signal.aborted) {
      throw error;
    }
  } finally {
    unwatch?.();
    stop.abort();
    await keeping?.catch(() => undefined);
    await store.close();
    await lock?.release();
    status.server.close();
  }
  logger.info("stopped");
  return lockLost ? 4 : code;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
