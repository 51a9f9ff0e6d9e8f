import { randomBytes } from "node:crypto";
import { install as installFakeClock } from "@sinonjs/fake-timers";
import { expect } from "chai";
import { dispatchOutbox } from "../src/ledger/outboxDispatch";
import { WEBHOOK_EVENT_TYPES } from "../src/payments/webhookEventTypes";
import { useLocalChain } from "./support/localChain";
import {
  createdPayment,
  deliveriesOf,
  expectError,
  freshStackEachTest,
  insertDelivery,
  insertEvent,
  newMerchant,
  type ApiFixture,
} from "./support/merchantApiHelpers";
import { call, startApiStack } from "./support/merchantApiStack";
import { openTestStore } from "./support/stores";
import { outboxTypes } from "./support/paymentRecords";

async function newEndpoint(f: ApiFixture, body: Record<string, unknown> = { url: "http://127.0.0.1:4000/hooks" }, key = f.key) {
  const response = await call(f.api, "POST", "/v1/webhook_endpoints", { key, body });
  expect(response.status, JSON.stringify(response.body)).to.equal(201);
  return response.body;
}

const storedEndpoint = (f: ApiFixture, id: string) => f.db.selectFrom("webhook_endpoints").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

describe("merchant API: webhook endpoints, the event log, rate limits and the OpenAPI document", function () {
  const chain = useLocalChain();

  describe("webhook endpoints", function () {
    const fixture = freshStackEachTest(chain);

    it("creates an endpoint with a whsec_ secret shown once: lists never show it", async function () {
      const f = fixture();
      const created = await newEndpoint(f, {
        url: "http://127.0.0.1:4000/hooks",
        description: "orders",
        event_types: ["payment.completed", "payment.refunded"],
      });
      expect(created).to.include({
        object: "webhook_endpoint",
        url: "http://127.0.0.1:4000/hooks",
        description: "orders",
        enabled: true,
        disabled_reason: null,
        failing_since: null,
      });
      expect(created.id).to.match(/^we_[0-9a-f]{16}$/);
      expect(created.event_types).to.deep.equal(["payment.completed", "payment.refunded"]);
      // Standard Webhooks: whsec_ and the base64 of the key (32 random bytes here).
      expect(created.secret).to.match(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
      expect(Buffer.from(created.secret.slice("whsec_".length), "base64")).to.have.length(32);
      expect((await storedEndpoint(f, created.id)).secret).to.equal(created.secret);

      const all = await newEndpoint(f, { url: "https://example.com/hooks" });
      expect(all.event_types).to.equal(null);
      expect(all.secret).to.not.equal(created.secret);

      const listed = await call(f.api, "GET", "/v1/webhook_endpoints", { key: f.key });
      expect(listed.status).to.equal(200);
      expect(listed.body.data.map((endpoint: { id: string }) => endpoint.id)).to.deep.equal([created.id, all.id]);
      for (const endpoint of listed.body.data) expect(endpoint).to.not.have.property("secret");
      expect(JSON.stringify(listed.body)).to.not.include(created.secret.slice(6)).and.not.include(all.secret.slice(6));
    });

    it("validates event types and the other fields, naming each", async function () {
      const f = fixture();
      const bad: Array<[unknown, string]> = [
        [{ url: "https://example.com/h", event_types: ["payment.nope"] }, "event_types.0"],
        [{ url: "https://example.com/h", event_types: ["payment.created", "charge.succeeded"] }, "event_types.1"],
        [{ url: "https://example.com/h", event_types: [] }, "event_types"],
        [{ url: "https://example.com/h", event_types: "payment.created" }, "event_types"],
        [{ url: "https://example.com/h", description: "d".repeat(501) }, "description"],
        [{ url: "https://example.com/h", secret: "whsec_mine" }, "secret"],
        [{}, "url"],
        [{ url: 42 }, "url"],
      ];
      for (const [body, field] of bad) expectError(await call(f.api, "POST", "/v1/webhook_endpoints", { key: f.key, body }), 400, field);
      // Every event type the API documents can be chosen.
      const every = await newEndpoint(f, { url: "https://example.com/h", event_types: [...WEBHOOK_EVENT_TYPES] });
      expect(every.event_types).to.deep.equal([...WEBHOOK_EVENT_TYPES]);
      expect((await call(f.api, "GET", "/v1/webhook_endpoints", { key: f.key })).body.data).to.have.length(1);
    });

    it("refuses URLs that point into the operator's network or are not http(s); the allow-list lets 127.0.0.1 through", async function () {
      const f = fixture();
      const refused = [
        "http://10.0.0.1/hooks",
        "http://192.168.1.20:8080/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://167772161/hooks", // 10.0.0.1 in decimal
        "http://localhost:4000/hooks",
        "http://api.localhost/hooks",
        "http://127.0.0.2/hooks", // loopback, but not the allow-listed address
        "http://[::1]/hooks",
        "http://0.0.0.0/hooks",
        "ftp://example.com/hooks",
        "file:///etc/passwd",
        "http://user:secret@example.com/hooks",
        "https://example.com/hooks#fragment",
        "not a url",
      ];
      for (const url of refused) {
        const response = await call(f.api, "POST", "/v1/webhook_endpoints", { key: f.key, body: { url } });
        expectError(response, 400, "url");
      }
      expect((await call(f.api, "GET", "/v1/webhook_endpoints", { key: f.key })).body.data).to.deep.equal([]);

      const allowed = await newEndpoint(f, { url: "http://127.0.0.1:4000/hooks" });
      const publicUrl = await newEndpoint(f, { url: "https://hooks.example.com/open-pay?token=abc" });
      // Changing the URL is checked the same way, and leaves the endpoint as it was when refused.
      expectError(await call(f.api, "PATCH", `/v1/webhook_endpoints/${allowed.id}`, { key: f.key, body: { url: "http://10.0.0.1/" } }), 400, "url");
      expectError(await call(f.api, "PATCH", `/v1/webhook_endpoints/${publicUrl.id}`, { key: f.key, body: { url: "http://169.254.169.254/" } }), 400, "url");
      expect((await storedEndpoint(f, allowed.id)).url).to.equal("http://127.0.0.1:4000/hooks");
      const moved = await call(f.api, "PATCH", `/v1/webhook_endpoints/${publicUrl.id}`, { key: f.key, body: { url: "https://hooks.example.com/v2" } });
      expect(moved.status).to.equal(200);
      expect(moved.body.url).to.equal("https://hooks.example.com/v2");
    });

    it("rotates the secret (the old one kept for the grace period), updates, disables, enables and deletes", async function () {
      const f = fixture();
      const endpoint = await newEndpoint(f);

      const rotated = await call(f.api, "POST", `/v1/webhook_endpoints/${endpoint.id}/rotate_secret`, { key: f.key });
      expect(rotated.status).to.equal(200);
      expect(rotated.body.secret)
        .to.match(/^whsec_/)
        .and.not.equal(endpoint.secret);
      const stored = await storedEndpoint(f, endpoint.id);
      expect(stored.secret).to.equal(rotated.body.secret);
      expect(stored.previous_secret).to.equal(endpoint.secret);
      expect(new Date(stored.previous_secret_expires_at!).getTime()).to.be.greaterThan(Date.now());

      const disabled = await call(f.api, "PATCH", `/v1/webhook_endpoints/${endpoint.id}`, { key: f.key, body: { enabled: false } });
      expect(disabled.status).to.equal(200);
      expect(disabled.body).to.include({ enabled: false, disabled_reason: "disabled by the merchant" });
      expect(disabled.body).to.not.have.property("secret");
      const enabled = await call(f.api, "PATCH", `/v1/webhook_endpoints/${endpoint.id}`, { key: f.key, body: { enabled: true } });
      expect(enabled.body).to.include({ enabled: true, disabled_reason: null, failing_since: null });

      const changed = await call(f.api, "PATCH", `/v1/webhook_endpoints/${endpoint.id}`, {
        key: f.key,
        body: { description: "refunds only", event_types: ["payment.refunded"] },
      });
      expect(changed.body).to.include({ description: "refunds only", url: endpoint.url });
      expect(changed.body.event_types).to.deep.equal(["payment.refunded"]);
      const cleared = await call(f.api, "PATCH", `/v1/webhook_endpoints/${endpoint.id}`, { key: f.key, body: { description: null, event_types: null } });
      expect(cleared.body).to.include({ description: null, event_types: null });
      const unchanged = await call(f.api, "PATCH", `/v1/webhook_endpoints/${endpoint.id}`, { key: f.key, body: {} });
      expect(unchanged.status).to.equal(200);
      expect(unchanged.body.id).to.equal(endpoint.id);
      expectError(await call(f.api, "PATCH", `/v1/webhook_endpoints/${endpoint.id}`, { key: f.key, body: { enabled: "yes" } }), 400, "enabled");
      expectError(await call(f.api, "PATCH", `/v1/webhook_endpoints/${endpoint.id}`, { key: f.key, body: { event_types: [] } }), 400, "event_types");
      expectError(await call(f.api, "PATCH", `/v1/webhook_endpoints/${endpoint.id}`, { key: f.key, body: { secret: "x" } }), 400, "secret");

      // A pending delivery to the endpoint ends as failed when it is deleted.
      const payment = await createdPayment(f);
      const event = await insertEvent(f.db, { merchantId: f.merchant.id }, { paymentId: payment.id });
      await insertDelivery(f.db, event, endpoint.id, "pending");
      const deleted = await call(f.api, "DELETE", `/v1/webhook_endpoints/${endpoint.id}`, { key: f.key });
      expect(deleted.status).to.equal(200);
      expect(deleted.body).to.deep.equal({ object: "webhook_endpoint", id: endpoint.id, deleted: true });
      expect((await deliveriesOf(f.db, event)).map((delivery) => delivery.status)).to.deep.equal(["failed"]);
      expect((await call(f.api, "GET", "/v1/webhook_endpoints", { key: f.key })).body.data).to.deep.equal([]);
      for (const [method, path, body] of [
        ["DELETE", `/v1/webhook_endpoints/${endpoint.id}`, undefined],
        ["PATCH", `/v1/webhook_endpoints/${endpoint.id}`, { enabled: true }],
        ["POST", `/v1/webhook_endpoints/${endpoint.id}/rotate_secret`, undefined],
        ["DELETE", "/v1/webhook_endpoints/we_0123456789abcdef", undefined],
      ] as const) {
        expectError(await call(f.api, method, path, { key: f.key, body }), 404, "id", "not_found_error");
      }
      for (const id of ["we_xyz", "0123456789abcdef", "we_0123456789ABCDEF", `we_${"a".repeat(17)}`]) {
        expectError(await call(f.api, "DELETE", `/v1/webhook_endpoints/${id}`, { key: f.key }), 400, "id");
      }
    });
  });

  describe("the event log", function () {
    const fixture = freshStackEachTest(chain);

    it("holds payment.created in the outbox once a payment is created; dispatched, the log lists it with its deliveries", async function () {
      const f = fixture();
      const everything = await newEndpoint(f, { url: "http://127.0.0.1:4000/all" });
      await newEndpoint(f, { url: "http://127.0.0.1:4000/completed", event_types: ["payment.completed"] });
      const payment = await createdPayment(f, { amount_usd: "42.00", order_id: "o-42" });
      expect(await outboxTypes(f.db, payment.id)).to.deep.equal(["payment.created"]);

      await dispatchOutbox(f.db, f.api.context.views, { limit: 100 });
      const listed = await call(f.api, "GET", "/v1/events", { key: f.key });
      expect(listed.status).to.equal(200);
      expect(listed.body).to.include({ object: "list", has_more: false, next_cursor: null });
      expect(listed.body.data).to.have.length(1);
      const [event] = listed.body.data;
      expect(event).to.include({ object: "event", type: "payment.created", payment_id: payment.id, sequence: 0 });
      expect(event.id).to.match(/^msg_/);
      expect(event.data.type).to.equal("payment.created");
      expect(event.data.data).to.include({ id: payment.id, status: "initiated", amount_usd: "42.00", order_id: "o-42" });
      // Only the endpoint that takes every type gets it.
      expect(event.deliveries).to.have.length(1);
      expect(event.deliveries[0]).to.include({ endpoint_id: everything.id, status: "pending", last_error: null });
      expect(event.deliveries[0].attempts).to.deep.equal([]);

      const one = await call(f.api, "GET", `/v1/events/${event.id}`, { key: f.key });
      expect(one.status).to.equal(200);
      expect(one.body).to.deep.equal(event);
      expect(
        (await call(f.api, "GET", `/v1/events?payment_id=${payment.id}&type=payment.created&delivery_status=pending`, { key: f.key })).body.data,
      ).to.have.length(1);
      expect((await call(f.api, "GET", "/v1/events?type=payment.completed", { key: f.key })).body.data).to.deep.equal([]);
      expect((await call(f.api, "GET", "/v1/events?delivery_status=failed", { key: f.key })).body.data).to.deep.equal([]);
    });

    it("lists events newest first with their attempts, pages them, and validates ids and filters", async function () {
      const f = fixture();
      const endpoint = await newEndpoint(f);
      const payment = await createdPayment(f);
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        // Two events share each millisecond: the cursor breaks ties by id.
        ids.push(
          await insertEvent(
            f.db,
            { merchantId: f.merchant.id },
            { paymentId: payment.id, createdAt: new Date(Date.UTC(2026, 2, 1, 0, 0, Math.floor(i / 2))), sequence: i },
          ),
        );
      }
      await insertDelivery(f.db, ids[6], endpoint.id, "failed", [
        { responseStatus: 500, error: "HTTP 500" },
        { responseStatus: null, error: "timed out after 15 s" },
      ]);
      const expected = ids
        .map((id, i) => ({ id, at: Math.floor(i / 2) }))
        .sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1))
        .map(({ id }) => id);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const response = await call(f.api, "GET", `/v1/events?limit=3${cursor ? `&starting_after=${cursor}` : ""}`, { key: f.key });
        expect(response.status, JSON.stringify(response.body)).to.equal(200);
        seen.push(...response.body.data.map((event: { id: string }) => event.id));
        cursor = response.body.next_cursor;
        pages += 1;
      } while (cursor);
      expect(pages).to.equal(3);
      expect(seen).to.deep.equal(expected);

      const failed = await call(f.api, "GET", "/v1/events?delivery_status=failed", { key: f.key });
      expect(failed.body.data.map((event: { id: string }) => event.id)).to.deep.equal([ids[6]]);
      const [delivery] = failed.body.data[0].deliveries;
      expect(delivery).to.include({ endpoint_id: endpoint.id, status: "failed", next_attempt_at: null, last_error: "timed out after 15 s" });
      expect(
        delivery.attempts.map((attempt: { attempt: number; response_status: number | null; error: string | null }) => [
          attempt.attempt,
          attempt.response_status,
          attempt.error,
        ]),
      ).to.deep.equal([
        [1, 500, "HTTP 500"],
        [2, null, "timed out after 15 s"],
      ]);

      for (const id of ["evt_1", "msg_", "msg_has-dash", `msg_${"a".repeat(65)}`]) {
        expectError(await call(f.api, "GET", `/v1/events/${id}`, { key: f.key }), 400, "id");
        expectError(await call(f.api, "POST", `/v1/events/${id}/resend`, { key: f.key }), 400, "id");
      }
      expectError(await call(f.api, "GET", "/v1/events/msg_0000unknown", { key: f.key }), 404, "id", "not_found_error");
      expectError(await call(f.api, "POST", "/v1/events/msg_0000unknown/resend", { key: f.key }), 404, "id", "not_found_error");
      for (const [query, field] of [
        ["?type=charge.succeeded", "type"],
        ["?payment_id=0x12", "payment_id"],
        ["?delivery_status=lost", "delivery_status"],
        ["?limit=500", "limit"],
        ["?starting_after=%2F%2F%2F", "starting_after"],
      ]) {
        expectError(await call(f.api, "GET", `/v1/events${query}`, { key: f.key }), 400, field);
      }
    });

    it("resends an event with the same id: to every subscribed active endpoint, or to the one named", async function () {
      const f = fixture();
      const all = await newEndpoint(f, { url: "http://127.0.0.1:4000/all" });
      const completedOnly = await newEndpoint(f, { url: "http://127.0.0.1:4000/completed", event_types: ["payment.completed"] });
      const createdToo = await newEndpoint(f, { url: "http://127.0.0.1:4000/created", event_types: ["payment.created", "payment.completed"] });
      const off = await newEndpoint(f, { url: "http://127.0.0.1:4000/off" });
      await call(f.api, "PATCH", `/v1/webhook_endpoints/${off.id}`, { key: f.key, body: { enabled: false } });
      const payment = await createdPayment(f);
      const event = await insertEvent(f.db, { merchantId: f.merchant.id }, { paymentId: payment.id, type: "payment.created" });
      await insertDelivery(f.db, event, all.id, "failed", [{ responseStatus: 503, error: "HTTP 503" }]);

      // No body: every active endpoint subscribed to payment.created.
      const resent = await call(f.api, "POST", `/v1/events/${event}/resend`, { key: f.key });
      expect(resent.status, JSON.stringify(resent.body)).to.equal(202);
      expect(resent.body).to.deep.equal({ object: "resend", deliveries: 2 });
      const deliveries = await deliveriesOf(f.db, event);
      expect(deliveries.map((delivery) => [delivery.endpoint_id, delivery.status])).to.have.deep.members([
        [all.id, "failed"],
        [all.id, "pending"],
        [createdToo.id, "pending"],
      ]);

      // Named: that endpoint, whatever it subscribes to; a disabled or unknown one is refused.
      const named = await call(f.api, "POST", `/v1/events/${event}/resend`, { key: f.key, body: { endpoint_id: completedOnly.id } });
      expect(named.body).to.deep.equal({ object: "resend", deliveries: 1 });
      expectError(await call(f.api, "POST", `/v1/events/${event}/resend`, { key: f.key, body: { endpoint_id: off.id } }), 400, "endpoint_id");
      expectError(await call(f.api, "POST", `/v1/events/${event}/resend`, { key: f.key, body: { endpoint_id: "we_0123456789abcdef" } }), 400, "endpoint_id");
      expectError(await call(f.api, "POST", `/v1/events/${event}/resend`, { key: f.key, body: { endpoint_id: "all" } }), 400, "endpoint_id");
      expectError(await call(f.api, "POST", `/v1/events/${event}/resend`, { key: f.key, body: { to: all.id } }), 400, "to");
      expect(await deliveriesOf(f.db, event)).to.have.length(4);
      const logged = await call(f.api, "GET", `/v1/events/${event}`, { key: f.key });
      expect(logged.body.deliveries.map((delivery: { status: string }) => delivery.status)).to.deep.equal(["failed", "pending", "pending", "pending"]);
    });

    it("resends every failed delivery since a time, once, to endpoints that are active now", async function () {
      const f = fixture();
      const a = await newEndpoint(f, { url: "http://127.0.0.1:4000/a" });
      const b = await newEndpoint(f, { url: "http://127.0.0.1:4000/b" });
      const disabled = await newEndpoint(f, { url: "http://127.0.0.1:4000/disabled" });
      const gone = await newEndpoint(f, { url: "http://127.0.0.1:4000/gone" });
      const payment = await createdPayment(f);
      const since = new Date("2026-04-01T12:00:00Z");
      const at = (minutes: number) => new Date(since.getTime() + minutes * 60_000);
      const event = (createdAt: Date) => insertEvent(f.db, { merchantId: f.merchant.id }, { paymentId: payment.id, createdAt });
      const failure = [{ responseStatus: 500, error: "HTTP 500" }];

      const before = await event(at(-1));
      await insertDelivery(f.db, before, a.id, "failed", failure);
      const failedA = await event(at(0));
      await insertDelivery(f.db, failedA, a.id, "failed", failure);
      await insertDelivery(f.db, failedA, b.id, "succeeded");
      const failedB = await event(at(5));
      await insertDelivery(f.db, failedB, b.id, "failed", failure);
      const retried = await event(at(6));
      await insertDelivery(f.db, retried, a.id, "failed", failure);
      await insertDelivery(f.db, retried, a.id, "pending");
      const toDisabled = await event(at(7));
      await insertDelivery(f.db, toDisabled, disabled.id, "failed", failure);
      const toGone = await event(at(8));
      await insertDelivery(f.db, toGone, gone.id, "failed", failure);
      await call(f.api, "PATCH", `/v1/webhook_endpoints/${disabled.id}`, { key: f.key, body: { enabled: false } });
      await call(f.api, "DELETE", `/v1/webhook_endpoints/${gone.id}`, { key: f.key });
      // Another merchant's failure in the same window is theirs.
      const other = await newMerchant(f.db);
      const theirs = await insertEvent(f.db, { merchantId: other.merchant.id }, { paymentId: payment.id, createdAt: at(1) });
      await insertDelivery(f.db, theirs, a.id, "failed", failure);

      const onlyB = await call(f.api, "POST", "/v1/events/resend_failed", { key: f.key, body: { since: since.toISOString(), endpoint_id: b.id } });
      expect(onlyB.status).to.equal(202);
      expect(onlyB.body).to.deep.equal({ object: "resend", deliveries: 1 });
      const rest = await call(f.api, "POST", "/v1/events/resend_failed", { key: f.key, body: { since: "2026-04-01T14:00:00+02:00" } });
      expect(rest.body).to.deep.equal({ object: "resend", deliveries: 1 });
      const pending = async (id: string) =>
        (await deliveriesOf(f.db, id)).filter((delivery) => delivery.status === "pending").map((delivery) => delivery.endpoint_id);
      expect(await pending(before)).to.deep.equal([]);
      expect(await pending(failedA)).to.deep.equal([a.id]);
      expect(await pending(failedB)).to.deep.equal([b.id]);
      expect(await pending(retried)).to.deep.equal([a.id]);
      expect(await pending(toDisabled)).to.deep.equal([]);
      expect(await pending(toGone)).to.deep.equal([]);
      expect(await pending(theirs)).to.deep.equal([]);
      // Once queued, not again.
      expect((await call(f.api, "POST", "/v1/events/resend_failed", { key: f.key, body: { since: since.toISOString() } })).body.deliveries).to.equal(0);

      expectError(await call(f.api, "POST", "/v1/events/resend_failed", { key: f.key, body: {} }), 400, "since");
      expectError(await call(f.api, "POST", "/v1/events/resend_failed", { key: f.key, body: { since: "last tuesday" } }), 400, "since");
      expectError(
        await call(f.api, "POST", "/v1/events/resend_failed", { key: f.key, body: { since: since.toISOString(), endpoint_id: "b" } }),
        400,
        "endpoint_id",
      );
      expectError(await call(f.api, "POST", "/v1/events/resend_failed", { key: f.key }), 400, "body");
    });
  });

  describe("rate limits", function () {
    it("answers the 6th request of a key within the window with 429 and Retry-After; other keys go on; made-up keys get no lookups", async function () {
      // The limits' windows are read from Date.now(): stopped here, every burst falls in one window however slowly a
      // loaded machine sends it, and the window ends when the test says, not when the wall clock does. Timers and I/O
      // (HTTP, PostgreSQL) stay real.
      const clock = installFakeClock({ toFake: ["Date"], now: Date.now() });
      const store = await openTestStore("postgres");
      const api = await startApiStack(chain(), store, { rateLimit: 5, rateWindowMs: 60_000, authFailureLimit: 2, trustedProxies: ["127.0.0.4"] });
      try {
        const other = await newMerchant(store.db);
        const burst = await Promise.all(Array.from({ length: 6 }, () => call(api, "GET", "/v1/payments", { key: api.key })));
        const statuses = burst.map((response) => response.status).sort();
        expect(statuses, JSON.stringify(burst.map((response) => response.body.error ?? response.status))).to.deep.equal([200, 200, 200, 200, 200, 429]);
        const limited = burst.find((response) => response.status === 429)!;
        expectError(limited, 429, undefined, "rate_limit_error");
        expect(limited.headers.get("retry-after")).to.equal("60");
        expect(limited.headers.get("content-type")).to.match(/^application\/json/);
        expect(limited.headers.get("x-ratelimit-limit")).to.equal("5");

        // The key being limited is no reason to limit another merchant's.
        const others = await Promise.all(Array.from({ length: 5 }, () => call(api, "GET", "/v1/payments", { key: other.key })));
        expect(others.map((response) => response.status)).to.deep.equal([200, 200, 200, 200, 200]);
        // Without a key, the client's address is limited, before the missing key is pointed out.
        const keyless = await Promise.all(Array.from({ length: 6 }, () => call(api, "GET", "/v1/payments")));
        expect(keyless.map((response) => response.status).sort()).to.deep.equal([401, 401, 401, 401, 401, 429]);

        // Made-up keys, rotated, all at once from another address: two are looked up and fail; then this address's keys
        // are not looked up for the rest of the minute, not even a real one. (Its X-Forwarded-For is not believed.)
        const madeUp = () => `op_test_${randomBytes(24).toString("base64url")}`;
        const spoofed = { "x-forwarded-for": "198.51.100.1" };
        const rotating = await Promise.all(
          Array.from({ length: 4 }, () => call(api, "GET", "/v1/payments", { key: madeUp(), from: "127.0.0.3", headers: spoofed })),
        );
        expect(rotating.map((response) => response.status).sort()).to.deep.equal([401, 401, 429, 429]);
        const fresh = await newMerchant(store.db);
        const refused = await call(api, "GET", "/v1/payments", { key: fresh.key, from: "127.0.0.3" });
        for (const response of [...rotating.filter((answer) => answer.status === 429), refused]) {
          expectError(response, 429, "Authorization", "rate_limit_error");
          expect(response.body.error.message).to.match(/^2 unknown or revoked API keys from 127\.0\.0\.3 within 60 seconds/);
          expect(response.headers.get("retry-after")).to.equal("60");
        }
        // The same real key from another address is looked up as ever.
        expect((await call(api, "GET", "/v1/payments", { key: fresh.key })).status).to.equal(200);
        // Behind a trusted proxy, its X-Forwarded-For names the client: one client is refused, not the proxy's others.
        const proxied = (client: string, key: string) => call(api, "GET", "/v1/payments", { key, from: "127.0.0.4", headers: { "x-forwarded-for": client } });
        const behindProxy = await Promise.all(Array.from({ length: 3 }, () => proxied("203.0.113.9", madeUp())));
        expect(behindProxy.map((response) => response.status).sort()).to.deep.equal([401, 401, 429]);
        expect(behindProxy.find((response) => response.status === 429)!.body.error.message).to.match(/ from 203\.0\.113\.9 /);
        const unlooked = await newMerchant(store.db);
        expect((await proxied("203.0.113.10", unlooked.key)).status).to.equal(200);

        // Just before the window ends the key is still refused; after Retry-After, it is served again.
        clock.tick(59_999);
        expect((await call(api, "GET", "/v1/payments", { key: api.key })).status).to.equal(429);
        clock.tick(1);
        expect((await call(api, "GET", "/v1/payments", { key: api.key })).status).to.equal(200);
      } finally {
        clock.uninstall();
        await api.close();
        await store.close();
      }
    });
  });

  describe("the API's documentation", function () {
    const fixture = freshStackEachTest(chain);
    const OPERATIONS: Record<string, string[]> = {
      "/v1/payments": ["get", "post"],
      "/v1/payments/{id}": ["get"],
      "/v1/payments/{id}/refunds": ["post"],
      "/v1/payments/{id}/refunds/cancel": ["post"],
      "/v1/webhook_endpoints": ["get", "post"],
      "/v1/webhook_endpoints/{id}": ["delete", "patch"],
      "/v1/webhook_endpoints/{id}/rotate_secret": ["post"],
      "/v1/webhook_endpoints/{id}/test": ["post"],
      "/v1/events": ["get"],
      "/v1/events/{id}": ["get"],
      "/v1/events/{id}/resend": ["post"],
      "/v1/events/resend_failed": ["post"],
      "/v1/checkout_settings": ["get", "patch"],
      "/v1/balances": ["get"],
      "/v1/withdrawals": ["post"],
    };
    const WITH_BODY = new Set([
      "post /v1/payments",
      "post /v1/payments/{id}/refunds",
      "post /v1/webhook_endpoints",
      "patch /v1/webhook_endpoints/{id}",
      "post /v1/events/{id}/resend",
      "post /v1/events/resend_failed",
      "patch /v1/checkout_settings",
      "post /v1/withdrawals",
    ]);

    it("serves OpenAPI 3.1.0 at /openapi.json with every route, its parameters, request and response schemas", async function () {
      const f = fixture();
      const response = await call(f.api, "GET", "/openapi.json");
      expect(response.status).to.equal(200);
      const doc = response.body;
      // A named schema is a $ref to components.schemas: read through it, with the names it uses spelled out.
      const named = (ref: string) => doc.components.schemas[ref.replace("#/components/schemas/", "")];
      const resolved = (schema: { $ref?: string }): any => (schema.$ref ? resolved(named(schema.$ref)) : schema);
      const spelledOut = (schema: unknown): string =>
        JSON.stringify(schema).replace(/"\$ref":"(#\/components\/schemas\/\w+)"/g, (_match, ref: string) => spelledOut(named(ref)));
      expect(doc.openapi).to.equal("3.1.0");
      expect(doc.info.title).to.be.a("string");
      expect(doc.components.securitySchemes.apiKey).to.include({ type: "http", scheme: "bearer" });
      expect(Object.keys(doc.paths).sort()).to.deep.equal(Object.keys(OPERATIONS).sort());
      for (const [path, methods] of Object.entries(OPERATIONS)) {
        expect(Object.keys(doc.paths[path]).sort(), path).to.deep.equal(methods);
        for (const method of methods) {
          const operation = doc.paths[path][method];
          const name = `${method} ${path}`;
          expect(operation.summary, name).to.be.a("string");
          expect(f.api.app.hasRoute({ method: method.toUpperCase() as "GET", url: path.replace(/\{(\w+)\}/g, ":$1") }), name).to.equal(true);
          const success = Object.keys(operation.responses).filter((code) => code.startsWith("2"));
          expect(success, name).to.have.length(1);
          expect(operation.responses[success[0]].content["application/json"].schema, name).to.be.an("object");
          for (const code of ["400", "401", "404", "429"]) {
            const schema = operation.responses[code].content["application/json"].schema;
            expect(spelledOut(schema), `${name} ${code}`).to.include("message");
          }
          if (WITH_BODY.has(name)) expect(operation.requestBody.content["application/json"].schema, name).to.be.an("object");
          else expect(operation.requestBody, name).to.equal(undefined);
          if (path.includes("{id}")) {
            expect(
              operation.parameters.find((parameter: { in: string; name: string }) => parameter.in === "path" && parameter.name === "id"),
              name,
            ).to.include({ required: true });
          }
        }
      }
      const create = doc.paths["/v1/payments"].post.requestBody.content["application/json"].schema;
      expect(create.required).to.deep.equal(["amount_usd"]);
      expect(create.additionalProperties).to.equal(false);
      expect(Object.keys(create.properties)).to.have.members([
        "amount_usd",
        "description",
        "order_id",
        "metadata",
        "ttl_seconds",
        "tokens",
        "success_url",
        "cancel_url",
        "refund_address",
      ]);
      const queries = doc.paths["/v1/payments"].get.parameters
        .filter((parameter: { in: string }) => parameter.in === "query")
        .map((parameter: { name: string }) => parameter.name);
      expect(queries).to.have.members([
        "status",
        "created_from",
        "created_to",
        "order_id",
        "token",
        "amount_min",
        "amount_max",
        "search",
        "limit",
        "starting_after",
      ]);
      const payment = doc.paths["/v1/payments/{id}"].get.responses["200"].content["application/json"].schema;
      expect(Object.keys(resolved(payment).properties)).to.include.members(["checkout_url", "deposit_address", "payment_options"]);

      // Every $ref points at something in the document.
      const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((match) => match[1]);
      for (const ref of refs) {
        expect(ref.startsWith("#/"), ref).to.equal(true);
        const target = ref
          .slice(2)
          .split("/")
          .reduce<any>((node, part) => node?.[part.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
        expect(target, ref).to.not.equal(undefined);
      }
    });

    it("serves a readable reference at /docs that loads nothing from other hosts", async function () {
      const f = fixture();
      const page = await fetch(`${f.api.url}/docs`);
      expect(page.status).to.equal(200);
      expect(page.headers.get("content-type")).to.match(/^text\/html/);
      const html = await page.text();
      expect(html).to.match(/<html/i);
      const assets = [...html.matchAll(/<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((match) => match[1]);
      expect(assets.length).to.be.greaterThan(0);
      for (const asset of assets) {
        expect(asset, asset).to.not.match(/^(https?:)?\/\//i);
        const loaded = await fetch(new URL(asset, page.url));
        expect(loaded.status, asset).to.equal(200);
        const body = await loaded.text();
        if (/\.css$/.test(asset)) expect(body, asset).to.not.match(/@import\s+(url\()?["']?https?:/i);
      }
      expect(html).to.not.match(/<(script|link)\b[^>]*(src|href)\s*=\s*["']https?:/i);
      // The page's configuration asks this server for the document.
      const initializer = assets.find((asset) => asset.endsWith("swagger-initializer.js"));
      expect(initializer).to.not.equal(undefined);
      const script = await (await fetch(new URL(initializer!, page.url))).text();
      // No URL outside comments, and no online validator badge (swagger-ui would call validator.swagger.io).
      expect(script.replace(/^\s*\/\/.*$/gm, "")).to.not.match(/https?:\/\//);
      expect(script).to.match(/validatorUrl: null/);
      expect(script).to.match(/resolveUrl\('\.\/json'\)/);
      const csp = page.headers.get("content-security-policy");
      if (csp) expect(csp).to.not.match(/https?:\/\//);
    });
  });
});
