import type { Logger } from "pino";
import { dispatchOutbox, type DispatchOutcome } from "../ledger/outboxDispatch";
import type { PaymentViews } from "../ledger/paymentViews";
import type { Store } from "../store/database";
import { WEBHOOK_CHANNEL, type Db } from "../store/paymentStore";
import {
  claimDueDeliveries,
  DEFAULT_LEASE_MS,
  recordAndClaimDeliveries,
  recordAttemptOutcomes,
  type AttemptOutcome,
  type ClaimedDelivery,
  type DisabledEndpoint,
} from "../store/webhookDeliveryStore";
import { NO_ALLOWED_RANGES, type AllowList } from "../ledger/webhookAddressPolicy";
import { DELIVERY_TIMEOUT_MS, WebhookClient, type Resolve } from "./delivery";
import { retryDelay } from "./retrySchedule";
import { signDelivery } from "./signing";

/** The longest a result waits for others to be recorded with it (its lease has a minute). */
const RESULT_LINGER_MS = 5;

/** Deliveries in flight at once, unless told otherwise. */
export const DEFAULT_CONCURRENCY = 64;

export interface WebhookWorkerOptions {
  db: Db;
  views: PaymentViews;
  /** The store's LISTEN: with it, a committed status change is delivered within milliseconds instead of at the next poll. */
  listen?: Store["listen"];
  logger: Logger;
  /** Non-public ranges deliveries may reach (WEBHOOK_ALLOWED_CIDRS). */
  allowList?: AllowList;
  /** Outbox rows dispatched, and deliveries claimed, per statement. */
  batchSize?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** How long a claimed delivery stays this worker's; must exceed twice `timeoutMs` (a claimed delivery may wait one for its slot). */
  leaseMs?: number;
  /** How often to look for work without a notification: retries that have come due, a lost LISTEN session. */
  idlePollMs?: number;
  /** The deadline of one attempt. */
  timeoutMs?: number;
  /** Tests: the clock retries are scheduled and endpoints' failures measured by (the database's when absent). */
  now?: () => Date;
  /** Tests: the retry jitter's random source. */
  random?: () => number;
  /** Tests: how host names resolve (to check the address policy without DNS). */
  resolve?: Resolve;
}

/**
 * Delivers the merchants' webhooks: takes outbox rows as events, sends every due delivery signed, and records what
 * came of it. Deliveries run concurrently while the loop goes on claiming and recording, so that a slow endpoint holds
 * only its own deliveries' slots, never the round. Any number of workers can share one PostgreSQL database.
 */
export class WebhookWorker {
  private readonly db: Db;
  private readonly views: PaymentViews;
  private readonly listen?: Store["listen"];
  private readonly logger: Logger;
  private readonly client: WebhookClient;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly idlePollMs: number;
  private readonly now?: () => Date;
  private readonly random: () => number;

  /** Results waiting to be recorded, and when the first of them came. */
  private results: AttemptOutcome[] = [];
  private firstResultAt = 0;
  /** Results recorded, and deliveries claimed, this many at a time while deliveries are in flight. */
  private readonly batchThreshold: number;
  private readonly inFlight = new Set<Promise<void>>();
  /**
   * Claimed deliveries waiting for a slot, in the order claimed; at most `concurrency` of them, so that one waits at
   * most one attempt's deadline for its slot and its lease (which must exceed two deadlines) holds until it is sent.
   */
  private readonly ready: ClaimedDelivery[] = [];
  /** Set by anything that may have made work: a notification, a finished delivery, the poll. */
  private woken = false;
  private wake?: () => void;

  constructor(options: WebhookWorkerOptions) {
    this.db = options.db;
    this.views = options.views;
    this.listen = options.listen;
    this.logger = options.logger;
    this.batchSize = positive("batchSize", options.batchSize ?? 200);
    this.concurrency = positive("concurrency", options.concurrency ?? DEFAULT_CONCURRENCY);
    const timeoutMs = positive("timeoutMs", options.timeoutMs ?? DELIVERY_TIMEOUT_MS);
    this.leaseMs = positive("leaseMs", options.leaseMs ?? DEFAULT_LEASE_MS);
    // A claimed delivery may wait one deadline for a slot before its own attempt's deadline (see `ready`).
    if (this.leaseMs <= 2 * timeoutMs) throw new Error(`leaseMs: must exceed twice timeoutMs (${2 * timeoutMs}), got ${this.leaseMs}`);
    this.idlePollMs = positive("idlePollMs", options.idlePollMs ?? 1_000);
    this.batchThreshold = Math.max(1, Math.floor(Math.min(this.concurrency, this.batchSize) / 2));
    this.now = options.now;
    this.random = options.random ?? Math.random;
    this.client = new WebhookClient({ allowList: options.allowList ?? NO_ALLOWED_RANGES, resolve: options.resolve, timeoutMs });
  }

  /**
   * Works until `signal` aborts, then lets the deliveries in flight finish (each within its deadline), records them
   * and returns. Database errors are logged and retried after a pause; they never end the loop.
   */
  async run(signal: AbortSignal): Promise<void> {
    const onAbort = () => this.wakeUp();
    signal.addEventListener("abort", onAbort);
    let outboxDue = true;
    let deliveriesDue = true;
    let lastLook = 0;
    /** After a database error no step starts before this time (a database that is down is not hammered). */
    let pausedUntil = 0;
    let stopListening: (() => Promise<void>) | undefined;
    if (this.listen) {
      try {
        stopListening = await this.listen(WEBHOOK_CHANNEL, () => {
          outboxDue = deliveriesDue = true;
          this.wakeUp();
        });
      } catch (error) {
        this.logger.warn({ err: error }, `cannot LISTEN on ${WEBHOOK_CHANNEL}; polling every ${this.idlePollMs} ms instead`);
      }
    }
    // Recording, dispatching and claiming touch different rows (results are leased to this worker, a claim takes only
    // rows leased to no one), so each runs as soon as it is due, on a connection of its own, without waiting for the
    // others: a dispatch of a large outbox must not hold back the claims that keep deliveries flowing.
    const steps = {
      record: undefined as Promise<void> | undefined,
      dispatch: undefined as Promise<void> | undefined,
      claim: undefined as Promise<void> | undefined,
    };
    const launch = (name: keyof typeof steps, step: () => Promise<void>) => {
      steps[name] = step()
        .catch((error: unknown) => {
          if (signal.aborted) return;
          this.logger.error({ err: error }, "webhook worker: database error; retrying");
          outboxDue = deliveriesDue = true;
          pausedUntil = Date.now() + this.idlePollMs;
        })
        .finally(() => {
          steps[name] = undefined;
          this.wakeUp();
        });
    };
    try {
      while (!signal.aborted) {
        this.woken = false;
        // Retries come due without a notification: look at least once per poll interval however busy the loop is.
        if (Date.now() - lastLook >= this.idlePollMs) {
          outboxDue = deliveriesDue = true;
          lastLook = Date.now();
        }
        const paused = Date.now() < pausedUntil;
        // Each flag is cleared before its statement, so that a notification arriving meanwhile sets it again.
        if (!paused && !steps.dispatch && outboxDue) {
          outboxDue = false;
          launch("dispatch", async () => {
            const dispatched = await this.dispatch();
            if (dispatched.consumed === this.batchSize) outboxDue = true;
            if (dispatched.deliveries > 0) deliveriesDue = true;
          });
        }
        // A finished delivery frees its slot at once, not when its result is recorded (a round trip later), and takes
        // the next claimed delivery waiting. Claims keep up to `concurrency` waiting beyond the slots, so that they can
        // come in batches of half that, each a statement, without the slots running dry meanwhile; results waiting to
        // be recorded are bounded apart, by as many again.
        const held = this.inFlight.size + this.ready.length;
        const free = Math.min(this.batchSize, 2 * this.concurrency - held, 3 * this.concurrency - held - this.results.length);
        // Idle, claim at once (a single event is sent within milliseconds); busy, wait for a batch's worth of room.
        if (!paused && !steps.claim && deliveriesDue && free > 0 && (free >= this.batchThreshold || held === 0)) {
          deliveriesDue = false;
          // The results waiting go with the claim: recorded by the same statement, they cost no round trip of their own.
          const results = this.takeResults();
          launch("claim", async () => {
            let claimed;
            try {
              const exchanged = await recordAndClaimDeliveries(this.db, results, { limit: free, leaseMs: this.leaseMs, now: this.now?.() });
              this.disabled(exchanged.disabled);
              claimed = exchanged.claimed;
            } catch (error) {
              this.results = [...results, ...this.results];
              throw error;
            }
            if (claimed.length === free) deliveriesDue = true;
            this.ready.push(...claimed);
            this.startReady();
          });
        }
        // Results not taken by a claim are recorded on their own once due.
        if (!paused && !steps.record && this.recordDue()) launch("record", () => this.record());
        const lingering = this.results.length > 0 && !steps.record ? Math.max(0, this.firstResultAt + RESULT_LINGER_MS - Date.now()) : this.idlePollMs;
        await this.sleep(paused ? Math.max(0, pausedUntil - Date.now()) : lingering);
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      await stopListening?.();
      await Promise.all([steps.record, steps.dispatch, steps.claim]);
      // Deliveries claimed are sent before stopping (their leases would otherwise delay them by a minute).
      while (this.inFlight.size > 0) await Promise.race(this.inFlight);
      if (this.results.length > 0)
        await this.record().catch((error) =>
          this.logger.error({ err: error }, "webhook worker: could not record the last results; their leases will run out and they will be sent again"),
        );
      this.client.close();
    }
  }

  /**
   * One round, awaited to the end: dispatches the whole outbox, then claims, sends and records every due delivery.
   * For tests and scripts; `run` is the worker.
   */
  async runOnce(): Promise<{ events: number; attempts: number }> {
    let events = 0;
    for (;;) {
      const dispatched = await this.dispatch();
      events += dispatched.events;
      if (dispatched.consumed < this.batchSize) break;
    }
    let attempts = 0;
    for (;;) {
      const claimed = await claimDueDeliveries(this.db, { limit: this.batchSize, leaseMs: this.leaseMs, now: this.now?.() });
      const pending = [...claimed];
      const lanes = Array.from({ length: Math.min(this.concurrency, pending.length) }, async () => {
        for (let delivery = pending.shift(); delivery; delivery = pending.shift()) this.results.push(await this.deliver(delivery));
      });
      await Promise.all(lanes);
      attempts += this.results.filter((outcome) => outcome.attempt).length;
      await this.record();
      if (claimed.length < this.batchSize) break;
    }
    return { events, attempts };
  }

  /** Closes idle connections; `run` does this when it ends. */
  close(): void {
    this.client.close();
  }

  /**
   * Whether to record the results waiting now: when a batch's worth has come in, when nothing else is in flight, or
   * when the first has waited RESULT_LINGER_MS. Recording each result as it lands would cost a transaction per delivery.
   */
  private recordDue(): boolean {
    if (this.results.length === 0) return false;
    return this.results.length >= this.batchThreshold || this.inFlight.size === 0 || Date.now() - this.firstResultAt >= RESULT_LINGER_MS;
  }

  private async dispatch(): Promise<DispatchOutcome> {
    const dispatched = await dispatchOutbox(this.db, this.views, { limit: this.batchSize, now: this.now?.() });
    for (const row of dispatched.malformed) this.logger.error(row, "webhook worker: dropped an outbox row whose data cannot be read");
    return dispatched;
  }

  /** Sends claimed deliveries, in the order claimed, while slots are free. */
  private startReady(): void {
    while (this.inFlight.size < this.concurrency && this.ready.length > 0) this.start(this.ready.shift()!);
  }

  private start(delivery: ClaimedDelivery): void {
    const flight: Promise<void> = this.deliver(delivery).then((outcome) => {
      if (this.results.length === 0) this.firstResultAt = Date.now();
      this.results.push(outcome);
      this.inFlight.delete(flight);
      this.startReady();
      this.wakeUp();
    });
    this.inFlight.add(flight);
  }

  /** Sends one delivery, signed now; never throws. */
  private async deliver(delivery: ClaimedDelivery): Promise<AttemptOutcome> {
    if (delivery.closed) return { delivery };
    const startedAt = new Date();
    let result;
    let signature: string | undefined;
    try {
      const headers = signDelivery({ id: delivery.eventId, body: delivery.body, secrets: delivery.secrets, at: startedAt });
      signature = headers["webhook-signature"];
      result = await this.client.post(delivery.url, delivery.body, headers);
    } catch (error) {
      result = { ok: false, gone: false, error: `could not send: ${(error as Error).message}`, durationMs: 0 };
    }
    const outcome: AttemptOutcome = { delivery, attempt: { startedAt, signature, ...result } };
    if (!result.ok) {
      const elapsedMs = (this.now?.() ?? new Date()).getTime() - delivery.createdAt.getTime();
      outcome.retryDelayMs = retryDelay(delivery.attempt, { retryAfterMs: result.retryAfterMs, random: this.random, elapsedMs });
    }
    if (this.logger.isLevelEnabled("debug"))
      this.logger.debug(
        {
          delivery: delivery.id,
          event: delivery.eventId,
          endpoint: delivery.endpointId,
          attempt: delivery.attempt,
          status: result.status,
          error: result.error,
          ms: result.durationMs,
        },
        "webhook attempt",
      );
    return outcome;
  }

  /** Records the waiting results; on failure they stay waiting for the next try. */
  private async record(): Promise<void> {
    const batch = this.takeResults();
    try {
      this.disabled((await recordAttemptOutcomes(this.db, batch, { now: this.now?.() })).disabled);
    } catch (error) {
      this.results = [...batch, ...this.results];
      throw error;
    }
  }

  private takeResults(): AttemptOutcome[] {
    const batch = this.results;
    this.results = [];
    return batch;
  }

  private disabled(endpoints: readonly DisabledEndpoint[]): void {
    for (const endpoint of endpoints) this.logger.warn({ endpoint: endpoint.id, reason: endpoint.reason }, "webhook endpoint disabled");
  }

  private wakeUp(): void {
    this.woken = true;
    this.wake?.();
  }

  /** Waits `ms` or until woken (a wake since the round began counts: it is never lost). */
  private sleep(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: must be a positive number, got ${value}`);
  return value;
}
