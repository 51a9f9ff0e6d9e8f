/**
 * `npm run rehearse`: the mainnet deployment rehearsed on this machine. A local chain that looks like BSC mainnet
 * (chain 56, no base fee, blocks sharing a second, no automine) gets USDT and USDC with BSC's 18 decimals and
 * Chainlink-style USD feeds at the mainnet addresses of deploy/parameters/bsc.json5; then the shipped mainnet path
 * runs against it — Hardhat's `bsc` network, the OpenPay Ignition module with bsc.json5 (its roles given to Hardhat
 * accounts), `verify-deployment --dry-run`, `register-merchant --calldata` — and the whole gateway (indexer, keeper,
 * merchant API, hosted checkout, webhooks on PGlite) takes a payment in USDT, USDC and BNB, each created through the
 * API with a live key and paid by scan-and-send, until each is paid; last, the deployment is run again (it must send
 * nothing) and the admin accepts its role after the delay. Nothing reaches BSC or BscScan and nothing is written to
 * deployments/ or ignition/. What the mainnet path gets wrong is printed as a FINDING. `--help` for options.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createPublicClient, formatUnits, getAddress, http, zeroAddress, type Address, type Hex } from "viem";
import { openPayEscrowAbi } from "../indexer/src/chain/escrowAbi";
import { freePort } from "./stack/portAvailability";
import { Progress } from "./stack/progress";
import { shownPath } from "./stack/repository";
import { keptStackFolder } from "./stack/stackFolder";
import { aborted, stopOnSignals } from "./stack/stackLifetime";
import { runCommand, StartError } from "./stack/startError";
import type { ServicesProcess } from "./stack/servicesProcess";
import { BlockProducer } from "./rehearsal/blockProducer";
import type { BscChain } from "./rehearsal/bscChain";
import { addressOf } from "./rehearsal/cast";
import { RehearsalFinding } from "./rehearsal/finding";
import type { PaidPayment } from "./rehearsal/paymentRehearsal";

/** A block every 100 ms: twelve confirmations in about a second, and the chain's clock still the wall clock's. */
const BLOCK_INTERVAL_MS = 100;
const PAYMENTS = [
  { symbol: "USDT", amountUsd: "25.00" },
  { symbol: "USDC", amountUsd: "40.50" },
  { symbol: "BNB", amountUsd: "12.34" },
] as const;
const PAYMENT_TIMEOUT_MS = 60_000;

function help(): string {
  return [
    "usage: npm run rehearse [-- --keep]",
    "",
    "The mainnet deployment, rehearsed on a local chain with BSC's chain id, tokens and Chainlink feeds at their mainnet",
    "addresses: the OpenPay Ignition module with deploy/parameters/bsc.json5 (roles given to Hardhat accounts),",
    "verify-deployment --dry-run, register-merchant --calldata, and the whole gateway taking a payment in USDT, USDC and",
    "BNB by scan-and-send. Exits 0 when every payment is paid; otherwise says what the mainnet path got wrong.",
    "",
    "Options:",
    "  --keep       leave the chain and the gateway running afterwards (prints their URLs and the API key); Ctrl-C stops",
    "  -h, --help   this text",
  ].join("\n");
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: process.argv.slice(2), options: { keep: { type: "boolean" }, help: { type: "boolean", short: "h" } }, strict: true }));
  } catch (error) {
    throw new StartError(`${(error as Error).message.split("\n")[0]} (npm run rehearse -- --help lists the options)`);
  }
  if (values.help) {
    console.log(help());
    return 0;
  }
  const out = (line: string) => console.log(line);
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const folder = keptStackFolder(mkdtempSync(path.join(tmpdir(), "open-pay-rehearsal-")));
  const steps = new Progress(9, out);
  // Each step says when it began, so that a slow part shows.
  const progress = { step: (text: string) => steps.step(`${text} [${elapsed()}]`), detail: (text: string) => steps.detail(text) };
  let chain: BscChain | undefined;
  let producer: BlockProducer | undefined;
  let services: ServicesProcess | undefined;
  let succeeded = false;
  const signal = stopOnSignals(out, () => {
    services?.kill();
    process.exit(130);
  });
  process.once("exit", () => services?.kill());

  try {
    out(`Open Pay: rehearsing the mainnet deployment on a local chain (its files in ${shownPath(folder.dir)})`);
    // The gateway's database with the merchant and its live key needs no chain: made meanwhile, in a process of its own.
    const { createLiveMerchant } = await import("./rehearsal/liveMerchant");
    const merchantAddress = addressOf("merchant");
    const liveMerchant = createLiveMerchant(folder.database, merchantAddress);
    liveMerchant.catch(() => undefined);
    progress.step("starting a chain that looks like BSC mainnet: chain 56, no base fee, blocks sharing a second, transactions waiting for a block");
    const port = await freePort("127.0.0.1");
    const { loadHardhatForRehearsal, checkRehearsalChain } = await import("./rehearsal/rehearsalNetwork");
    const hre = await loadHardhatForRehearsal(`http://127.0.0.1:${port}`, folder.dir);
    await hre.run("compile", { quiet: true });
    const { startBscChain } = await import("./rehearsal/bscChain");
    chain = await startBscChain(hre, port);
    progress.detail(`${chain.url}, ${await checkRehearsalChain(hre)}; Hardhat's network: bsc (BSC_RPC_URL pointed here)`);

    progress.step("placing what mainnet holds before Open Pay, at the addresses of deploy/parameters/bsc.json5");
    const { writeRehearsalParameters } = await import("./rehearsal/rehearsalParameters");
    const { file: parametersFile, shipped, parameters } = writeRehearsalParameters(folder.dir);
    const live = parameters.OpenPay;
    const { placeMainnetStandIns } = await import("./rehearsal/mainnetStandIns");
    const world = addressOf("world");
    const placed = await placeMainnetStandIns(chain.provider, hre.artifacts, live, world);
    for (const token of placed.tokens) progress.detail(`${token.symbol} ${token.address}: a BEP-20 of ${token.decimals} decimals`);
    for (const feed of placed.feeds) {
      progress.detail(
        `${feed.description} ${feed.proxy}: proxy over aggregator ${feed.aggregator}, 8 decimals, answer ${formatUnits(feed.answer, 8)}, heartbeat ${feed.heartbeatSeconds} s`,
      );
    }
    const { FeedRounds } = await import("./rehearsal/feedRounds");
    const rounds = new FeedRounds(chain.provider, placed.feeds, world);
    producer = new BlockProducer(chain.mine, BLOCK_INTERVAL_MS, () => rounds.beforeBlock());
    producer.start();
    progress.detail(`a block every ${BLOCK_INTERVAL_MS} ms from now on; each feed reports a round whenever its heartbeat passes on the chain's clock`);

    progress.step(`deploying the mainnet way: the OpenPay Ignition module with ${shownPath(shipped)}, its roles given to Hardhat accounts`);
    progress.detail(`parameters: ${shownPath(parametersFile)}`);
    const { deployTheMainnetWay, deployAgain } = await import("./rehearsal/mainnetDeploy");
    const record = await deployTheMainnetWay(hre, parametersFile, folder.deployments);
    progress.detail(
      `deployment record: ${shownPath(path.join(folder.deployments, "56.json"))}; Ignition's journal: ${shownPath(path.join(hre.config.paths.ignition, "deployments", "chain-56"))}`,
    );
    if (signal.aborted) return 130;

    // The gateway starts (a while: a process of its own) while the deployment is checked and the merchant joins.
    progress.step("starting the gateway: indexer, keeper, merchant API, hosted checkout, webhook worker (PGlite), against the chain");
    const { merchant, key } = await liveMerchant;
    progress.detail(
      `npm run merchant -- create --mode live: ${merchant.id} (${merchantAddress}) with a live API key (${key.slice(0, 8)}…) in ${shownPath(folder.database)}`,
    );
    const { startGateway } = await import("./rehearsal/gatewayServices");
    const starting = startGateway({ rpcUrl: chain.url, folder, notice: (line) => out(`  [services] ${line}`) });
    starting.then(({ services: started }) => (services = started)).catch(() => undefined);

    progress.step("verify-deployment --dry-run: what BscScan would be sent");
    const { verifyDeployment } = await import("./operator/verify");
    const planned =
      (await verifyDeployment(hre, { dryRun: true }).catch((error: Error) => {
        throw error.name === "OperatorError" ? new RehearsalFinding(`verify-deployment --dry-run: ${error.message}`) : error;
      })) ?? [];
    const escrowSubmission = planned.find((submission) => submission.address === record.escrow);
    if (!escrowSubmission) throw new StartError("verify-deployment --dry-run planned nothing for the escrow", 1);

    progress.step("checking the escrow against the parameters, as docs/operations.md asks after a mainnet deployment");
    const { checkDeployment } = await import("./rehearsal/deploymentChecks");
    for (const line of await checkDeployment({
      rpcUrl: chain.url,
      record,
      parameters: live,
      escrowConstructorArguments: escrowSubmission.constructorArguments as Hex,
    })) {
      progress.detail(`ok: ${line}`);
    }

    progress.step("registering the merchant on the escrow: register-merchant --calldata, signed by the signer manager's wallet");
    const { registerOnEscrow } = await import("./rehearsal/merchantRegistration");
    const registration = await registerOnEscrow(hre, chain, record, {
      merchant: merchantAddress,
      payout: addressOf("payout"),
      signer: addressOf("intentSigner"),
      signerManager: getAddress(live.signerManager),
    }).catch((error: Error) => {
      throw error.name === "OperatorError" ? new RehearsalFinding(`register-merchant --calldata: ${error.message}`) : error;
    });
    progress.detail(`merchant ${merchantAddress}, intent signer ${addressOf("intentSigner")}: transaction ${registration}`);

    const gateway = await starting.catch((error: Error) => {
      throw new RehearsalFinding(`the gateway would not start against the deployment: ${error.message} (log: ${shownPath(folder.log)})`);
    });
    services = gateway.services;
    progress.detail(`gateway ready [${elapsed()}]: API ${gateway.apiUrl}; keeper ${gateway.ready.operator ?? "not running"}; log ${shownPath(folder.log)}`);

    progress.step(
      `a payment in each token, created through the API and paid by scan-and-send: ${PAYMENTS.map((p) => `$${p.amountUsd} in ${p.symbol}`).join(", ")}`,
    );
    const { ScanAndSendCustomer } = await import("./rehearsal/scanAndSend");
    const { acceptAdminAfterDelay } = await import("./rehearsal/adminHandover");
    const { rehearsePayment } = await import("./rehearsal/paymentRehearsal");
    const customer = new ScanAndSendCustomer(chain.url, chain);
    const tokens: Record<string, Address> = { USDT: getAddress(live.usdtToken), USDC: getAddress(live.usdcToken), BNB: zeroAddress };
    const paying = Promise.all(
      PAYMENTS.map(({ symbol, amountUsd }) =>
        rehearsePayment({
          apiUrl: gateway.apiUrl,
          apiKey: key,
          symbol,
          amountUsd,
          tokens,
          customer,
          issuer: world,
          timeoutMs: PAYMENT_TIMEOUT_MS,
          progress: (line) => progress.detail(line),
        }),
      ),
    );
    const stopped = aborted(signal).then(() => undefined);
    const servicesDied = services.exited.then((exit) => {
      throw new StartError(`the gateway stopped by itself (exit code ${exit.code ?? exit.signal}); its log says why: ${shownPath(folder.log)}`, 1);
    });
    const paid = (await Promise.race([paying, stopped, servicesDied, producer.failed])) as PaidPayment[] | undefined;
    if (!paid) return 130;
    if (producer.failure) throw producer.failure;

    progress.step("the operator's last steps: npm run deploy once more, then the admin multisig accepts the role after the delay");
    await deployAgain(hre, parametersFile, folder.deployments, record);
    progress.detail("run again, the deployment resumes from Ignition's journal to nothing: no transaction, the same escrow and block");
    const accepted = await acceptAdminAfterDelay(chain, record, getAddress(live.admin));
    progress.detail(
      `at ${accepted.toISOString()} (the chain's clock moved on by the delay) ${live.admin} accepted: it is the one admin, the deployer holds nothing`,
    );
    await rounds.untilFresh(10_000);
    progress.detail("after the day's jump every feed has reported a fresh round");
    if (producer.failure) throw producer.failure;

    const client = createPublicClient({ transport: http(chain.url) });
    out("");
    out(`Summary: the mainnet path works on the rehearsal chain; every payment is paid (${elapsed()}, ${producer.blocks} blocks).`);
    for (const payment of paid) {
      const held = await client.readContract({
        address: record.escrow,
        abi: openPayEscrowAbi,
        functionName: "balanceOf",
        args: [merchantAddress, tokens[payment.symbol]],
      });
      out(
        `  ${payment.symbol.padEnd(5)} ${payment.payment.id}  $${payment.payment.amount_usd} → ${payment.payment.status} in ${payment.seconds.toFixed(1)} s; ` +
          `sent ${payment.sentAmount}; the escrow holds ${formatUnits(held, 18)} ${payment.symbol} for the merchant`,
      );
      if (held === 0n) throw new RehearsalFinding(`the ${payment.symbol} payment is paid but the escrow holds no ${payment.symbol} for the merchant`);
    }
    out(
      `  feeds    ${[...rounds.reported].map(([feed, count]) => `${feed}: ${count} round${count === 1 ? "" : "s"} reported`).join(", ") || "no round fell due"}`,
    );
    out(`  checked  EIP-681 URIs name chain 56 (@56) and the mainnet tokens; the checkout page says "BNB Smart Chain"`);
    succeeded = true;

    if (values.keep) {
      out("");
      out(`Still running (Ctrl-C stops): chain ${chain.url} (chain 56), API ${gateway.apiUrl} with live key ${key}`);
      for (const payment of paid) out(`  checkout ${payment.payment.checkout_url}`);
      await Promise.race([aborted(signal), services.exited]);
    }
    return 0;
  } catch (error) {
    if (error instanceof RehearsalFinding) {
      out("");
      out(`FINDING: the mainnet path as shipped fails the rehearsal: ${(error as Error).message}`);
      out(`(the rehearsal's files, the services' log among them, are kept in ${shownPath(folder.dir)})`);
      return 1;
    }
    if (!(error instanceof StartError)) out(`(the rehearsal's files are kept in ${shownPath(folder.dir)})`);
    throw error;
  } finally {
    await services?.stop();
    await producer?.stop();
    await chain?.close();
    if (succeeded) rmSync(folder.dir, { recursive: true, force: true });
  }
}

runCommand(main);
