/**
 * The Open Pay process: `npm run indexer`. Reads its settings from the environment (docs/operations.md lists them),
 * the escrow from deployments/<chainId>.json, and runs its ROLES until stopped (SIGINT, SIGTERM): the indexer
 * (with the keeper when OPERATOR_PRIVATE_KEY is set), the merchant API, the webhook worker. All three by default, in
 * one process; at scale, one indexer per chain and as many API and webhook processes as the load needs.
 */
import pino from "pino";
import { createPublicClient, createWalletClient, http, webSocket, zeroAddress } from "viem";
import { watchBlockNumber } from "viem/actions";
import { privateKeyToAccount } from "viem/accounts";
import { apiContext } from "./api/apiSetup";
import { paymentViewsFor } from "./ledger/paymentViews";
import { buildMerchantApi } from "./api/merchantApi";
import { checkoutRoutes } from "./checkout/checkoutRoutes";
import { readDeployment, escrowAbiHash, type DeploymentRecord } from "./chain/deployment";
import { openPayEscrowAbi } from "./chain/escrowAbi";
import { createProviderPool } from "./chain/providerPool";
import { createRpcClient } from "./chain/rpcClient";
import { retrying } from "./chain/retry";
import { readConfig, type IndexerConfig } from "./config";
import { Indexer } from "./indexing/indexer";
import { acquireIndexerLock, type IndexerLock } from "./indexing/indexerLock";
import { DeepReorgError } from "./indexing/reorg";
import { Keeper } from "./keeper/keeper";
import { TransactionSender } from "./keeper/transactionSender";
import { indexerMetrics } from "./indexing/indexerMetrics";
import { keeperMetrics } from "./keeper/keeperMetrics";
import { startStatusServer } from "./observability/statusServer";
import { openStore, unusableDatabase, type Store } from "./store/database";
import { WebhookWorker } from "./webhooks/deliveryWorker";

/** The escrow's late-collect window (OpenPayEscrow.LATE_COLLECT_WINDOW), read from the chain at start. */
async function lateCollectWindow(client: ReturnType<typeof createRpcClient>, escrow: `0x${string}`): Promise<bigint> {
  return client.readContract({ address: escrow, abi: openPayEscrowAbi, functionName: "LATE_COLLECT_WINDOW" });
}

/**
 * Starts the merchant API and the webhook worker when ROLES has them; returns what stops them. Throws naming the
 * variable when one cannot start (a port in use).
 */
async function startMerchantServices(
  config: IndexerConfig,
  store: Store,
  client: ReturnType<typeof createRpcClient>,
  deployment: DeploymentRecord,
  lateCollectWindow: bigint,
  logger: pino.Logger,
  signal: AbortSignal,
): Promise<{ done: Promise<unknown>; close: () => Promise<void> }> {
  const settings = { confirmations: config.confirmations, lateCollectWindow };
  const running: Array<Promise<unknown>> = [];
  let api: Awaited<ReturnType<typeof buildMerchantApi>> | undefined;
  if (config.roles.has("api")) {
    const context = await apiContext({
      db: store.db,
      listen: store.listen,
      client,
      record: deployment,
      signerKey: config.intentSignerKey!,
      publicUrl: config.publicUrl,
      settings,
      webhookAllowList: config.webhookAllowList,
    });
    api = await buildMerchantApi(context, {
      rateLimit: config.apiRateLimit,
      rateWindowMs: 1000,
      trustedProxies: config.apiTrustedProxies,
      logger: logger.child({ component: "api" }),
      routes: [(app) => checkoutRoutes(app, context)],
    });
    try {
      const address = await api.listen({ host: config.apiHost, port: config.apiPort });
      logger.info({ address, publicUrl: config.publicUrl }, "merchant API listening");
    } catch (error) {
      throw new Error(`API_PORT: cannot listen on ${config.apiHost}:${config.apiPort}: ${(error as Error).message}`);
    }
  }
  if (config.roles.has("webhooks")) {
    const views = paymentViewsFor(deployment, config.publicUrl, config.confirmations);
    const worker = new WebhookWorker({ db: store.db, views, listen: store.listen, logger: logger.child({ component: "webhooks" }), allowList: config.webhookAllowList });
    running.push(worker.run(signal));
    logger.info("webhook worker running");
  }
  return { done: Promise.all(running), close: async () => void (await api?.close()) };
}

/** A process without the indexer role: the API and/or the webhook worker over the shared database. */
async function serveMerchants(
  config: IndexerConfig,
  client: ReturnType<typeof createRpcClient>,
  deployment: DeploymentRecord,
  logger: pino.Logger,
  signal: AbortSignal,
): Promise<number> {
  let store;
  try {
    store = await openStore({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir });
  } catch (error) {
    console.error(`error: ${unusableDatabase({ url: config.databaseUrl, dataDir: config.dataDir }, error)}`);
    return 2;
  }
  let services;
  try {
    const window = await retrying(() => lateCollectWindow(client, deployment.escrow), { signal });
    services = await startMerchantServices(config, store, client, deployment, window, logger, signal);
  } catch (error) {
    await store.close();
    if (signal.aborted) return 0;
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
  await services.close();
  await services.done.catch(() => undefined);
  await store.close();
  logger.info("stopped");
  return 0;
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

  if (!config.roles.has("indexer")) return serveMerchants(config, client, deployment, logger, stop.signal);

  const metrics = indexerMetrics(chainId);
  let active = false;
  const status = await startStatusServer(
    { registry: metrics.registry, position: metrics.position, maxLagBlocks: config.healthMaxLagBlocks, active: () => active },
    config.statusPort,
  );
  logger.info({ port: status.port }, "serving /metrics and /health");

  /** A database that cannot be used is the operator's to fix: one line naming the variable, exit code 2. */
  const databaseProblem = (error: unknown) => {
    console.error(`error: ${unusableDatabase({ url: config.databaseUrl, dataDir: config.dataDir }, error)}`);
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
  const tokens = Object.values(deployment.tokens).map((token) => token.address).filter((address) => address !== zeroAddress);
  const indexer = new Indexer({
    // The indexer moves between providers itself (a wrong answer is a reason to, not only a failed request).
    rpc: createProviderPool(config.rpcUrls),
    db: store.db,
    chainId,
    escrow: deployment.escrow,
    tokens,
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
      lateCollectWindow: indexer.settings.lateCollectWindow,
      logger: logger.child({ component: "keeper" }),
      pollIntervalMs: config.keeperIntervalMs,
      stuckAfterMs: config.keeperStuckAfterMs,
      // Its own transactions are final at the depth at which the indexer takes payments as final.
      finalityDepth: config.confirmations.depth,
      observer: keeperMetrics(metrics.registry),
    });
    logger.info({ operator: account.address }, "keeper running");
    keeping = keeper.run(stop.signal);
  }
  let services: Awaited<ReturnType<typeof startMerchantServices>> | undefined;
  if (config.roles.has("api") || config.roles.has("webhooks")) {
    try {
      services = await startMerchantServices(config, store, client, deployment, indexer.settings.lateCollectWindow, logger, stop.signal);
    } catch (error) {
      console.error(`error: ${(error as Error).message}`);
      stop.abort();
      await keeping?.catch(() => undefined);
      unwatch?.();
      await store.close();
      await lock?.release();
      status.server.close();
      return 2;
    }
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
    await services?.close();
    await services?.done.catch(() => undefined);
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
