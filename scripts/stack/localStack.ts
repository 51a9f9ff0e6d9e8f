import path from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { readConfig, ROLES } from "../../indexer/src/config";
import { createDemoMerchant } from "./demoMerchant";
import { hardhatAccountKey, LOCAL_ACCOUNTS } from "./hardhatAccounts";
import type { InProcessChain } from "./inProcessChain";
import { checkPortsFree, freePort } from "./portAvailability";
import { Progress } from "./progress";
import { blockTimeText, localStackReady } from "./readyMessages";
import { REPOSITORY, shownPath } from "./repository";
import { startServices, type ServicesProcess } from "./servicesProcess";
import { removeStackDetails, writeStackDetails } from "./stackDetails";
import { DEFAULT_LOCAL_DIR, freshStackFolder } from "./stackFolder";
import { readyUnlessStopped, serveUntilStopped, stopOnSignals } from "./stackLifetime";
import { StartError } from "./startError";
import { changedWith, SET_ON_LOCAL_CHAIN, type StartSettings } from "./startOptions";

/**
 * `npm start` without a chain to run against: everything on this machine, from nothing. A local Hardhat chain in
 * this process, served over JSON-RPC and making blocks by itself; Open Pay deployed on it with mock tokens and
 * feeds; a fresh PGlite database with the demo merchant and a test API key; and the Open Pay process with every
 * role as a child. Returns the exit code once stopped.
 */
export async function runLocalStack(settings: StartSettings, out: (line: string) => void = console.log): Promise<number> {
  const dir = settings.dataDir ?? DEFAULT_LOCAL_DIR;
  const env: NodeJS.ProcessEnv = { ...settings.env };
  if (env.DATABASE_URL?.trim()) out(`note: DATABASE_URL is not used: the local stack keeps its own database in ${shownPath(dir)}, fresh at every start`);
  for (const name of SET_ON_LOCAL_CHAIN) delete env[name];

  // The settings are checked by the services' own rules (config.ts) before anything starts.
  const apiHost = env.API_HOST?.trim() || "127.0.0.1";
  if (env.API_PORT?.trim() === "0" && !env.PUBLIC_URL?.trim()) env.API_PORT = String(await freePort(apiHost));
  const operatorKey = hardhatAccountKey(LOCAL_ACCOUNTS.operator);
  const intentSignerKey = hardhatAccountKey(LOCAL_ACCOUNTS.intentSigner);
  Object.assign(env, {
    ROLES: ROLES.join(","),
    RPC_URLS: `http://127.0.0.1:${settings.chainPort || 8545}`,
    DATA_DIR: "",
    OPENPAY_DEPLOYMENTS_DIR: "",
    OPERATOR_PRIVATE_KEY: operatorKey,
    INTENT_SIGNER_PRIVATE_KEY: intentSignerKey,
    WEBHOOK_ALLOWED_CIDRS: env.WEBHOOK_ALLOWED_CIDRS?.trim() || "127.0.0.1/32",
  });
  let config;
  try {
    config = readConfig(env);
  } catch (error) {
    throw new StartError((error as Error).message);
  }
  await checkPortsFree([
    { host: "127.0.0.1", port: settings.chainPort, what: "the local chain's JSON-RPC", changedWith: changedWith("chain-port") },
    { host: config.apiHost, port: config.apiPort, what: "the merchant API", changedWith: changedWith("api-port") },
    { host: "127.0.0.1", port: config.statusPort, what: "/metrics and /health", changedWith: changedWith("status-port") },
  ]);
  const folder = freshStackFolder(dir, changedWith("data-dir"));
  Object.assign(env, { DATA_DIR: folder.database, OPENPAY_DEPLOYMENTS_DIR: folder.deployments });

  let chain: InProcessChain | undefined;
  let services: ServicesProcess | undefined;
  const signal = stopOnSignals(out, () => {
    services?.kill();
    process.exit(130);
  });
  // Whatever ends this process, the services must not outlive it (they also stop when it is killed: exitWithParent).
  process.once("exit", () => void services?.stop());
  try {
    out(`Open Pay: starting a local stack in ${shownPath(folder.dir)} (wiped: the local chain lives in memory, so everything starts fresh)`);
    const progress = new Progress(5, out);
    progress.step("loading Hardhat and the contracts (compiled by npm install; compiled here only if changed since)", "contracts");
    process.env.HARDHAT_NETWORK = "hardhat";
    if (__filename.endsWith(".js")) {
      // Compiled (npm start): the configuration's compiled copy, built beside this file by npm run build.
      process.env.HARDHAT_CONFIG = path.join(REPOSITORY, "dist", "hardhat.config.js");
    } else {
      // From the sources (tests): Hardhat as a library leaves reading its TypeScript configuration to its caller, as
      // its command line does with ts-node (a devDependency, as Hardhat is).
      const tsNode = await import("ts-node");
      if (!(process as unknown as Record<symbol, unknown>)[tsNode.REGISTER_INSTANCE]) tsNode.register({ transpileOnly: true });
    }
    const hre = (await import("hardhat")).default;
    await hre.run("compile", { quiet: true });
    if (signal.aborted) return 0;

    progress.step("starting a local chain", "chain");
    const { serveInProcessChain } = await import("./inProcessChain");
    chain = await serveInProcessChain(hre, { port: settings.chainPort, blockTimeMs: settings.blockTimeMs, changedWith: changedWith("chain-port") });
    const chainId = Number(await hre.network.provider.send("eth_chainId", []));
    progress.detail(`${chain.url}, chain ${chainId}, a block every ${blockTimeText(settings.blockTimeMs)}`);
    env.RPC_URLS = chain.url;

    progress.step("deploying Open Pay: mock USDT and USDC, MockV3Aggregator price feeds, the escrow, the demo merchant", "deploy");
    const { deployOpenPay } = await import("../../deploy/deployOpenPay");
    const { record } = await deployOpenPay(hre, { deploymentsDir: folder.deployments, displayUi: false }, () => undefined);
    const demo = record.demoMerchant;
    if (!demo) throw new StartError("the local deployment records no demo merchant (deploy/parameters/local.json5)");
    if (privateKeyToAccount(operatorKey).address !== record.roles.operator || privateKeyToAccount(intentSignerKey).address !== demo.signer) {
      throw new StartError(
        `deploy/parameters/local.json5 must give the operator role to Hardhat's account ${LOCAL_ACCOUNTS.operator} and the demo ` +
          `merchant's intent signer to account ${LOCAL_ACCOUNTS.intentSigner}: npm start runs the keeper and signs intents with their keys`,
      );
    }
    progress.detail(`escrow ${record.escrow}; tokens ${Object.keys(record.tokens).join(", ")}`);
    // This process started the chain, whose node holds the demo merchant's key: the dashboard may sign in with it.
    env.DASHBOARD_DEMO_SIGN_IN = demo.merchant;
    if (signal.aborted) return 0;

    progress.step(`creating the database (PGlite in ${shownPath(folder.database)}) with the demo merchant and a test API key`, "database");
    const { merchant, key } = await createDemoMerchant(folder.database, demo.merchant);
    if (signal.aborted) return 0;

    progress.step("starting the services: indexer, keeper, merchant API, hosted checkout, webhook worker", "services");
    services = startServices({ env, logFile: folder.log, notice: (line) => out(`  [services] ${line}`) });
    const ready = await readyUnlessStopped(services, signal);
    if (!ready) {
      return 0;
    }
    progress.detail(`ready ${progress.finish()}`);

    const demoCommand = settings.dataDir ? `npm run demo -- --data-dir ${shownPath(folder.dir)}` : "npm run demo";
    writeStackDetails(folder.details, {
      apiUrl: config.publicUrl.replace(/\/+$/, ""),
      apiKey: key,
      rpcUrl: chain.url,
      chainId,
      merchant,
      escrow: record.escrow,
      pid: process.pid,
      servicesPid: services.pid,
      startedAt: new Date().toISOString(),
    });
    out(
      localStackReady({
        apiUrl: config.publicUrl.replace(/\/+$/, ""),
        rpcUrl: chain.url,
        chainId,
        blockTimeMs: settings.blockTimeMs,
        confirmations: config.confirmations.depth,
        statusPort: ready.statusPort,
        folder,
        merchant,
        key,
        demoCommand,
      }),
    );
    return await serveUntilStopped(services, signal, folder.log, out);
  } catch (error) {
    await services?.stop();
    throw error;
  } finally {
    removeStackDetails(folder.details);
    await chain?.close();
    out("stopped");
  }
}
