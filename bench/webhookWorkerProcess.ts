/**
 * One webhook worker in a process of its own, for bench/webhooks.ts: as operators run them (`npm run webhooks`), each
 * worker has its own event loop, and its CPU can be told apart from the receiver's and the benchmark's.
 *
 * Told {url, concurrency} by the benchmark, it opens the store and says "ready"; on "go" it runs until "stop", then
 * reports the statements it sent to PostgreSQL (its round trips) and exits.
 */
import pg from "pg";
import pino from "pino";
import { PaymentViews } from "../indexer/src/ledger/paymentViews";
import { parseAllowList } from "../indexer/src/ledger/webhookAddressPolicy";
import { openStore } from "../indexer/src/store/database";
import { WebhookWorker } from "../indexer/src/webhooks/deliveryWorker";
import { CHAIN_ID, SETTINGS } from "../indexer/test/support/localChain";

/** Round trips: every statement a pg client sends (Kysely's, BEGIN/COMMIT, LISTEN) goes through Client#query. */
let statements = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  return (query as (...args: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

interface Start {
  url: string;
  concurrency?: number;
}

process.once("message", async ({ url, concurrency }: Start) => {
  const store = await openStore({ url });
  const views = new PaymentViews({ chainId: CHAIN_ID, tokens: new Map(), publicUrl: "http://127.0.0.1:8080", confirmations: SETTINGS.confirmations });
  const worker = new WebhookWorker({
    db: store.db,
    views,
    listen: store.listen,
    logger: pino({ level: "silent" }),
    allowList: parseAllowList("127.0.0.1/32"),
    concurrency,
  });
  const stop = new AbortController();
  process.on("message", (message: string) => {
    if (message === "stop") stop.abort();
  });
  await new Promise<void>((resolve) => {
    process.on("message", (message: string) => message === "go" && resolve());
    process.send!("ready");
  });
  statements = 0;
  await worker.run(stop.signal);
  // Reported before the store closes: the benchmark reads this process's CPU when the report comes.
  process.send!({ statements }, async () => {
    await store.close();
    process.exit(0);
  });
});
