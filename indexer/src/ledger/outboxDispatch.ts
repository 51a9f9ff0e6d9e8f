import { newPayment } from "../payments/payment";
import { modeOfChain } from "../payments/paymentResource";
import { BALANCE_EVENT_TYPES, eventTypeOf, WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../payments/webhookEventTypes";
import type { WithdrawalOutboxData } from "../store/merchantLedgerStore";
import { loadPaymentRecords, type PaymentRecord } from "../store/paymentRequestStore";
import type { Db } from "../store/paymentStore";
import {
  claimOutboxRows,
  merchantsAt,
  newEventIds,
  outboxContent,
  outboxWaiting,
  recordDispatch,
  type EventRow,
  type OutboxRow,
} from "../store/webhookDeliveryStore";
import { withdrawalResource } from "./balanceResources";
import type { PaymentViews } from "./paymentViews";
import { sameAddress } from "../payments/addresses";

export interface DispatchOutcome {
  /** Announcements taken (and consumed), the merchants' and others'. */
  consumed: number;
  /** Events written to merchants' event logs. */
  events: number;
  /** Deliveries created, one per event and subscribed endpoint. */
  deliveries: number;
  /** Announcements whose data could not be read: dropped (kept, they would stop every dispatch after them), for the log. */
  malformed: Array<{ outboxId: string; paymentId: string; error: string }>;
}

/**
 * Turns up to `limit` announcements of the views' chain (outbox rows and status changes not announced yet, oldest
 * first) into events, each with a delivery for every endpoint of the payment's merchant and mode that is live and
 * subscribed to its type, and consumes them; all in one transaction, so that a crash leaves either the announcement
 * or its event and deliveries. Announcements of payments the API did not create (no payment_requests row) have no
 * merchant to tell and are dropped.
 *
 * The body is the payment resource as of the change: built from the current record with the machine's state taken
 * from the announcement (over the state it was registered with), so that a merchant reading events late still sees each status (and its previous_status and
 * sequence) as it was.
 */
export async function dispatchOutbox(db: Db, views: PaymentViews, { limit, now }: { limit: number; now?: Date }): Promise<DispatchOutcome> {
  if (!(await outboxWaiting(db, views.chainId))) return { consumed: 0, events: 0, deliveries: 0, malformed: [] };
  return db.transaction().execute(async (trx) => {
    const rows = await claimOutboxRows(trx, views.chainId, limit);
    if (rows.length === 0) return { consumed: 0, events: 0, deliveries: 0, malformed: [] };

    const balanceRows = rows.filter((row) => (BALANCE_EVENT_TYPES as readonly string[]).includes(row.type));
    const records = await loadPaymentRecords(
      trx,
      views.chainId,
      rows.filter((row) => !balanceRows.includes(row)).map((row) => row.payment_id),
    );
    const announced: Array<{ type: WebhookEventType; at: Date; record: PaymentRecord }> = [];
    const malformed: DispatchOutcome["malformed"] = [];
    for (const row of rows) {
      const record = records.get(row.payment_id);
      if (!record) continue;
      let content, type;
      try {
        content = outboxContent(row.data, row.payment_id);
        // A status change says what it announces; the rest (creation, a further short deposit or partial refund)
        // are named by the row's type.
        type = content.change ? eventTypeOf(content.change) : (row.type as WebhookEventType);
        if (!WEBHOOK_EVENT_TYPES.includes(type)) throw new Error(`no event type for ${row.type} ${JSON.stringify(content.change)}`);
      } catch (error) {
        malformed.push({ outboxId: String(row.id), paymentId: row.payment_id, error: (error as Error).message });
        continue;
      }
      const at = new Date(row.created_at);
      // A change's announcement holds what differs from the payment as registered (`outboxPayment`); a creation's
      // holds it all.
      const payment = { ...(content.change ? newPayment(record.payment) : record.payment), ...content.payment };
      announced.push({ type, at, record: { ...record, payment, updatedAt: at } });
    }
    const resources = await views.resources(
      trx,
      announced.map(({ record }) => record),
    );
    const ids = newEventIds(announced.map(({ at }) => at.getTime()));
    const events: EventRow[] = (await balanceEvents(trx, views, balanceRows)).concat(
      announced.map(({ type, at, record }, i) => ({
        id: ids[i],
        merchant_id: record.merchantId,
        mode: record.mode,
        chain_id: views.chainId,
        payment_id: record.payment.id,
        type,
        sequence: record.payment.sequence,
        body: JSON.stringify({ type, timestamp: at.toISOString(), data: resources[i] }),
        created_at: at.toISOString(),
      })),
    );

    const deliveries = await recordDispatch(trx, events, rows, now);
    return { consumed: rows.length, events: events.length, deliveries, malformed };
  });
}

/**
 * Events of balance outbox rows (`balance.withdrawn`): one for every merchant of this gateway at the address, in the
 * chain's mode. Their `payment_id` is the withdrawal's id and their sequence 0: they belong to no payment.
 */
async function balanceEvents(db: Db, views: PaymentViews, rows: readonly OutboxRow[]): Promise<EventRow[]> {
  if (rows.length === 0) return [];
  const contents = rows.map((row) => (typeof row.data === "string" ? JSON.parse(row.data) : row.data) as WithdrawalOutboxData);
  const merchants = await merchantsAt(
    db,
    contents.map((content) => content.withdrawal.merchant),
  );
  const events = rows.flatMap((row, i) => {
    const at = new Date(row.created_at);
    const data = withdrawalResource(contents[i], views.tokens);
    const body = JSON.stringify({ type: row.type, timestamp: at.toISOString(), data });
    return merchants
      .filter((merchant) => sameAddress(merchant.address, contents[i].withdrawal.merchant))
      .map((merchant) => ({
        merchant_id: merchant.id,
        mode: modeOfChain(views.chainId),
        chain_id: views.chainId,
        payment_id: data.id,
        type: row.type as WebhookEventType,
        sequence: 0,
        body,
        created_at: at.toISOString(),
      }));
  });
  const ids = newEventIds(events.map((event) => Date.parse(event.created_at)));
  return events.map((event, i) => ({ id: ids[i], ...event }));
}
