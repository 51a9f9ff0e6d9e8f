/**
 * One webhook worker in a process of its own, for bench/webhooks.ts: as operators run them (`npm run webhooks`), each
 * worker has its own event loop, and its CPU can be told apart from the receiver's and the benchmark's. The benchmark
 * runs it compiled to JavaScript, as `npm run webhooks` runs dist/: ts-node would load node:repl, and with it
 * node:domain, whose EventEmitter#emit wrapper costs every event of every socket.
 *
 * Told {url, settings} by the benchmark, it opens the store and says "ready"; on "go" it runs until "stop", then
 * reports the statements it sent to PostgreSQL (its round trips) and exits.
 */
import pg from "pg";
import { openStore } from "../indexer/src/store/database";
import { benchWebhookWorker, type BenchWorkerSettings } from "./benchWebhookWorker";

/** Round trips: every statement a pg client sends (Kysely's, BEGIN/COMMIT, LISTEN) goes through Client#query. */
let statements = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  return (query as (...args: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

interface Start {
  url: string;
  settings: BenchWorkerSettings;
}

process.once("message", async ({ url, settings }: Start) => {
  const store = await openStore({ url });
  const worker = benchWebhookWorker(store, settings);
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
