import { expect } from "chai";
import type { Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { createApiKey } from "../src/store/merchantStore";
import { WebhookWorker } from "../src/webhooks/deliveryWorker";
import { pageScreenshot } from "./support/browser";
import { usePhoneBrowser } from "./support/phoneBrowser";
import { injectKeyWallet, signedInSession, useDashboardStack, type DashboardFixture } from "./support/dashboardStack";
import { CHAIN_ID, useLocalChain } from "./support/localChain";
import { expectError, newMerchant } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";
import { ALLOW_LOCALHOST, silentLogger } from "./support/webhookFixtures";
import { WebhookReceiver, type ReceivedWebhook } from "./support/webhookReceiver";

/**
 * A merchant's endpoint as a merchant would write it: it verifies each delivery's Standard Webhooks signature with
 * the one secret it holds (401 when it does not verify), then answers as the test says.
 */
class VerifyingReceiver {
  /** The secret the merchant deployed; undefined: none yet (every delivery is refused). */
  secret?: string;
  answer: { status: number; body: string } = { status: 200, body: "ok" };
  /** Each delivery and whether it verified with the secret held when it arrived. */
  readonly verified: Array<{ webhook: ReceivedWebhook; ok: boolean; type?: string }> = [];

  private constructor(readonly http: WebhookReceiver) {
    http.reply = (webhook) => {
      let type: string | undefined;
      let ok = false;
      try {
        type = (new Webhook(this.secret ?? "whsec_AAAA").verify(webhook.body, webhook.headers as Record<string, string>) as { type: string }).type;
        ok = true;
      } catch {
        ok = false;
      }
      this.verified.push({ webhook, ok, type });
      return ok ? this.answer : { status: 401, body: "signature does not verify" };
    };
  }

  static async start(): Promise<VerifyingReceiver> {
    return new VerifyingReceiver(await WebhookReceiver.start());
  }

  get url(): string {
    return this.http.url;
  }
}

describe("dashboard webhooks", function () {
  this.timeout(180_000);
  const chain = useLocalChain();
  const dashboardStack = useDashboardStack(chain, { each: "test" });
  let stack: DashboardFixture;
  let receiver: VerifyingReceiver;
  let worker: WebhookWorker;

  beforeEach(async function () {
    stack = dashboardStack();
    receiver = await VerifyingReceiver.start();
    // The gateway's delivery worker, run a round at a time by the test (as the webhook tests run it).
    worker = new WebhookWorker({ db: stack.store.db, views: stack.context.views, logger: silentLogger, allowList: ALLOW_LOCALHOST });
  });
  afterEach(async function () {
    worker?.close();
    await receiver?.http.close();
  });

  describe("over HTTP", function () {
    let key: string;
    let session: { cookie: string; csrfToken: string };

    beforeEach(async function () {
      key = (await createApiKey(stack.store.db, stack.merchant.id, "test")).key;
      session = await signedInSession(stack);
    });

    const dashboard = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      call(stack, method, path, { body, headers: { cookie: session.cookie, origin: stack.url, "x-openpay-csrf": session.csrfToken, ...headers } });

    it("sends a signed webhook.test event to one endpoint only (POST /v1/webhook_endpoints/:id/test), through the workers", async function () {
      const one = (await call(stack, "POST", "/v1/webhook_endpoints", { key, body: { url: receiver.url, event_types: ["payment.completed"] } })).body;
      // Subscribed to every type: a test event of another endpoint must still not reach it.
      const every = (await call(stack, "POST", "/v1/webhook_endpoints", { key, body: { url: `${receiver.url}?every` } })).body;
      receiver.secret = one.secret;

      const sent = await call(stack, "POST", `/v1/webhook_endpoints/${one.id}/test`, { key });
      expect(sent.status, JSON.stringify(sent.body)).to.equal(202);
      expect(sent.body).to.include({ object: "event", type: "webhook.test", payment_id: one.id, sequence: 0 });
      expect(sent.body.data).to.deep.include({ type: "webhook.test" });
      expect(sent.body.data.data).to.include({ object: "webhook_test", endpoint_id: one.id });
      expect(sent.body.deliveries.map((delivery: { endpoint_id: string; status: string }) => [delivery.endpoint_id, delivery.status])).to.deep.equal([
        [one.id, "pending"],
      ]);

      await worker.runOnce();
      expect(receiver.verified.map(({ webhook, ok, type }) => [webhook.path, webhook.id, ok, type])).to.deep.equal([
        ["/hooks/openpay", sent.body.id, true, "webhook.test"],
      ]);
      // The log shows the attempt with the signature sent; a success's response body is not kept.
      const logged = (await call(stack, "GET", `/v1/events/${sent.body.id}`, { key })).body;
      const [attempt] = logged.deliveries[0].attempts;
      expect(logged.deliveries[0].status).to.equal("succeeded");
      expect(attempt).to.include({ attempt: 1, response_status: 200, response_excerpt: null, signature: receiver.verified[0].webhook.signature });
      expect(String(Math.floor(Date.parse(attempt.at) / 1000))).to.equal(receiver.verified[0].webhook.timestamp);

      // Resent, it goes to its endpoint again and only there; another endpoint cannot be named.
      expect((await call(stack, "POST", `/v1/events/${sent.body.id}/resend`, { key })).body).to.deep.equal({ object: "resend", deliveries: 1 });
      expectError(await call(stack, "POST", `/v1/events/${sent.body.id}/resend`, { key, body: { endpoint_id: every.id } }), 400, "endpoint_id");
      await worker.runOnce();
      expect(receiver.http.received.map((webhook) => webhook.path)).to.deep.equal(["/hooks/openpay", "/hooks/openpay"]);

      // Another merchant's endpoint is not found; a disabled one is refused, saying why.
      const other = await newMerchant(stack.store.db);
      expectError(await call(stack, "POST", `/v1/webhook_endpoints/${one.id}/test`, { key: other.key }), 404, "id", "not_found_error");
      expectError(await call(stack, "POST", "/v1/webhook_endpoints/we_0000000000000000/test", { key }), 404, "id", "not_found_error");
      expectError(await call(stack, "POST", "/v1/webhook_endpoints/nope/test", { key }), 400, "id");
      await call(stack, "PATCH", `/v1/webhook_endpoints/${one.id}`, { key, body: { enabled: false } });
      expectError(await call(stack, "POST", `/v1/webhook_endpoints/${one.id}/test`, { key }), 409, "id", "conflict_error");
    });

    it("answers the dashboard with the API's resources, and a secret only on creation and rotation", async function () {
      const created = await dashboard("POST", "/dashboard/api/webhook_endpoints", { url: receiver.url, description: "Orders" });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect(created.body.secret).to.match(/^whsec_/);
      const listed = await dashboard("GET", "/dashboard/api/webhook_endpoints");
      expect(listed.headers.get("cache-control")).to.equal("no-store");
      const { secret, ...withoutSecret } = created.body;
      expect(listed.body.data).to.deep.equal([withoutSecret]);
      expect(listed.body).to.deep.equal((await call(stack, "GET", "/v1/webhook_endpoints", { key })).body);
      expect(JSON.stringify(listed.body)).to.not.include(secret.slice(6));

      const changed = await dashboard("PATCH", `/dashboard/api/webhook_endpoints/${created.body.id}`, { event_types: ["payment.completed"], enabled: false });
      expect(changed.body).to.include({ enabled: false, disabled_reason: "disabled by the merchant" });
      expect(changed.body).to.not.have.property("secret");
      expectError(await dashboard("PATCH", `/dashboard/api/webhook_endpoints/${created.body.id}`, { url: "http://10.0.0.1/hooks" }), 400, "url");
      const rotated = await dashboard("POST", `/dashboard/api/webhook_endpoints/${created.body.id}/rotate_secret`);
      expect(rotated.body.secret)
        .to.match(/^whsec_/)
        .and.not.equal(secret);

      // The delivery log pages by cursor, newest first, as GET /v1/events does.
      await dashboard("PATCH", `/dashboard/api/webhook_endpoints/${created.body.id}`, { enabled: true });
      const sent: string[] = [];
      for (let i = 0; i < 3; i++) sent.push((await dashboard("POST", `/dashboard/api/webhook_endpoints/${created.body.id}/test`)).body.id);
      const first = (await dashboard("GET", "/dashboard/api/webhook_events?limit=2")).body;
      expect(first).to.deep.equal((await call(stack, "GET", "/v1/events?limit=2", { key })).body);
      const next = (await dashboard("GET", `/dashboard/api/webhook_events?limit=2&starting_after=${first.next_cursor}`)).body;
      // Each once (two sent within one millisecond may come in either order: the id breaks the tie).
      const paged = [...first.data, ...next.data].map((event: { id: string }) => event.id);
      expect(paged).to.have.length(3).and.to.have.members(sent);
      expect(next.has_more).to.equal(false);
      expectError(await dashboard("GET", "/dashboard/api/webhook_events?limit=0"), 400, "limit");
    });

    it("answers 404 for another merchant's endpoints and events on every route, and lists none of them", async function () {
      const other = await newMerchant(stack.store.db);
      const theirs = (await call(stack, "POST", "/v1/webhook_endpoints", { key: other.key, body: { url: receiver.url } })).body;
      const theirEvent = (await call(stack, "POST", `/v1/webhook_endpoints/${theirs.id}/test`, { key: other.key })).body;
      await worker.runOnce();

      const notFound = [
        await dashboard("PATCH", `/dashboard/api/webhook_endpoints/${theirs.id}`, { description: "mine now" }),
        await dashboard("POST", `/dashboard/api/webhook_endpoints/${theirs.id}/rotate_secret`),
        await dashboard("POST", `/dashboard/api/webhook_endpoints/${theirs.id}/test`),
        await dashboard("GET", `/dashboard/api/webhook_events/${theirEvent.id}`),
        await dashboard("POST", `/dashboard/api/webhook_events/${theirEvent.id}/resend`, {}),
      ];
      for (const answer of notFound) expectError(answer, 404, "id", "not_found_error");
      expectError(
        await dashboard("POST", "/dashboard/api/webhook_events/resend_failed", { since: new Date(0).toISOString(), endpoint_id: theirs.id }),
        404,
        "endpoint_id",
        "not_found_error",
      );
      expect((await dashboard("GET", "/dashboard/api/webhook_endpoints")).body.data).to.deep.equal([]);
      expect((await dashboard("GET", "/dashboard/api/webhook_events")).body.data).to.deep.equal([]);
      // Nothing of theirs changed, and the one delivery of their test event stayed the only one.
      const stored = (await call(stack, "GET", `/v1/events/${theirEvent.id}`, { key: other.key })).body;
      expect(stored.deliveries).to.have.length(1);
      expect((await call(stack, "GET", "/v1/webhook_endpoints", { key: other.key })).body.data[0].description).to.equal(null);
    });

    it("refuses every state-changing route without the session's CSRF token or from another origin", async function () {
      const mine = (await dashboard("POST", "/dashboard/api/webhook_endpoints", { url: receiver.url })).body;
      const event = (await dashboard("POST", `/dashboard/api/webhook_endpoints/${mine.id}/test`)).body;
      expect(event.type).to.equal("webhook.test");
      const changes: Array<[string, string, unknown]> = [
        ["POST", "/dashboard/api/webhook_endpoints", { url: receiver.url }],
        ["PATCH", `/dashboard/api/webhook_endpoints/${mine.id}`, { enabled: false }],
        ["POST", `/dashboard/api/webhook_endpoints/${mine.id}/rotate_secret`, undefined],
        ["POST", `/dashboard/api/webhook_endpoints/${mine.id}/test`, undefined],
        ["POST", `/dashboard/api/webhook_events/${event.id}/resend`, {}],
        ["POST", "/dashboard/api/webhook_events/resend_failed", { since: new Date(0).toISOString() }],
      ];
      for (const [method, path, body] of changes) {
        expectError(await dashboard(method, path, body, { "x-openpay-csrf": "forged" }), 403, "x-openpay-csrf", "permission_error");
        expectError(await dashboard(method, path, body, { origin: "https://evil.example" }), 403, "Origin", "permission_error");
        expect((await call(stack, method, path, { body })).status, path).to.be.oneOf([401, 403]);
      }
      // None of them did anything: one endpoint, enabled, with its one event's one delivery.
      const endpoints = (await dashboard("GET", "/dashboard/api/webhook_endpoints")).body.data;
      expect(endpoints.map((endpoint: { id: string; enabled: boolean }) => [endpoint.id, endpoint.enabled])).to.deep.equal([[mine.id, true]]);
      const events = (await dashboard("GET", "/dashboard/api/webhook_events")).body.data;
      expect(events.map((logged: { id: string; deliveries: unknown[] }) => [logged.id, logged.deliveries.length])).to.deep.equal([[event.id, 1]]);
      const rotated = await dashboard("POST", `/dashboard/api/webhook_endpoints/${mine.id}/rotate_secret`);
      expect(rotated.body.secret).to.not.equal(mine.secret);
    });
  });

  describe("in a real browser (Chromium)", function () {
    const phone = usePhoneBrowser();
    let page: Page;

    beforeEach(async function () {
      page = await phone.newPage();
      // Rotating asks for confirmation: the merchant agrees.
      page.on("dialog", (dialog) => void dialog.accept());
      await injectKeyWallet(page, stack.merchantKey, CHAIN_ID);
      await page.goto(`${stack.url}/dashboard`);
      await page.locator("#sign-in").click();
      await page.locator("#webhooks-heading").waitFor();
    });
    const status = () => page.locator("#dashboard-status").textContent();
    /** Does `step`, then waits for the live region to tell `text`; emptied first, so that an earlier step's message is no answer. */
    const untilSaid = async (text: string, step: () => Promise<void>) => {
      await page.evaluate(() => {
        document.getElementById("dashboard-status")!.textContent = "";
      });
      await step();
      await page.waitForFunction((expected) => document.getElementById("dashboard-status")?.textContent?.includes(expected), text);
    };
    const endpointButton = (action: string) => page.locator(`#webhook-endpoints li.endpoint button[data-action=${action}]`);
    /** The deliveries of the event `id` in the log, after refreshing it. */
    const refreshed = async () => {
      await untilSaid("Deliveries refreshed.", () => page.locator("#refresh-deliveries").click());
    };
    /** A datetime-local field's value of `date` in UTC (Chromium drops zero seconds). */
    const utcField = (date: Date) => date.toISOString().slice(0, 19).replace(/:00$/, "");
    const deliveryOf = (eventId: string) => page.locator(`#webhook-deliveries li[data-event="${eventId}"] li.delivery`);
    /** Sends a test event from the page; returns its id, read from the live region. */
    const sendTest = async () => {
      await untilSaid("Test event msg_", () => endpointButton("test").click());
      return /Test event (msg_\w+)/.exec((await status())!)![1];
    };

    it("adds an endpoint, shows its secret once, delivers a test event, rotates, resends one failed delivery and every failed one", async function () {
      // Added with the form: the secret is shown once, and the endpoint verifies with it.
      await page.locator("#endpoint-form input[name=url]").fill(receiver.url);
      await page.locator("#endpoint-form input[name=description]").fill("Orders");
      await page.locator("#endpoint-form input[value='payment.completed']").check();
      await page.locator("#endpoint-save").click();
      await page.locator("#webhook-secret").waitFor();
      const secret = (await page.locator("#webhook-secret-value").textContent())!;
      expect(secret).to.match(/^whsec_[A-Za-z0-9+/]+=*$/);
      expect(await page.evaluate(() => document.activeElement?.id)).to.equal("webhook-secret-done");
      receiver.secret = secret;
      await page.locator("#webhook-secret-done").click();
      expect(await page.locator("#webhook-secret").isHidden()).to.equal(true);
      expect(await page.content()).to.not.include(secret.slice(6));
      expect(await page.locator("#webhook-endpoints li.endpoint").textContent())
        .to.include(receiver.url)
        .and.include("Orders")
        .and.include("payment.completed");

      // A test event: queued by the page, sent by the worker, verified by the receiver, shown as delivered.
      const first = await sendTest();
      await worker.runOnce();
      expect(receiver.verified.map(({ webhook, ok, type }) => [webhook.id, ok, type])).to.deep.equal([[first, true, "webhook.test"]]);
      await refreshed();
      expect(await deliveryOf(first).getAttribute("data-status")).to.equal("succeeded");
      expect(await deliveryOf(first).textContent()).to.include("attempt 1: HTTP 200");
      // Reloaded, the page has the endpoint but never its secret again.
      await page.reload();
      await page.locator("#webhook-endpoints li.endpoint").waitFor();
      expect(await page.content()).to.not.include(secret.slice(6));
      await pageScreenshot(page, "dashboard-webhooks", "#webhooks");

      // Rotated: a new secret, shown once; the next delivery verifies with it alone.
      await endpointButton("rotate").click();
      await page.locator("#webhook-secret").waitFor();
      const rotated = (await page.locator("#webhook-secret-value").textContent())!;
      expect(rotated)
        .to.match(/^whsec_/)
        .and.not.equal(secret);
      receiver.secret = rotated;
      await page.locator("#webhook-secret-done").click();
      const second = await sendTest();
      await worker.runOnce();
      expect(receiver.verified.at(-1)).to.deep.include({ ok: true, type: "webhook.test" });
      expect(receiver.verified.at(-1)!.webhook.id).to.equal(second);
      // The old secret signs beside it during its grace (docs/webhooks.md): an endpoint still holding it verifies too.
      const last = receiver.verified.at(-1)!.webhook;
      expect(new Webhook(secret).verify(last.body, last.headers as Record<string, string>)).to.deep.include({ type: "webhook.test" });
      expect(last.signature.split(" ")).to.have.length(2);

      // The receiver goes down for good (410 Gone): the worker disables the endpoint and the delivery fails. Fixed and
      // enabled again, every failed delivery since a time is resent.
      const since = new Date(Math.floor(Date.now() / 1000) * 1000);
      receiver.answer = { status: 410, body: "gone" };
      const gone = await sendTest();
      await worker.runOnce();
      await refreshed();
      expect(await deliveryOf(gone).getAttribute("data-status")).to.equal("failed");
      expect(await page.locator("#webhook-endpoints li.endpoint").getAttribute("data-enabled")).to.equal("false");
      expect(await page.locator("#webhook-endpoints li.endpoint").textContent()).to.include("responded 410 Gone");
      receiver.answer = { status: 200, body: "ok" };
      await untilSaid("enabled.", () => endpointButton("enable").click());
      const sinceField = page.locator("#resend-failed-form input[name=since]");
      // A time after the failure finds nothing to resend.
      await sinceField.fill(utcField(new Date(Date.now() + 3_600_000)));
      await untilSaid("0 failed deliveries", () => page.locator("#resend-failed-form button[type=submit]").click());
      await sinceField.fill(utcField(since));
      await untilSaid(`1 failed delivery since ${since.toISOString()} queued again.`, () => page.locator("#resend-failed-form button[type=submit]").click());
      await worker.runOnce();
      await refreshed();
      expect(await deliveryOf(gone).evaluateAll((items) => items.map((item) => item.getAttribute("data-status")))).to.deep.equal(["failed", "succeeded"]);
      expect(receiver.verified.filter(({ webhook }) => webhook.id === gone).map(({ ok }) => ok)).to.deep.equal([true, true]);

      // A 500: the delivery waits for its retry; the detail shows the request and the response.
      receiver.answer = { status: 500, body: "broken: database down" };
      const broken = await sendTest();
      await worker.runOnce();
      await refreshed();
      expect(await deliveryOf(broken).getAttribute("data-status")).to.equal("pending");
      await deliveryOf(broken).locator("button[data-action=detail]").click();
      await page.locator("#delivery-heading").waitFor();
      expect(await page.evaluate(() => document.activeElement?.id)).to.equal("delivery-heading");
      const failedAttempt = page.locator("#delivery-attempts li[data-attempt='1']");
      const sent = receiver.verified.at(-1)!.webhook;
      expect(await failedAttempt.getAttribute("data-response-status")).to.equal("500");
      expect(await failedAttempt.locator(".signature").textContent()).to.equal(sent.signature);
      expect(await failedAttempt.locator(".response").textContent()).to.equal("broken: database down");
      expect(await failedAttempt.textContent())
        .to.include(sent.timestamp)
        .and.include("broken: database down");
      expect(await page.locator("#delivery-payload").textContent()).to.include('"type": "webhook.test"');
      expect(await page.locator("#delivery-status").textContent()).to.equal("pending");
      expect(await page.locator("#delivery-detail").textContent())
        .to.include("Next retry")
        .and.include("responded 500");
      await pageScreenshot(page, "dashboard-webhook-delivery", "#webhooks");

      // Fixed, and resent from the detail: a new delivery of the same event succeeds.
      receiver.answer = { status: 200, body: "ok" };
      await untilSaid(`Event ${broken} queued again`, () => page.locator("#delivery-detail button[data-action=resend-opened]").click());
      await worker.runOnce();
      await page.locator("#refresh-deliveries").click();
      await page.waitForFunction(() => document.getElementById("delivery-status")?.textContent === "succeeded");
      const succeeded = page.locator("#delivery-attempts li[data-response-status='200']");
      expect(await succeeded.count()).to.be.greaterThan(0);
      expect(await succeeded.first().textContent()).to.include("not kept for a success");
      expect(receiver.verified.filter(({ webhook }) => webhook.id === broken).map(({ ok }) => ok)).to.include(true);

      // Nothing wider than the phone's screen, and nothing asked of another origin.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);
      phone.expectOnlyRequestsTo(stack.url, 5);
    });

    it("edits an endpoint's URL, description and event types, and disables and enables it, from the keyboard's form", async function () {
      await page.locator("#endpoint-form input[name=url]").fill(receiver.url);
      await page.locator("#endpoint-save").click();
      await page.locator("#webhook-secret-done").click();
      await endpointButton("edit").click();
      expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).name)).to.equal("url");
      expect(await page.locator("#endpoint-form-legend").textContent()).to.equal(`Edit ${receiver.url}`);
      await page.locator("#endpoint-form input[name=url]").fill(`${receiver.url}/v2`);
      await page.locator("#endpoint-form input[name=description]").fill("Refunds desk");
      await page.locator("#endpoint-form input[value='payment.refunded']").check();
      await untilSaid("saved.", () => page.locator("#endpoint-save").click());
      // No secret on an edit; the list shows the change as the API does.
      expect(await page.locator("#webhook-secret").isHidden()).to.equal(true);
      const item = page.locator("#webhook-endpoints li.endpoint");
      expect(await item.textContent())
        .to.include(`${receiver.url}/v2`)
        .and.include("Refunds desk")
        .and.include("payment.refunded");
      const key = (await createApiKey(stack.store.db, stack.merchant.id, "test")).key;
      const [stored] = (await call(stack, "GET", "/v1/webhook_endpoints", { key })).body.data;
      expect(stored).to.include({ url: `${receiver.url}/v2`, description: "Refunds desk", enabled: true });
      expect(stored.event_types).to.deep.equal(["payment.refunded"]);

      await untilSaid("disabled.", () => endpointButton("disable").click());
      expect(await item.getAttribute("data-enabled")).to.equal("false");
      expect(await endpointButton("test").isDisabled()).to.equal(true);
      // Focus stays on the control the merchant used (now Enable).
      expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.action)).to.equal("enable");
      await untilSaid("enabled.", () => page.keyboard.press("Enter"));
      expect(await item.getAttribute("data-enabled")).to.equal("true");
      expect((await call(stack, "GET", "/v1/webhook_endpoints", { key })).body.data[0].enabled).to.equal(true);
      expect(await page.locator("#dashboard-status").getAttribute("aria-live")).to.equal("polite");
    });
  });
});
