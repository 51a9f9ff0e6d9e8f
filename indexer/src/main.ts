/**
 * The Open Pay process: `npm run indexer`. Reads its settings from the environment (docs/operations.md lists them),
 * the escrow from deployments/<chainId>.json, and runs its ROLES until stopped (SIGINT, SIGTERM): the indexer
 * (with the keeper when OPERATOR_PRIVATE_KEY is set), the merchant API (serving the checkout), the webhook worker.
 * All three by default, in one process; at scale, one indexer per chain and as many API and webhook processes as the
 * load needs (ROLES=api, ROLES=webhooks). Each role starts with its context and hands back its stop, which joins the
 * shutdown registry: the process has one way out.
 */
import pino from "pino";
import type { DeploymentRecord } from "./chain/deployment";
import { createRpcClient } from "./chain/rpcClient";
import { retrying } from "./chain/retry";
import { checkChainSettings, readConfig, type GatewayConfig } from "./config";
import { DeepReorgError } from "./indexing/reorg";
import type { MachineSettings } from "./payments/statusMachine";
import { createShutdown, type Shutdown } from "./shutdown";
import type { Store } from "./store/database";

// What the roles run is loaded once the chain has been asked for its id, each part only when ROLES has its role:
// the first RPC call waits for nothing it does not need, and a process never loads (nor holds in memory) the API's
// server and reference, PGlite or the keeper unless it runs them.

/** Exit codes (docs/operations.md): the operator's to fix, a reorganisation deeper than kept, the lock lost. */
const EXIT = { ok: 0, crashed: 1, misconfigured: 2, deepReorg: 3, lockLost: 4 } as const;

type RpcClient = ReturnType<typeof createRpcClient>;

/** A start-up failure the operator fixes: printed as one line, exit code 2. */
class Misconfigured extends Error {}

/** The escrow's late-collect window (OpenPayEscrow.LATE_COLLECT_WINDOW), read from the chain at start. */
async function lateCollectWindow(client: RpcClient, escrow: `0x${string}`): Promise<bigint> {
  const { openPayEscrowAbi } = await import("./chain/escrowAbi");
  return client.readContract({ address: escrow, abi: openPayEscrowAbi, functionName: "LATE_COLLECT_WINDOW" });
}

/** The chain's deployment record, refused when its escrow's ABI is not the one this build speaks. */
async function deploymentOf(chainId: number, config: GatewayConfig): Promise<DeploymentRecord> {
  const [{ readDeployment, escrowAbiHash }, { openPayEscrowAbi }] = await Promise.all([import("./chain/deployment"), import("./chain/escrowAbi")]);
  let deployment;
  try {
    deployment = readDeployment(chainId, config.deploymentsDir);
  } catch (error) {
    throw new Misconfigured((error as Error).message);
  }
  if (deployment.abiHash !== escrowAbiHash(openPayEscrowAbi)) {
    throw new Misconfigured(
      `deployments/${chainId}.json records an escrow ABI (${deployment.abiHash}) other than the one this indexer was built with ` +
        `(${escrowAbiHash(openPayEscrowAbi)}): deploy the current escrow or run the matching indexer`,
    );
  }
  return deployment;
}

/** The database, closed at shutdown; one that cannot be used is the operator's to fix, named by its variable. */
async function openDatabase(config: GatewayConfig, shutdown: Shutdown): Promise<Store> {
  const { openStore, unusableDatabase } = await import("./store/database");
  let store;
  try {
    store = await openStore({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir });
  } catch (error) {
    throw new Misconfigured(unusableDatabase({ url: config.databaseUrl, dataDir: config.dataDir }, error));
  }
  shutdown.add(() => store.close());
  return store;
}

/**
 * The indexer role: the status server, this chain's lock (with PostgreSQL), the database, the indexer and, with an
 * operator key, the keeper. Returns the database and the settings the other roles share, or undefined when the
 * process was stopped while standing by for the lock.
 */
async function startChainRoles(
  config: GatewayConfig,
  client: RpcClient,
  deployment: DeploymentRecord,
  logger: pino.Logger,
  shutdown: Shutdown,
): Promise<{ store: Store; settings: MachineSettings } | undefined> {
  const [{ indexerMetrics }, { startObservability }, { acquireIndexerLock }, { startIndexing }, { unusableDatabase }] = await Promise.all([
    import("./indexing/indexerMetrics"),
    import("./observability/observabilityRole"),
    import("./indexing/indexerLock"),
    import("./indexing/indexingRole"),
    import("./store/database"),
  ]);
  const { chainId } = deployment;
  const metrics = indexerMetrics(chainId);
  let active = false;
  shutdown.add(
    await startObservability({
      registry: metrics.registry,
      position: metrics.position,
      maxLagBlocks: config.healthMaxLagBlocks,
      active: () => active,
      port: config.statusPort,
      logger,
    }),
  );
  if (config.databaseUrl) {
    let lock;
    try {
      lock = await acquireIndexerLock(config.databaseUrl, chainId, {
        signal: shutdown.signal,
        waiting: () => logger.info({ chainId }, "another indexer holds this chain's lock; standing by"),
      });
    } catch (error) {
      throw new Misconfigured(unusableDatabase({ url: config.databaseUrl, dataDir: config.dataDir }, error));
    }
    if (!lock) {
      logger.info("stopped while standing by");
      return undefined;
    }
    shutdown.add(() => lock.release());
    lock.lost.addEventListener("abort", () => {
      // Another process may take over at once: this one must stop, and say so to whoever supervises it.
      logger.error({ chainId }, "lost the chain's indexer lock (its database session ended); stopping");
      void shutdown.kill(EXIT.lockLost);
    });
  }
  active = true;
  const store = await openDatabase(config, shutdown);
  logger.info({ chainId, escrow: deployment.escrow, startBlock: deployment.blockNumber, store: store.kind, confirmations: config.confirmations }, "indexing");
  const settings = {
    confirmations: config.confirmations,
    lateCollectWindow: await retrying(() => lateCollectWindow(client, deployment.escrow), { signal: shutdown.signal }),
  };
  shutdown.add(
    startIndexing({
      rpcUrls: config.rpcUrls,
      wsUrl: config.wsUrl,
      deployment,
      db: store.db,
      settings,
      pollIntervalMs: config.pollIntervalMs,
      logger,
      observer: metrics.observer,
      signal: shutdown.signal,
      ended: (error) => roleEnded(error, logger, shutdown),
    }),
  );
  // The keeper runs beside the indexer of the chain it holds the lock for, so that one process acts per chain.
  if (config.operatorKey) {
    const { startKeeper } = await import("./keeper/keeperRole");
    shutdown.add(
      startKeeper({
        client,
        rpcUrl: config.rpcUrls[0],
        operatorKey: config.operatorKey,
        db: store.db,
        chainId,
        escrow: deployment.escrow,
        lateCollectWindow: settings.lateCollectWindow,
        logger: logger.child({ component: "keeper" }),
        pollIntervalMs: config.keeperIntervalMs,
        stuckAfterMs: config.keeperStuckAfterMs,
        finalityDepth: config.confirmations.depth,
        registry: metrics.registry,
        signal: shutdown.signal,
        ended: (error) => roleEnded(error, logger, shutdown),
      }),
    );
  }
  return { store, settings };
}

/**
 * A role's loop ended. Once the shutdown has begun that is its doing; before, an error ends the process (a
 * reorganisation deeper than the kept blocks with its own code, anything else as a crash), and so does a loop that
 * returned, as the indexer's did before roles.
 */
function roleEnded(error: unknown, logger: pino.Logger, shutdown: Shutdown): void {
  if (shutdown.signal.aborted) return;
  if (error instanceof DeepReorgError) {
    logger.fatal({ err: error }, error.message);
    console.error(`error: ${error.message}`);
    void shutdown.kill(EXIT.deepReorg);
  } else if (error !== undefined) {
    console.error(error);
    void shutdown.kill(EXIT.crashed);
  } else {
    void shutdown.kill(EXIT.ok);
  }
}

/** The merchant API (serving the checkout and the dashboard) and the webhook worker, when ROLES has them. */
async function startMerchantRoles(
  config: GatewayConfig,
  store: Store,
  client: RpcClient,
  deployment: DeploymentRecord,
  settings: MachineSettings,
  logger: pino.Logger,
  shutdown: Shutdown,
): Promise<void> {
  if (config.roles.has("api")) {
    const [{ apiContext }, { startApi }, { checkoutRoutes }, { dashboardRoutes }] = await Promise.all([
      import("./api/apiSetup"),
      import("./api/apiRole"),
      import("./checkout/checkoutRoutes"),
      import("./dashboard/dashboardRoutes"),
    ]);
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
    let stop;
    try {
      stop = await startApi({
        context,
        host: config.apiHost,
        port: config.apiPort,
        rateLimit: config.apiRateLimit,
        trustedProxies: config.apiTrustedProxies,
        logger: logger.child({ component: "api" }),
        routes: [
          (app) => checkoutRoutes(app, context),
          (app) =>
            void dashboardRoutes(app, context, { gatewaySigner: context.intents.address, demoSignIn: config.dashboardDemoSignIn, keyOwners: context.auth }),
        ],
      });
    } catch (error) {
      throw new Misconfigured((error as Error).message);
    }
    shutdown.add(stop);
  }
  if (config.roles.has("webhooks")) {
    const [{ startWebhooks }, { paymentViewsFor }] = await Promise.all([import("./webhooks/webhooksRole"), import("./ledger/paymentViews")]);
    shutdown.add(
      startWebhooks({
        db: store.db,
        listen: store.listen,
        views: paymentViewsFor(deployment, config.publicUrl, config.confirmations),
        logger: logger.child({ component: "webhooks" }),
        allowList: config.webhookAllowList,
        concurrency: config.webhookConcurrency,
        signal: shutdown.signal,
        ended: (error) => roleEnded(error, logger, shutdown),
      }),
    );
  }
}

/** Starts the roles of ROLES, each registering its stop; false when stopped while standing by for the lock. */
async function startRoles(config: GatewayConfig, logger: pino.Logger, shutdown: Shutdown): Promise<boolean> {
  const client = createRpcClient(config.rpcUrls);
  const chainId = await retrying(() => client.getChainId(), {
    onError: (err) => logger.warn({ err }, "cannot reach the RPC; retrying"),
    signal: shutdown.signal,
  });
  try {
    checkChainSettings(config, chainId);
  } catch (error) {
    throw new Misconfigured((error as Error).message);
  }
  const deployment = await deploymentOf(chainId, config);
  let store, settings;
  if (config.roles.has("indexer")) {
    const started = await startChainRoles(config, client, deployment, logger, shutdown);
    if (!started) return false;
    ({ store, settings } = started);
  } else {
    store = await openDatabase(config, shutdown);
    settings = {
      confirmations: config.confirmations,
      lateCollectWindow: await retrying(() => lateCollectWindow(client, deployment.escrow), { signal: shutdown.signal }),
    };
  }
  await startMerchantRoles(config, store, client, deployment, settings, logger, shutdown);
  return true;
}

async function main(): Promise<number> {
  let config;
  try {
    config = readConfig(process.env);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return EXIT.misconfigured;
  }
  const logger = pino({ level: config.logLevel, base: { service: "openpay-indexer" } });
  const shutdown = createShutdown((err) => logger.error({ err }, "a teardown failed"));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void shutdown.kill(EXIT.ok));
  let running = false;
  try {
    running = await startRoles(config, logger, shutdown);
  } catch (error) {
    // A start interrupted by the shutdown (a signal while waiting for the chain) is no failure.
    if (!shutdown.signal.aborted) {
      console.error(error instanceof Misconfigured ? `error: ${error.message}` : error);
      await shutdown.kill(error instanceof Misconfigured ? EXIT.misconfigured : EXIT.crashed);
    }
  }
  // Runs until a signal, a role's end or a lost lock begins the shutdown.
  await new Promise<void>((resolve) => (shutdown.signal.aborted ? resolve() : shutdown.signal.addEventListener("abort", () => resolve(), { once: true })));
  await shutdown.kill();
  // A process that never ran (misconfigured, stopped while standing by) has said why already.
  if (running) logger.info("stopped");
  return shutdown.code;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(EXIT.crashed);
  },
);
