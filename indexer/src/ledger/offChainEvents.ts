import type { Payment } from "../payments/payment";
import type { CheckoutOpened, PaymentEvent, RefundAbandoned, RefundRequested, TransactionFailed } from "../payments/paymentEvents";
import { applyEvent, replay, type MachineSettings, type StatusChange } from "../payments/statusMachine";
import { readCheckpoint } from "../store/checkpointStore";
import { failedTransactionsOf } from "../store/paymentRequestStore";
import { eventsOf, insertChanges, insertEvents, insertPayment, loadPayments, notifyPaymentPages, savePayments, type Db } from "../store/paymentStore";
import type { PaymentRegistration } from "../payments/paymentRegistration";

/** Events that reach a payment from outside the chain: the checkout, the customer's wallet, the merchant's API calls. */
export type OffChainEvent = CheckoutOpened | TransactionFailed | RefundRequested | RefundAbandoned;

/** A refusal of the status machine, for the API to turn into a 4xx naming the reason. */
export class PaymentEventRefused extends Error {
  override name = "PaymentEventRefused";
}

/** Applies events to a payment and stores the result, its changes and their outbox events (in the caller's transaction). */
async function applyAndSave(db: Db, chainId: number, settings: MachineSettings, start: Payment, events: readonly PaymentEvent[]) {
  let payment = start;
  const changes: Array<{ change: StatusChange; payment: Payment }> = [];
  for (const event of events) {
    const outcome = applyEvent(payment, event, settings);
    if (!outcome.ok) throw new PaymentEventRefused(`payment ${payment.id}: ${event.kind}: ${outcome.reason}`);
    payment = outcome.payment;
    for (const change of outcome.changes) changes.push({ change, payment });
  }
  await savePayments(db, chainId, [payment]);
  await insertChanges(db, chainId, changes);
  await notifyPaymentPages(db, [payment.id]);
  return { payment, changes: changes.map(({ change }) => change) };
}

/**
 * Registers a payment the API created. Events the indexer already recorded for it (a payment made before this
 * database knew it) are applied at once; the indexer settles it (paid, expired) at its next block, once the escrow
 * agrees. Registering the same terms again returns the payment; other terms under the same id are refused.
 */
export async function registerPayment(db: Db, settings: MachineSettings, registration: PaymentRegistration): Promise<Payment> {
  return db.transaction().execute(async (trx) => {
    const existing = (await loadPayments(trx, registration.chainId, [registration.id])).get(registration.id);
    if (existing) {
      const same = (Object.keys(registration) as Array<keyof PaymentRegistration>).every(
        (key) => String(existing.registration[key]).toLowerCase() === String(registration[key]).toLowerCase(),
      );
      if (!same) throw new PaymentEventRefused(`payment ${registration.id} is already registered with other terms`);
      return existing.payment;
    }
    const checkpoint = await readCheckpoint(trx, registration.chainId);
    const created = await insertPayment(trx, registration, checkpoint?.blockNumber ?? null);
    const events = await eventsOf(trx, registration.chainId, registration.id);
    if (events.length === 0) return created;
    // Events recorded before the terms were known, announced as they apply (a replay: what does not apply is skipped).
    const { payment, changes } = replay(created, events, settings);
    await savePayments(trx, registration.chainId, [payment]);
    await insertChanges(trx, registration.chainId, changes);
    await notifyPaymentPages(trx, [payment.id]);
    return payment;
  });
}

/**
 * Records an off-chain event of a payment and applies it; throws PaymentEventRefused when the machine refuses it.
 * Runs in the caller's transaction when given one (the API's idempotent requests), else in its own.
 */
export async function recordOffChainEvent(
  db: Db,
  chainId: number,
  settings: MachineSettings,
  paymentId: string,
  event: OffChainEvent,
): Promise<{ payment: Payment; changes: StatusChange[] }> {
  const record = async (trx: Db) => {
    const stored = (await loadPayments(trx, chainId, [paymentId])).get(paymentId);
    if (!stored) throw new PaymentEventRefused(`payment ${paymentId} is not registered`);
    // A reverted transaction counts once however often the checkout reports it (the row above is locked).
    if (event.kind === "transaction_failed") {
      const reported = await failedTransactionsOf(trx, chainId, paymentId);
      if (reported.some(({ transactionHash }) => transactionHash === event.transactionHash)) return { payment: stored.payment, changes: [] };
    }
    const result = await applyAndSave(trx, chainId, settings, stored.payment, [event]);
    // Recorded with the block the indexer stood at: a rebuild after a reorganisation replays it there.
    await insertEvents(trx, chainId, [{ paymentId, event }], (await readCheckpoint(trx, chainId))?.blockNumber ?? null);
    return result;
  };
  return db.isTransaction ? record(db) : db.transaction().execute(record);
}
