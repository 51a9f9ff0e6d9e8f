import { expect } from "chai";
import pino from "pino";
import { Webhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import type { Store } from "../src/store/database";
import { notifyWebhookWorkers, type Db } from "../src/store/paymentStore";
import { dispatchOutbox } from "../src/ledger/outboxDispatch";
import { claimDueDeliveries, recordAndClaimDeliveries, recordAttemptOutcomes } from "../src/store/webhookDeliveryStore";
import { deleteEndpoint, rotateEndpointSecret, type WebhookEndpoint } from "../src/store/webhookEndpointStore";
import { WebhookWorker, type WebhookWorkerOptions } from "../src/webhooks/deliveryWorker";
import { MAX_ATTEMPTS, MIN_RETRY_SPAN_MS, RETRY_DELAYS_MS } from "../src/webhooks/retrySchedule";
import { describeEachStore } from "./support/stores";
import { waitingAnnouncements } from "./support/paymentRecords";
import {
  ALLOW_LOCALHOST,
  eventually,
  newEndpoint,
  newMerchant,
  newPayment,
  openCheckout,
  silentLogger,
  testViews,
  WEBHOOK_CHAIN_ID,
} from "./support/webhookFixtures";
import { WebhookReceiver, type ReceivedWebhook } from "./support/webhookReceiver";

const HOUR = 3_600_000;

/** The headers a merchant's framework hands to its verification library. */
const headersOf = (webhook: ReceivedWebhook) => ({
  "webhook-id": webhook.id,
  "webhook-timestamp": webhook.timestamp,
  "webhook-signature": webhook.signature,
});

const bodyOf = (webhook: ReceivedWebhook) => JSON.parse(webhook.body) as { type: string; timestamp: string; data: Record<string, any> };

async function deliveriesOf(db: Db, endpointId?: string) {
  let query = db.selectFrom("webhook_deliveries").selectAll().orderBy("id");
  if (endpointId) query = query.where("endpoint_id", "=", endpointId);
  return query.execute();
}

async function endpointRow(db: Db, id: string) {
  return db.selectFrom("webhook_endpoints").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
}

describeEachStore("webhook delivery", function (store: () => Store) {
  let receiver: WebhookReceiver;
  let clock: Date;
  const workers: WebhookWorker[] = [];

  /** A worker on the test's clock, with no jitter, allowed to reach 127.0.0.1. */
  const worker = (options: Partial<WebhookWorkerOptions> = {}) => {
    const created = new WebhookWorker({
      db: store().db,
      views: testViews(),
      logger: silentLogger,
      allowList: ALLOW_LOCALHOST,
      now: () => clock,
      random: () => 0.5,
      ...options,
    });
    workers.push(created);
    return created;
  };
  const advance = (ms: number) => (clock = new Date(clock.getTime() + ms));

  beforeEach(async function () {
    clock = new Date();
    receiver = await WebhookReceiver.start();
  });

  afterEach(async function () {
    for (const created of workers.splice(0)) created.close();
    await receiver.close();
  });

  it("delivers each status change signed per Standard Webhooks: standardwebhooks and svix both verify, the body is the payment as of that change", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const endpoint = await newEndpoint(db, merchant, receiver.url);
    const id = await newPayment(db, merchant, { orderId: "order-7" });
    await openCheckout(db, id);

    expect(await worker().runOnce()).to.deep.equal({ events: 2, attempts: 2 });

    expect(receiver.received).to.have.length(2);
    for (const webhook of receiver.received) {
      expect(webhook.id).to.match(/^msg_[0-9a-f]+$/);
      expect(webhook.headers["content-type"]).to.equal("application/json");
      expect(webhook.headers["user-agent"]).to.match(/^OpenPay-Webhooks\//);
      expect(webhook.path).to.equal("/hooks/openpay");
      expect(new Webhook(endpoint.secret).verify(webhook.body, headersOf(webhook))).to.deep.equal(JSON.parse(webhook.body));
      expect(() => new SvixWebhook(endpoint.secret).verify(webhook.body, headersOf(webhook))).not.to.throw();
      expect(() => new Webhook(endpoint.secret).verify(`${webhook.body} `, headersOf(webhook)), "a changed body").to.throw();
    }
    const [created, pending] = receiver.received.map(bodyOf).sort((a, b) => a.data.sequence - b.data.sequence);
    expect(created.type).to.equal("payment.created");
    expect(created.data).to.include({ object: "payment", id, status: "initiated", previous_status: null, sequence: 0, order_id: "order-7", livemode: false });
    expect(pending.type).to.equal("payment.pending");
    expect(pending.data).to.include({ id, status: "pending", previous_status: "initiated", sequence: 1, amount_usd: "25.00" });
    expect(new Date(pending.timestamp).getTime()).to.be.at.least(new Date(created.timestamp).getTime());

    const events = await db.selectFrom("webhook_events").selectAll().orderBy("sequence").execute();
    expect(events.map((event) => [event.type, event.sequence, event.merchant_id, event.payment_id])).to.deep.equal([
      ["payment.created", 0, merchant.id, id],
      ["payment.pending", 1, merchant.id, id],
    ]);
    expect(
      events.map((event) => event.body),
      "the log keeps the exact bytes sent",
    ).to.have.members(receiver.received.map((webhook) => webhook.body));
    expect((await deliveriesOf(db)).map((delivery) => [delivery.status, delivery.attempts])).to.deep.equal([
      ["succeeded", 1],
      ["succeeded", 1],
    ]);
    const attempts = await db.selectFrom("webhook_attempts").selectAll().execute();
    expect(attempts.map((attempt) => [attempt.attempt, attempt.response_status, attempt.error])).to.deep.equal([
      [1, 200, null],
      [1, 200, null],
    ]);
    expect(await waitingAnnouncements(db), "the outbox and the changes are announced").to.deep.equal([]);
  });

  it("sends each event to the merchant's live, subscribed endpoints of its mode only, and drops events of payments the API did not create", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const other = await newMerchant(db, "Another shop");
    const all = await newEndpoint(db, merchant, `${receiver.url}?all`);
    const pendingOnly = await newEndpoint(db, merchant, `${receiver.url}?pending`, { eventTypes: ["payment.pending"] });
    await newEndpoint(db, merchant, `${receiver.url}?completed`, { eventTypes: ["payment.completed"] });
    await newEndpoint(db, merchant, `${receiver.url}?live`, { mode: "live" });
    await newEndpoint(db, other, `${receiver.url}?other`);
    const deleted = await newEndpoint(db, merchant, `${receiver.url}?deleted`);
    await deleteEndpoint(db, { merchantId: merchant.id, mode: "test" }, deleted.id);
    const disabled = await newEndpoint(db, merchant, `${receiver.url}?disabled`);
    await db
      .updateTable("webhook_endpoints")
      .set({ disabled_at: new Date(), disabled_reason: "disabled by the merchant" })
      .where("id", "=", disabled.id)
      .execute();

    const id = await newPayment(db, merchant);
    await openCheckout(db, id);
    // A payment registered by other means (no payment_requests row): its changes reach no merchant.
    await db
      .insertInto("outbox")
      .values({ chain_id: WEBHOOK_CHAIN_ID, payment_id: `0x${"ab".repeat(32)}`, type: "payment.pending", data: JSON.stringify({ change: null, payment: {} }) })
      .execute();
    // Another chain's outbox is another worker's.
    await db
      .insertInto("outbox")
      .values({ chain_id: 56, payment_id: id, type: "payment.pending", data: JSON.stringify({ change: null, payment: {} }) })
      .execute();

    expect(await worker().runOnce()).to.deep.equal({ events: 2, attempts: 3 });
    const got = receiver.received.map((webhook) => `${webhook.path.split("?")[1]} ${bodyOf(webhook).type}`).sort();
    expect(got).to.deep.equal(["all payment.created", "all payment.pending", "pending payment.pending"]);
    expect((await deliveriesOf(db, pendingOnly.id)).length).to.equal(1);
    expect((await deliveriesOf(db, all.id)).length).to.equal(2);
    expect((await db.selectFrom("outbox").select(["chain_id"]).execute()).map((row) => row.chain_id)).to.deep.equal([56]);
  });

  it("drops an outbox row it cannot read, saying so, and goes on with the others", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, receiver.url);
    const id = await newPayment(db, merchant);
    const unreadable = [
      { change: { paymentId: id, sequence: 1, from: "initiated", to: "sideways", reason: "deposit" }, payment: {} },
      { change: null, payment: { amountUsd: "twenty" } },
    ];
    for (const data of unreadable)
      await db
        .insertInto("outbox")
        .values({ chain_id: WEBHOOK_CHAIN_ID, payment_id: id, type: "payment.x", data: JSON.stringify(data) })
        .execute();
    await openCheckout(db, id);
    const logged: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "error" }, { write: (line: string) => void logged.push(JSON.parse(line)) });

    expect(await worker({ logger }).runOnce()).to.deep.equal({ events: 2, attempts: 2 });
    expect(receiver.received.map((webhook) => bodyOf(webhook).type).sort()).to.deep.equal(["payment.created", "payment.pending"]);
    expect(await waitingAnnouncements(db)).to.deep.equal([]);
    expect(logged.map((line) => [line.msg, line.paymentId])).to.deep.equal([
      ["webhook worker: dropped an outbox row whose data cannot be read", id],
      ["webhook worker: dropped an outbox row whose data cannot be read", id],
    ]);
    expect(String(logged[0].error)).to.match(/no event type for payment\.x/);
    expect(String(logged[1].error)).to.match(/twenty/);
  });

  it("keeps trying a receiver that is down, then failing, and delivers every event once it is back, with the same webhook-id", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const endpoint = await newEndpoint(db, merchant, receiver.url);
    const ids = [await newPayment(db, merchant), await newPayment(db, merchant)];
    for (const id of ids) await openCheckout(db, id);
    const delivering = worker();

    await receiver.stop();
    expect(await delivering.runOnce()).to.deep.equal({ events: 4, attempts: 4 });
    let deliveries = await deliveriesOf(db);
    expect(deliveries.map((delivery) => delivery.status)).to.deep.equal(["pending", "pending", "pending", "pending"]);
    expect(deliveries[0].last_error).to.match(/ECONNREFUSED/);
    expect(new Date(deliveries[0].next_attempt_at).getTime()).to.equal(clock.getTime() + RETRY_DELAYS_MS[0]);
    expect((await endpointRow(db, endpoint.id)).failing_since).not.to.equal(null);

    expect((await delivering.runOnce()).attempts, "nothing is due before its time").to.equal(0);

    await receiver.restart();
    receiver.reply = () => ({ status: 500, body: "upstream broke" });
    advance(RETRY_DELAYS_MS[0]);
    expect((await delivering.runOnce()).attempts).to.equal(4);
    deliveries = await deliveriesOf(db);
    expect(deliveries.map((delivery) => [delivery.status, delivery.attempts, delivery.last_error])).to.deep.equal(
      Array(4).fill(["pending", 2, "responded 500: upstream broke"]),
    );

    receiver.reply = () => ({ status: 204 });
    advance(RETRY_DELAYS_MS[1]);
    expect((await delivering.runOnce()).attempts).to.equal(4);
    deliveries = await deliveriesOf(db);
    expect(deliveries.map((delivery) => [delivery.status, delivery.attempts])).to.deep.equal(Array(4).fill(["succeeded", 3]));
    expect((await endpointRow(db, endpoint.id)).failing_since, "a success clears the failure").to.equal(null);

    const events = await db.selectFrom("webhook_events").select("id").execute();
    expect(receiver.received).to.have.length(8);
    expect(receiver.ids).to.deep.equal(new Set(events.map((event) => event.id)));
    for (const event of events)
      expect(
        receiver.received.filter((webhook) => webhook.id === event.id),
        event.id,
      ).to.have.length(2);
    const attempts = await db.selectFrom("webhook_attempts").select(["event_id", "attempt", "response_status"]).orderBy("id").execute();
    expect(attempts.filter((attempt) => attempt.event_id === events[0].id).map((attempt) => [attempt.attempt, attempt.response_status])).to.deep.equal([
      [1, null],
      [2, 500],
      [3, 204],
    ]);
  });

  it("disables an endpoint that answers 410 Gone, and fails its other deliveries", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const endpoint = await newEndpoint(db, merchant, receiver.url);
    const id = await newPayment(db, merchant);
    const delivering = worker({ batchSize: 1 });
    receiver.reply = () => ({ status: 410 });
    await delivering.runOnce();
    await openCheckout(db, id);
    await delivering.runOnce();

    const row = await endpointRow(db, endpoint.id);
    expect(row.disabled_at).not.to.equal(null);
    expect(row.disabled_reason).to.equal("responded 410 Gone");
    expect(receiver.received).to.have.length(1);
    expect((await deliveriesOf(db)).map((delivery) => [delivery.status, delivery.last_error])).to.deep.equal([
      ["failed", "endpoint disabled: responded 410 Gone"],
    ]);
  });

  it("fails queued deliveries without a request once their endpoint is disabled or deleted", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const disabled = await newEndpoint(db, merchant, `${receiver.url}?a`);
    const deleted = await newEndpoint(db, merchant, `${receiver.url}?b`);
    await newPayment(db, merchant);
    const delivering = worker();
    receiver.reply = () => ({ status: 500 });
    await delivering.runOnce();
    await db
      .updateTable("webhook_endpoints")
      .set({ disabled_at: new Date(), disabled_reason: "disabled by the merchant" })
      .where("id", "=", disabled.id)
      .execute();
    await db.updateTable("webhook_endpoints").set({ deleted_at: new Date() }).where("id", "=", deleted.id).execute();
    advance(HOUR);
    expect((await delivering.runOnce()).attempts).to.equal(0);
    expect(receiver.received).to.have.length(2);
    expect((await deliveriesOf(db, disabled.id)).map((delivery) => [delivery.status, delivery.last_error])).to.deep.equal([
      ["failed", "endpoint disabled: disabled by the merchant"],
    ]);
    expect((await deliveriesOf(db, deleted.id)).map((delivery) => [delivery.status, delivery.last_error])).to.deep.equal([["failed", "endpoint deleted"]]);
  });

  it("counts a redirect as a failure and does not follow it", async function () {
    const { db } = store();
    const elsewhere = await WebhookReceiver.start();
    try {
      const merchant = await newMerchant(db);
      await newEndpoint(db, merchant, receiver.url);
      await newPayment(db, merchant);
      receiver.reply = () => ({ status: 307, headers: { location: elsewhere.url } });
      await worker().runOnce();
      expect(receiver.received).to.have.length(1);
      expect(elsewhere.received).to.have.length(0);
      const [delivery] = await deliveriesOf(db);
      expect(delivery.status).to.equal("pending");
      expect(delivery.last_error).to.equal(`responded 307, a redirect (not followed: Location ${elsewhere.url})`);
    } finally {
      await elsewhere.close();
    }
  });

  it("waits a 429's or 503's Retry-After (seconds or an HTTP date) when it is longer than the schedule, never less", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, receiver.url);
    await newPayment(db, merchant);
    const delivering = worker();

    receiver.reply = () => ({ status: 429, headers: { "retry-after": "120" } });
    await delivering.runOnce();
    let [delivery] = await deliveriesOf(db);
    expect(delivery.status).to.equal("pending");
    expect(delivery.last_error).to.equal("responded 429");
    expect(new Date(delivery.next_attempt_at).getTime(), "two minutes, not the schedule's 5 s").to.equal(clock.getTime() + 120_000);

    advance(120_000);
    receiver.reply = () => ({ status: 503, headers: { "retry-after": new Date(Date.now() + 2 * HOUR).toUTCString() } });
    await delivering.runOnce();
    [delivery] = await deliveriesOf(db);
    const delay = new Date(delivery.next_attempt_at).getTime() - clock.getTime();
    expect(delay, "two hours, not the schedule's 5 minutes").to.be.within(2 * HOUR - 5_000, 2 * HOUR);

    advance(delay);
    receiver.reply = () => ({ status: 429, headers: { "retry-after": "1" } });
    await delivering.runOnce();
    [delivery] = await deliveriesOf(db);
    expect(new Date(delivery.next_attempt_at).getTime() - clock.getTime(), "the schedule's 30 minutes, not 1 s").to.equal(RETRY_DELAYS_MS[2]);
  });

  /**
   * Runs the worker on the test's clock, moving the clock to each retry's time, until the one delivery is no longer
   * pending; returns the time since the start of each request the receiver got.
   */
  async function retryUntilSettled(db: Db, delivering: WebhookWorker): Promise<number[]> {
    const start = clock.getTime();
    const requests: number[] = [];
    const answer = receiver.reply;
    receiver.reply = (webhook) => {
      requests.push(clock.getTime() - start);
      return answer(webhook);
    };
    for (;;) {
      await delivering.runOnce();
      const [delivery] = await deliveriesOf(db);
      if (delivery.status !== "pending") return requests;
      clock = new Date(delivery.next_attempt_at);
    }
  }

  it("delivers to a receiver that sheds load for minutes answering 429 with Retry-After: 1", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, receiver.url);
    await newPayment(db, merchant);
    const sheddingUntil = clock.getTime() + 3 * 60_000;
    receiver.reply = () => (clock.getTime() < sheddingUntil ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 });

    const requests = await retryUntilSettled(db, worker());
    const [delivery] = await deliveriesOf(db);
    expect([delivery.status, delivery.attempts]).to.deep.equal(["succeeded", 3]);
    expect(requests, "the schedule's 5 s and 5 min, not a second each").to.deep.equal([0, RETRY_DELAYS_MS[0], RETRY_DELAYS_MS[0] + RETRY_DELAYS_MS[1]]);
  });

  it("goes on retrying a receiver that sheds load for four days past three days, and never gives up sooner", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, receiver.url);
    await newPayment(db, merchant);
    const sheddingUntil = clock.getTime() + 4 * 24 * HOUR;
    receiver.reply = () => (clock.getTime() < sheddingUntil ? { status: 503, headers: { "retry-after": "1" } } : { status: 200 });

    // Jitter drawn as low as it goes every time.
    const requests = await retryUntilSettled(db, worker({ random: () => 0 }));
    expect(requests).to.have.length(MAX_ATTEMPTS);
    expect(requests[requests.length - 1], "the last attempt").to.be.at.least(MIN_RETRY_SPAN_MS);
    const [delivery] = await deliveriesOf(db);
    expect(delivery.status).to.equal("failed");
    expect(delivery.last_error).to.match(/^endpoint disabled: failing since .* \(more than 3 days without a success\); last error: responded 503$/);
  });

  it("gives up on a receiver that does not answer within the deadline, and tries again later", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, receiver.url);
    await newPayment(db, merchant);
    receiver.reply = () => "stall";
    await worker({ timeoutMs: 300, leaseMs: 60_000 }).runOnce();
    const [delivery] = await deliveriesOf(db);
    expect(delivery.status).to.equal("pending");
    expect(delivery.last_error).to.equal("no complete response within 300 ms");
    const [attempt] = await db.selectFrom("webhook_attempts").selectAll().execute();
    expect(attempt.response_status).to.equal(null);
  });

  it("disables an endpoint that has failed for more than three days, saying since when and why", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const endpoint = await newEndpoint(db, merchant, receiver.url);
    await newPayment(db, merchant);
    receiver.reply = () => ({ status: 502, body: "Bad Gateway" });
    // Jitter drawn as low as it goes every time: the schedule still spans more than three days.
    const delivering = worker({ random: () => 0 });
    const firstFailure = clock.toISOString();
    let attempts = 0;
    for (;;) {
      attempts += (await delivering.runOnce()).attempts;
      const [delivery] = await deliveriesOf(db);
      if (delivery.status !== "pending") break;
      clock = new Date(delivery.next_attempt_at);
    }
    expect(attempts).to.equal(10);
    expect(clock.getTime() - new Date(firstFailure).getTime()).to.be.greaterThan(72 * HOUR);
    const row = await endpointRow(db, endpoint.id);
    expect(row.disabled_at).not.to.equal(null);
    expect(row.disabled_reason).to.equal(`failing since ${firstFailure} (more than 3 days without a success); last error: responded 502: Bad Gateway`);
    const [delivery] = await deliveriesOf(db);
    expect(delivery.status).to.equal("failed");
    expect(delivery.last_error).to.equal(`endpoint disabled: ${row.disabled_reason}`);
    expect(receiver.received).to.have.length(10);
    expect(receiver.ids.size, "one webhook-id throughout").to.equal(1);
  });

  it("fails a delivery whose schedule is spent only once three days have passed, naming the last error", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const endpoint = await newEndpoint(db, merchant, receiver.url);
    await newPayment(db, merchant);
    receiver.reply = () => ({ status: 500 });
    const delivering = worker();
    await delivering.runOnce();
    // Attempts spent within the hour (workers that died mid-attempt use them too): the span still holds.
    await db.updateTable("webhook_deliveries").set({ attempts: 9, next_attempt_at: clock }).execute();
    await delivering.runOnce();
    let [delivery] = await deliveriesOf(db);
    expect([delivery.status, delivery.attempts]).to.deep.equal(["pending", 10]);
    expect(new Date(delivery.next_attempt_at).getTime()).to.equal(new Date(delivery.created_at).getTime() + MIN_RETRY_SPAN_MS);

    await db
      .updateTable("webhook_deliveries")
      .set({ created_at: new Date(clock.getTime() - MIN_RETRY_SPAN_MS), next_attempt_at: clock })
      .execute();
    await delivering.runOnce();
    [delivery] = await deliveriesOf(db);
    expect([delivery.status, delivery.attempts, delivery.last_error]).to.deep.equal(["failed", 11, "gave up after 11 attempts; last: responded 500"]);
    expect((await endpointRow(db, endpoint.id)).disabled_at, "an hour of failures does not disable the endpoint").to.equal(null);
  });

  it("signs with both secrets during a rotation's grace, each verifying; with the new one alone afterwards", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const owner = { merchantId: merchant.id, mode: "test" as const };
    const original = await newEndpoint(db, merchant, receiver.url);
    const rotated = (await rotateEndpointSecret(db, owner, original.id))!;
    expect(rotated.secret).not.to.equal(original.secret);
    await newPayment(db, merchant);
    await worker({ now: undefined }).runOnce();
    const [during] = receiver.received;
    expect(during.signature.split(" ")).to.have.length(2);
    for (const secret of [original.secret, rotated.secret]) {
      expect(() => new Webhook(secret).verify(during.body, headersOf(during))).not.to.throw();
      expect(() => new SvixWebhook(secret).verify(during.body, headersOf(during))).not.to.throw();
    }

    const after = (await rotateEndpointSecret(db, owner, original.id, 0))! as WebhookEndpoint;
    await newPayment(db, merchant);
    await worker({ now: undefined }).runOnce();
    const last = receiver.received[1];
    expect(last.signature.split(" ")).to.have.length(1);
    expect(() => new Webhook(after.secret).verify(last.body, headersOf(last))).not.to.throw();
    expect(() => new Webhook(rotated.secret).verify(last.body, headersOf(last)), "the grace is over").to.throw();
  });

  it("records nothing over a newer attempt when its lease was taken over (the attempt number fences it)", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, receiver.url);
    await newPayment(db, merchant);
    await worker()
      .runOnce()
      .catch(() => undefined);
    // Start again from a fresh, pending delivery.
    await db.updateTable("webhook_deliveries").set({ status: "pending", attempts: 0, next_attempt_at: clock, leased_until: null }).execute();

    const [first] = await claimDueDeliveries(db, { limit: 10, leaseMs: 1_000, now: clock });
    expect(await claimDueDeliveries(db, { limit: 10, leaseMs: 1_000, now: clock }), "leased").to.deep.equal([]);
    const later = new Date(clock.getTime() + 1_001);
    const [second] = await claimDueDeliveries(db, { limit: 10, leaseMs: 1_000, now: later });
    expect([first.id, first.attempt, second.id, second.attempt]).to.deep.equal([first.id, 1, first.id, 2]);

    const attempt = { startedAt: clock, durationMs: 5, ok: false, status: 500, gone: false, error: "responded 500" };
    await recordAttemptOutcomes(db, [{ delivery: first, attempt, retryDelayMs: 5_000 }], { now: later });
    let [delivery] = await deliveriesOf(db);
    expect([delivery.status, delivery.attempts, delivery.last_error], "the late result of attempt 1 changes nothing").to.deep.equal(["pending", 2, null]);
    expect(delivery.leased_until, "attempt 2's lease stands").not.to.equal(null);

    await recordAttemptOutcomes(db, [{ delivery: second, attempt: { ...attempt, ok: true, status: 200, error: undefined } }], { now: later });
    [delivery] = await deliveriesOf(db);
    expect([delivery.status, delivery.attempts]).to.deep.equal(["succeeded", 2]);
    const logged = await db.selectFrom("webhook_attempts").select(["attempt", "response_status"]).orderBy("id").execute();
    expect(
      logged.slice(-2).map((row) => [row.attempt, row.response_status]),
      "both attempts are in the log",
    ).to.deep.equal([
      [1, 500],
      [2, 200],
    ]);
  });

  it("records each outcome of a batch, successes and failures, in the statement that claims the next batch, which never takes them", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, receiver.url);
    for (let i = 0; i < 6; i++) await newPayment(db, merchant);
    await dispatchOutbox(db, testViews(), { limit: 100, now: clock });
    const batch = await claimDueDeliveries(db, { limit: 4, leaseMs: 60_000, now: clock });
    expect(batch).to.have.length(4);
    const made = (ok: boolean, status: number) => ({ startedAt: clock, durationMs: 3, ok, status, gone: false, error: ok ? undefined : `responded ${status}` });
    // The results come in two minutes later: the batch's leases have run out, and still the claim must not take them.
    const later = new Date(clock.getTime() + 120_000);
    const { claimed, disabled } = await recordAndClaimDeliveries(
      db,
      [
        { delivery: batch[0], attempt: made(true, 200) },
        { delivery: batch[1], attempt: made(false, 500), retryDelayMs: 30_000 },
        { delivery: batch[2], attempt: made(true, 204) },
        { delivery: batch[3], attempt: made(false, 502) },
      ],
      { limit: 10, leaseMs: 60_000, now: later },
    );
    expect(disabled).to.deep.equal([]);
    const others = (await deliveriesOf(db)).filter((delivery) => !batch.some((claimedBefore) => claimedBefore.id === String(delivery.id)));
    expect(claimed.map((delivery) => [delivery.id, delivery.attempt]).sort()).to.deep.equal(others.map((delivery) => [String(delivery.id), 1]).sort());

    const byId = new Map((await deliveriesOf(db)).map((delivery) => [String(delivery.id), delivery]));
    const states = batch.map(({ id }) => byId.get(id)!).map((delivery) => [delivery.status, delivery.attempts, delivery.leased_until, delivery.last_error]);
    expect(states).to.deep.equal([
      ["succeeded", 1, null, null],
      ["pending", 1, null, "responded 500"],
      ["succeeded", 1, null, null],
      ["failed", 1, null, "gave up after 1 attempts; last: responded 502"],
    ]);
    expect(new Date(byId.get(batch[1].id)!.next_attempt_at).getTime(), "retried 30 s after the result").to.equal(later.getTime() + 30_000);
    const logged = await db.selectFrom("webhook_attempts").select(["delivery_id", "attempt", "response_status", "error"]).orderBy("id").execute();
    expect(logged.map((row) => [String(row.delivery_id), row.attempt, row.response_status, row.error])).to.deep.equal([
      [batch[0].id, 1, 200, null],
      [batch[1].id, 1, 500, "responded 500"],
      [batch[2].id, 1, 204, null],
      [batch[3].id, 1, 502, "responded 502"],
    ]);
  });

  it("records a batch that changes an endpoint's health before claiming, disabling the endpoint that answered 410", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const gone = await newEndpoint(db, merchant, receiver.url);
    for (let i = 0; i < 3; i++) await newPayment(db, merchant);
    await dispatchOutbox(db, testViews(), { limit: 100, now: clock });
    const [first] = await claimDueDeliveries(db, { limit: 1, now: clock });
    const { claimed, disabled } = await recordAndClaimDeliveries(
      db,
      [{ delivery: first, attempt: { startedAt: clock, durationMs: 3, ok: false, status: 410, gone: true, error: "responded 410 Gone" } }],
      { limit: 10, now: clock },
    );
    expect(disabled).to.deep.equal([{ id: gone.id, reason: "responded 410 Gone" }]);
    expect(claimed, "the endpoint's other deliveries failed before the claim").to.deep.equal([]);
    expect((await deliveriesOf(db)).map((delivery) => delivery.status)).to.deep.equal(["failed", "failed", "failed"]);
  });

  it("sends every delivery it has claimed before it stops, leaving none leased", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, receiver.url);
    for (let i = 0; i < 12; i++) await newPayment(db, merchant);
    // One slot: most of a claim waits for it, and the stop comes while they wait.
    const running = worker({ batchSize: 12, concurrency: 1, now: undefined });
    const stop = new AbortController();
    const done = running.run(stop.signal);
    await eventually("a first delivery", () => receiver.received.length > 0);
    stop.abort();
    await done;
    const deliveries = await deliveriesOf(db);
    expect(
      deliveries.filter((delivery) => delivery.leased_until !== null),
      "leased",
    ).to.deep.equal([]);
    expect(
      deliveries.filter((delivery) => delivery.attempts > 0).every((delivery) => delivery.status === "succeeded"),
      "each delivery claimed was sent and recorded",
    ).to.equal(true);
    expect(receiver.received).to.have.length(deliveries.filter((delivery) => delivery.attempts > 0).length);
  });

  it("runs until stopped, waking on each committed change (LISTEN/NOTIFY) without waiting for its poll", async function () {
    const { db, listen } = store();
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, receiver.url);
    const running = worker({ listen, idlePollMs: 600_000, now: undefined });
    const stop = new AbortController();
    const done = running.run(stop.signal);
    try {
      // Let the first round find nothing and go to sleep for its (ten-minute) poll.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const id = await newPayment(db, merchant);
      // The API announces creations after their commit (WebhookWakeup); status changes announce themselves.
      await notifyWebhookWorkers(db);
      await receiver.until("payment.created", () => receiver.received.length === 1);
      await openCheckout(db, id);
      await receiver.until("payment.pending", () => receiver.received.length === 2);
      expect(receiver.received.map((webhook) => bodyOf(webhook).type)).to.deep.equal(["payment.created", "payment.pending"]);
      await eventually("both recorded as succeeded", async () => (await deliveriesOf(db)).every((delivery) => delivery.status === "succeeded"));
    } finally {
      stop.abort();
      await done;
    }
  });

  it("running, delivers a backlog larger than its batches and slots, recording each delivery's one attempt exactly", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, receiver.url);
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(await newPayment(db, merchant));
    // Batches of 7 outbox rows and claims, 5 deliveries in flight: dispatch, claims and records overlap many times.
    const running = worker({ batchSize: 7, concurrency: 5, now: undefined });
    const stop = new AbortController();
    const done = running.run(stop.signal);
    try {
      await eventually("every delivery recorded", async () => (await deliveriesOf(db)).filter((delivery) => delivery.status === "succeeded").length === 60);
    } finally {
      stop.abort();
      await done;
    }
    const deliveries = await deliveriesOf(db);
    expect(deliveries.map((delivery) => [delivery.status, delivery.attempts, delivery.leased_until])).to.deep.equal(Array(60).fill(["succeeded", 1, null]));
    const attempts = await db.selectFrom("webhook_attempts").select(["delivery_id", "attempt", "response_status"]).execute();
    expect(attempts).to.have.length(60);
    expect(new Set(attempts.map((attempt) => String(attempt.delivery_id))).size).to.equal(60);
    expect(attempts.every((attempt) => attempt.attempt === 1 && attempt.response_status === 200)).to.equal(true);
    expect(new Set(receiver.received.map((webhook) => bodyOf(webhook).data.id))).to.deep.equal(new Set(ids));
    expect(receiver.received).to.have.length(60);
    expect(await waitingAnnouncements(db)).to.have.length(0);
  });
});
