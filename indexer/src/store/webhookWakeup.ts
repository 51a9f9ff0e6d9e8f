import { notifyWebhookWorkers, type Db } from "./paymentStore";

/**
 * Tells the webhook workers that payments were created, at most once per `delayMs`. Creating a payment writes its
 * `payment.created` outbox row; a NOTIFY inside each of those transactions would make PostgreSQL serialise the
 * API's commits on its notification lock, so the API announces them afterwards, a burst of creations at a time.
 */
export class WebhookWakeup {
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly delayMs = 5,
  ) {}

  poke(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      // A lost wake-up costs only latency: the workers poll as well.
      notifyWebhookWorkers(this.db).catch(() => undefined);
    }, this.delayMs).unref();
  }
}
