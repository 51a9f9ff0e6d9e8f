/**
 * A webhook worker on its own: `npm run webhooks` (ts-node --transpile-only indexer/src/webhooks/workerProcess.ts).
 * Run as many as the deliveries need beside the indexer and the API, on the same PostgreSQL database (PGlite, in
 * DATA_DIR, is one process's: use it only when nothing else has it open). Stops on SIGINT or SIGTERM after the
 * deliveries in flight.
 */
import path from "node:path";
import pino from "pino";
import { z } from "zod";
import { paymentViewsFor } from "../ledger/paymentViews";
import { confirmationPolicy } from "../payments/confirmations";
import { readDeployment } from "../chain/deployment";
import { openStore, unusableDatabase } from "../store/database";
import { databaseUrlVariable, logLevelVariable, webhookAllowListVariable, wholeNumber } from "../config";
import type { AllowList } from "../ledger/webhookAddressPolicy";
import { WebhookWorker } from "./deliveryWorker";

const blankIsUnset = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);

const environment = z.object({
  DATABASE_URL: databaseUrlVariable,
  DATA_DIR: z.preprocess(blankIsUnset, z.string().optional()),
  CHAIN_ID: z.preprocess(
    blankIsUnset,
    z
      .string({ error: "CHAIN_ID is not set: the chain whose payments to announce (56 for BSC, 97 for BSC testnet)" })
      .regex(/^\d+$/, { message: "CHAIN_ID must be a chain id such as 56" })
      .transform(Number),
  ),
  PUBLIC_URL: z.preprocess(
    blankIsUnset,
    z
      .string()
      .default("http://127.0.0.1:8080")
      .refine((url) => /^https?:\/\/[^/]/.test(url), { message: "PUBLIC_URL must be the API's http(s) base URL" }),
  ),
  CONFIRMATIONS: wholeNumber("CONFIRMATIONS", 12, 1, 1000),
  OPENPAY_DEPLOYMENTS_DIR: z.preprocess(blankIsUnset, z.string().optional()),
  WEBHOOK_ALLOWED_CIDRS: webhookAllowListVariable,
  WEBHOOK_CONCURRENCY: wholeNumber("WEBHOOK_CONCURRENCY", 64, 1, 10_000),
  LOG_LEVEL: logLevelVariable,
});

export interface WebhookProcessConfig {
  databaseUrl?: string;
  dataDir: string;
  chainId: number;
  publicUrl: string;
  confirmations: number;
  deploymentsDir?: string;
  allowList: AllowList;
  concurrency: number;
  logLevel: string;
}

/** The worker's settings from the environment; the error names every variable that is wrong. */
export function readWebhookProcessConfig(env: NodeJS.ProcessEnv): WebhookProcessConfig {
  const result = environment.safeParse(env);
  if (!result.success) throw new Error(result.error.issues.map((issue) => issue.message).join("; "));
  const values = result.data;
  return {
    databaseUrl: values.DATABASE_URL || undefined,
    dataDir: values.DATA_DIR ?? path.resolve("data/indexer"),
    chainId: values.CHAIN_ID,
    publicUrl: values.PUBLIC_URL,
    confirmations: values.CONFIRMATIONS,
    deploymentsDir: values.OPENPAY_DEPLOYMENTS_DIR,
    allowList: values.WEBHOOK_ALLOWED_CIDRS,
    concurrency: values.WEBHOOK_CONCURRENCY,
    logLevel: values.LOG_LEVEL,
  };
}

async function main(): Promise<number> {
  let config: WebhookProcessConfig;
  let deployment;
  try {
    config = readWebhookProcessConfig(process.env);
    deployment = readDeployment(config.chainId, config.deploymentsDir);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  const logger = pino({ level: config.logLevel, base: { service: "openpay-webhooks" } });
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => stop.abort());

  let store;
  try {
    store = await openStore({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir });
  } catch (error) {
    console.error(`error: ${unusableDatabase({ url: config.databaseUrl, dataDir: config.dataDir }, error)}`);
    return 2;
  }
  const views = paymentViewsFor(deployment, config.publicUrl, confirmationPolicy(config.confirmations, "depth"));
  const worker = new WebhookWorker({
    db: store.db,
    views,
    listen: store.listen,
    logger: logger.child({ component: "webhooks" }),
    allowList: config.allowList,
    concurrency: config.concurrency,
  });
  logger.info({ chainId: config.chainId, store: store.kind, allowedRanges: config.allowList.length, concurrency: config.concurrency }, "delivering webhooks");
  try {
    await worker.run(stop.signal);
  } finally {
    await store.close();
  }
  logger.info("stopped");
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
