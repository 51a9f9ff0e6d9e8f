import pino from "pino";
import { PaymentViews } from "../indexer/src/ledger/paymentViews";
import type { ConfirmationPolicy } from "../indexer/src/payments/confirmations";
import { parseAllowList } from "../indexer/src/ledger/webhookAddressPolicy";
import type { Store } from "../indexer/src/store/database";
import { WebhookWorker } from "../indexer/src/webhooks/deliveryWorker";

/** What a benchmark's webhook worker is told: the chain its payments are on, and its deliveries in flight. */
export interface BenchWorkerSettings {
  chainId: number;
  confirmations: ConfirmationPolicy;
  /** WEBHOOK_CONCURRENCY; the worker's default when absent. */
  concurrency?: number;
}

/**
 * The webhook worker of bench/webhooks.ts, in a worker process of its own or in the benchmark's: as an operator's
 * (woken by LISTEN, silent), with the receiver on 127.0.0.1 allowed. It imports nothing of Hardhat, so that a worker
 * process carries only what `npm run webhooks` would.
 */
export function benchWebhookWorker(store: Store, { chainId, confirmations, concurrency }: BenchWorkerSettings): WebhookWorker {
  return new WebhookWorker({
    db: store.db,
    views: new PaymentViews({ chainId, tokens: new Map(), publicUrl: "http://127.0.0.1:8080", confirmations }),
    listen: store.listen,
    logger: pino({ level: "silent" }),
    allowList: parseAllowList("127.0.0.1/32"),
    concurrency,
  });
}
