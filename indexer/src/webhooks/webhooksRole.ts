import type { Logger } from "pino";
import type { PaymentViews } from "../ledger/paymentViews";
import type { AllowList } from "../ledger/webhookAddressPolicy";
import type { Store } from "../store/database";
import type { Db } from "../store/paymentStore";
import { WebhookWorker } from "./deliveryWorker";

/** What the webhooks role needs: the database, how to render payments, where webhooks may go. */
export interface WebhooksContext {
  db: Db;
  listen: Store["listen"];
  views: PaymentViews;
  logger: Logger;
  /** Ranges webhook URLs may resolve to although private (WEBHOOK_ALLOWED_CIDRS). */
  allowList: AllowList;
  /** Deliveries in flight (WEBHOOK_CONCURRENCY). */
  concurrency: number;
  /** The process's shutdown: the worker stops as it aborts, after the deliveries in flight. */
  signal: AbortSignal;
  /** Told when the worker ends: by the shutdown, or by the error given. */
  ended(error?: unknown): void;
}

/** Delivers webhooks until the signal aborts; returns what waits for the deliveries in flight. */
export function startWebhooks(context: WebhooksContext): () => Promise<void> {
  const worker = new WebhookWorker({
    db: context.db,
    views: context.views,
    listen: context.listen,
    logger: context.logger,
    allowList: context.allowList,
    concurrency: context.concurrency,
  });
  const running = worker.run(context.signal).then(
    () => context.ended(),
    (error) => context.ended(error),
  );
  context.logger.info({ allowedRanges: context.allowList.length, concurrency: context.concurrency }, "webhook worker running");
  return () => running;
}
