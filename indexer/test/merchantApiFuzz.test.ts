import http from "node:http";
import { expect } from "chai";
import fc from "fast-check";
import { WEBHOOK_EVENT_TYPES } from "../src/payments/webhookEventTypes";
import { PAYMENT_STATUSES } from "../src/payments/statuses";
import type { Store } from "../src/store/database";
import { createApiKey } from "../src/store/merchantStore";
import { catchUp, localIndexer, mine, revertTo, snapshot, useLocalChain } from "./support/localChain";
import { createdPayment, insertDelivery, insertEvent, newMerchant, payOnChain } from "./support/merchantApiHelpers";
import { call, startApiStack, type ApiStack } from "./support/merchantApiStack";
import { openTestStore, type StoreKind } from "./support/stores";

/**
 * The property of the issue: nothing a client sends makes the API answer 5xx. Requests are arbitrary methods on
 * the API's routes (and others), with arbitrary ids, query strings, headers and bodies: random JSON, valid bodies
 * with fields swapped for anything, text that is not JSON, huge numbers and deep nesting. Every answer must be
 * below 500 and, when an error, JSON naming the problem.
 */

interface Ids {
  key: string;
  otherKey: string;
  liveKey: string;
  payments: string[];
  endpoints: string[];
  events: string[];
}

const CUSTOMER = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
const METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "TRACE"] as const;
/** The API's routes: most requests go to one of them, with the right method. */
const ROUTES: Array<[string, string]> = [
  ["POST", "/v1/payments"],
  ["POST", "/v1/payments"],
  ["GET", "/v1/payments"],
  ["GET", "/v1/payments/{payment}"],
  ["POST", "/v1/payments/{payment}/refunds"],
  ["POST", "/v1/payments/{payment}/refunds/cancel"],
  ["POST", "/v1/webhook_endpoints"],
  ["GET", "/v1/webhook_endpoints"],
  ["PATCH", "/v1/webhook_endpoints/{endpoint}"],
  ["DELETE", "/v1/webhook_endpoints/{endpoint}"],
  ["POST", "/v1/webhook_endpoints/{endpoint}/rotate_secret"],
  ["GET", "/v1/events"],
  ["GET", "/v1/events/{event}"],
  ["POST", "/v1/events/{event}/resend"],
  ["POST", "/v1/events/resend_failed"],
  ["GET", "/v1/checkout_settings"],
  ["PATCH", "/v1/checkout_settings"],
  ["GET", "/checkout/{payment}"],
  ["POST", "/checkout/{payment}/opened"],
  ["GET", "/checkout/{payment}/status"],
  ["GET", "/checkout/{payment}/options"],
  ["GET", "/checkout/{payment}/wallet"],
  ["POST", "/checkout/{payment}/failed-transactions"],
];
const TEMPLATES = [
  "/v1/payments",
  "/v1/payments/{payment}",
  "/v1/payments/{payment}/refunds",
  "/v1/payments/{payment}/refunds/cancel",
  "/v1/webhook_endpoints",
  "/v1/webhook_endpoints/{endpoint}",
  "/v1/webhook_endpoints/{endpoint}/rotate_secret",
  "/v1/events",
  "/v1/events/{event}",
  "/v1/events/{event}/resend",
  "/v1/events/resend_failed",
  "/v1/checkout_settings",
  "/checkout/{payment}",
  "/checkout/{payment}/opened",
  "/checkout/{payment}/status",
  "/checkout/{payment}/options",
  "/checkout/{payment}/wallet",
  "/checkout/{payment}/failed-transactions",
  "/openapi.json",
  "/docs",
  "/health",
  "/v1",
  "/v1/{any}",
  "/{any}",
] as const;

/** Strings a client might send where the API expects something else. */
const nasty = fc.constantFrom(
  "",
  " ",
  "0",
  "-0",
  "-1",
  "1e3",
  "1e400",
  "NaN",
  "Infinity",
  "0x",
  `0x${"0".repeat(40)}`,
  `0x${"f".repeat(64)}`,
  "999999999999999.999999999999999999",
  "0.000000000000000001",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "𝟘𝟙",
  "é",
  "null",
  "true",
  "[]",
  "{}",
  "../../etc/passwd",
  "%00",
  "%zz",
  "<script>",
  "'; drop table payments; --",
  "x".repeat(5000),
  "http://10.0.0.1/",
  "http://127.0.0.1:1/hook",
  "https://example.com/hook",
  "2026-01-01T00:00:00Z",
  "-271821-04-20T00:00:00Z",
  "+275760-09-13T00:00:00Z",
  "USDT",
  "usdc",
  "payment.created",
);

const anything: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: "small" },
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  nasty,
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map((value) => value.toString()),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1.5, 1e308, -1e308, 2 ** 64),
);

/** Or a value of the right shape, so that requests also get past validation and into the routes. */
const decimal = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 15n - 1n }), fc.option(fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }), { nil: undefined }))
  .map(([whole, fraction]) => (fraction === undefined ? `${whole}` : `${whole}.${fraction}`));
const either = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: good }, { weight: 1, arbitrary: anything });
/** Mostly a valid value, sometimes one just outside what the schema takes. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, edge: fc.Arbitrary<U>) => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: edge });
const address = fc.oneof(
  fc.constantFrom(CUSTOMER, CUSTOMER.toLowerCase()),
  fc.uint8Array({ minLength: 20, maxLength: 20 }).map((bytes) => `0x${Buffer.from(bytes).toString("hex")}`),
);

const createPayment = fc.record(
  {
    amount_usd: either(decimal),
    description: either(mostly(fc.string({ maxLength: 500 }), fc.string({ minLength: 501, maxLength: 600 }))),
    order_id: either(mostly(fc.string({ minLength: 1, maxLength: 200 }), fc.constantFrom("", "o".repeat(201)))),
    metadata: either(
      mostly(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ maxLength: 20 }), { maxKeys: 8 }),
        fc.dictionary(fc.string({ maxLength: 45 }), fc.string(), { minKeys: 1, maxKeys: 52 }),
      ),
    ),
    ttl_seconds: either(mostly(fc.integer({ min: 60, max: 7 * 24 * 3600 }), fc.integer({ min: -10, max: 8 * 24 * 3600 }))),
    tokens: either(mostly(fc.subarray(["USDT", "USDC", "BNB"], { minLength: 1 }), fc.subarray(["USDT", "usdt", "DOGE", "bnb"]))),
    success_url: either(fc.webUrl()),
    cancel_url: either(fc.webUrl()),
    refund_address: either(address),
  },
  { requiredKeys: ["amount_usd"] },
);
const refund = fc.record({ amount: either(decimal), to: either(address) }, { requiredKeys: [] });
const endpoint = fc.record(
  {
    url: either(fc.oneof(fc.webUrl(), fc.constantFrom("http://127.0.0.1:4000/h", "http://[::1]/", "http://169.254.169.254/", "http://localhost/"))),
    description: either(fc.option(fc.string({ maxLength: 20 }))),
    event_types: either(fc.option(fc.subarray([...WEBHOOK_EVENT_TYPES, "payment.nope"]))),
    enabled: either(fc.boolean()),
  },
  { requiredKeys: [] },
);
const resend = fc.record({ since: either(fc.date({ noInvalidDate: true }).map((date) => date.toISOString())), endpoint_id: anything }, { requiredKeys: [] });

/** Any body at all. */
function anyBody(ids: Ids): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    json(createPayment),
    json(refund),
    json(endpoint),
    json(resend),
    json(resendOne(ids)),
    json(fc.jsonValue({ maxDepth: 4 })),
    json(
      fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true }).filter((value) => {
        try {
          return JSON.stringify(value) !== undefined;
        } catch {
          return false;
        }
      }),
    ),
    fc.string({ maxLength: 60 }),
    nasty,
    fc.integer({ min: 1, max: 20_000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)),
    fc.integer({ min: 1, max: 5_000 }).map((depth) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth)),
    fc.constantFrom(
      '{"amount_usd":1e400}',
      '{"ttl_seconds":1e999}',
      '{"amount_usd":"1","amount_usd":"2"}',
      '{"__proto__":{"x":1},"amount_usd":"1"}',
      `{"amount_usd":"${"9".repeat(100)}"}`,
    ),
    fc.constant(JSON.stringify({ amount_usd: "1", description: "x".repeat(70 * 1024) })),
  );
}

const json = (value: fc.Arbitrary<unknown>) => value.map((v) => JSON.stringify(v));
const resendOne = (ids: Ids) => fc.record({ endpoint_id: either(fc.constantFrom(...ids.endpoints)) }, { requiredKeys: [] });

/** A body of the shape the route takes (its fields good or anything), most of the time; else any body. */
function bodyFor(ids: Ids, template: string): fc.Arbitrary<string | undefined> {
  const shaped: Record<string, fc.Arbitrary<unknown>> = {
    "/v1/payments": createPayment,
    "/v1/payments/{payment}/refunds": refund,
    "/v1/webhook_endpoints": endpoint,
    "/v1/webhook_endpoints/{endpoint}": endpoint,
    "/v1/events/{event}/resend": resendOne(ids),
    "/v1/events/resend_failed": resend,
    "/v1/checkout_settings": fc.record(
      { checkout_frame_origins: either(fc.array(either(fc.webUrl()), { maxLength: 25 })), site_url: either(fc.webUrl()) },
      { requiredKeys: [] },
    ),
    "/checkout/{payment}/failed-transactions": fc.record({
      transaction_hash: either(fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => `0x${Buffer.from(bytes).toString("hex")}`)),
    }),
  };
  const shape = shaped[template];
  return shape ? fc.oneof({ weight: 3, arbitrary: json(shape) }, { weight: 1, arbitrary: anyBody(ids) }) : anyBody(ids);
}

function pathSegment(ids: Ids, kind: "payment" | "endpoint" | "event" | "any"): fc.Arbitrary<string> {
  const known = { payment: ids.payments, endpoint: ids.endpoints, event: ids.events, any: ["payments", "x"] }[kind];
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known) },
    fc.constantFrom(...known).map((id) => id.toUpperCase()),
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => `0x${Buffer.from(bytes).toString("hex")}`),
    fc.stringMatching(/^we_[0-9a-f]{16}$/),
    fc.stringMatching(/^msg_[0-9A-Za-z]{1,70}$/),
    fc.string({ maxLength: 80 }).map(encodeURIComponent),
    fc.string({ unit: "grapheme", maxLength: 10 }).map(encodeURIComponent),
    fc.constantFrom("%", "%zz", "%E0%A4%A", "..", "%2F", "x".repeat(300), "%00", ""),
  );
}

function query(ids: Ids): fc.Arbitrary<string> {
  const cursor = fc
    .tuple(fc.date({ noInvalidDate: true }), fc.oneof(fc.constantFrom(...ids.payments, ...ids.events), fc.string({ maxLength: 20 })))
    .map(([date, id]) => Buffer.from(`${date.toISOString()}|${id}`).toString("base64url"));
  const value = fc.oneof(
    anything.map((v) => (typeof v === "string" ? v : (JSON.stringify(v) ?? ""))),
    fc.constantFrom(...PAYMENT_STATUSES, "paid,refunded", "pending,,", ...WEBHOOK_EVENT_TYPES, "succeeded", "failed", "10", "0", "100", "101", "1e1"),
    fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
    cursor,
    fc.string({ maxLength: 30 }).map((text) => Buffer.from(text).toString("base64url")),
  );
  const key = fc.constantFrom(
    "status",
    "created_from",
    "created_to",
    "order_id",
    "limit",
    "starting_after",
    "type",
    "payment_id",
    "delivery_status",
    "token",
    "colour",
    "__proto__",
    "limit[]",
  );
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant("") },
    fc.array(fc.tuple(key, value), { maxLength: 4 }).map((pairs) => `?${new URLSearchParams(pairs)}`),
    fc.string({ maxLength: 40 }).map((raw) => `?${raw.replace(/#/g, "")}`),
    fc.constantFrom("?limit=%zz", "?status=%00", "?order_id=%00", "?=&=&", "?limit=1&limit=2", "?starting_after="),
  );
}

function headers(ids: Ids): fc.Arbitrary<Record<string, string>> {
  const headerValue = fc
    .string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((code) => String.fromCharCode(code)), maxLength: 300 })
    .map((value) => value.trim());
  const authorization = fc.oneof(
    { weight: 40, arbitrary: fc.constant(`Bearer ${ids.key}`) },
    fc.constantFrom(
      `Bearer ${ids.key}`,
      `Bearer ${ids.key}`,
      `Bearer ${ids.key}`,
      `Bearer ${ids.otherKey}`,
      `Bearer ${ids.liveKey}`,
      "Bearer",
      "Basic Zm9vOmJhcg==",
      `bearer   ${ids.key}`,
    ),
    headerValue.map((value) => `Bearer op_test_${value}`),
    headerValue,
  );
  const contentType = fc.oneof(
    { weight: 40, arbitrary: fc.constant("application/json") },
    fc.constantFrom(
      "application/json",
      "application/json",
      "application/json; charset=utf-8",
      "application/json; charset=utf-16",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/octet-stream",
      "application/merge-patch+json",
    ),
    headerValue,
  );
  return fc
    .record(
      {
        authorization: fc.oneof({ weight: 9, arbitrary: authorization }, { weight: 1, arbitrary: fc.constant("") }),
        "content-type": fc.oneof({ weight: 9, arbitrary: contentType }, { weight: 1, arbitrary: fc.constant("") }),
        "idempotency-key": fc.oneof({ weight: 3, arbitrary: fc.uuid() }, fc.constantFrom("k-1", "k-2", "k-3"), headerValue),
        accept: fc.constantFrom("application/json", "*/*", "text/html"),
        "x-forwarded-for": headerValue,
        "x-request-id": headerValue,
      },
      { requiredKeys: ["authorization", "content-type"] },
    )
    .map((record) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== "")) as Record<string, string>);
}

function request(ids: Ids) {
  const route = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ROUTES) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...METHODS), fc.constantFrom(...TEMPLATES)) },
  );
  return route.chain(([method, template]) =>
    fc
      .record({
        payment: pathSegment(ids, "payment"),
        endpoint: pathSegment(ids, "endpoint"),
        event: pathSegment(ids, "event"),
        any: pathSegment(ids, "any"),
        query: query(ids),
        headers: headers(ids),
        body: bodyFor(ids, template),
      })
      .map(({ query, headers, body, ...segments }) => ({
        method,
        path: template.replace(/\{(payment|endpoint|event|any)\}/, (_, kind: keyof typeof segments) => segments[kind]) + query,
        headers,
        body,
      })),
  );
}

type Request = { method: string; path: string; headers: Record<string, string>; body: string | undefined };

const agent = new http.Agent({ keepAlive: true });

/**
 * Sends a request with node:http rather than fetch, which would refuse or rewrite some of it (bodies with GET, header
 * values of Latin-1 bytes, paths with dot segments). Undefined when node itself will not send it (e.g. a path with a
 * space): that is no request to the API.
 */
function send(api: ApiStack, req: Request): Promise<{ status: number; text: string; contentType: string | undefined } | undefined> {
  const { hostname, port } = new URL(api.url);
  return new Promise((resolve, reject) => {
    let outgoing: http.ClientRequest;
    try {
      outgoing = http.request(
        {
          host: hostname,
          port,
          method: req.method,
          path: req.path,
          agent,
          timeout: 20_000,
          headers: { ...req.headers, ...(req.body !== undefined ? { "content-length": Buffer.byteLength(req.body) } : {}) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () =>
            resolve({ status: response.statusCode!, text: Buffer.concat(chunks).toString("utf8"), contentType: response.headers["content-type"] }),
          );
          response.on("error", reject);
        },
      );
    } catch {
      resolve(undefined);
      return;
    }
    outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer in 20 s to ${req.method} ${req.path}`)));
    outgoing.on("error", reject);
    if (req.body !== undefined) outgoing.write(req.body);
    outgoing.end();
  });
}

function propertyOn(chain: ReturnType<typeof useLocalChain>, kind: StoreKind, numRuns: number) {
  describe(`on ${kind}`, function () {
    let store: Store | undefined;
    let api: ApiStack | undefined;
    let ids: Ids | undefined;
    let clean = "";

    before(async function () {
      // The payment made here must outlive each test's snapshot, and go when the suite does.
      clean = await snapshot();
      store = await openTestStore(kind);
      api = await startApiStack(chain(), store);
      const fixture = { api, key: api.key };
      const other = await newMerchant(store.db);
      const live = await newMerchant(store.db);
      const liveKey = (await createApiKey(store.db, live.merchant.id, "live")).key;
      // A paid payment (so that refunds go all the way), an open one, one with a refund address, another merchant's.
      const paid = await createdPayment(fixture, { amount_usd: "50.00" });
      await payOnChain(chain(), paid, "full", "USDT");
      await mine(11);
      await catchUp(localIndexer(chain(), store.db));
      const open = await createdPayment(fixture, { amount_usd: "5.00", refund_address: CUSTOMER });
      const theirs = await createdPayment({ api, key: other.key }, { amount_usd: "7.00" });
      const endpoint = (await call(api, "POST", "/v1/webhook_endpoints", { key: api.key, body: { url: "http://127.0.0.1:4000/h" } })).body;
      const theirEndpoint = (await call(api, "POST", "/v1/webhook_endpoints", { key: other.key, body: { url: "http://127.0.0.1:4000/o" } })).body;
      const event = await insertEvent(store.db, { merchantId: api.merchant.id }, { paymentId: paid.id });
      await insertDelivery(store.db, event, endpoint.id, "failed", [{ responseStatus: 500, error: "HTTP 500" }]);
      const theirEvent = await insertEvent(store.db, { merchantId: other.merchant.id }, { paymentId: theirs.id });
      ids = {
        key: api.key,
        otherKey: other.key,
        liveKey,
        payments: [paid.id, open.id, theirs.id],
        endpoints: [endpoint.id, theirEndpoint.id],
        events: [event, theirEvent],
      };
    });

    after(async function () {
      agent.destroy();
      await api?.close();
      await store?.close();
      await revertTo(clean);
    });

    it(`answers ${numRuns} arbitrary requests each below 500, errors as JSON with a message`, async function () {
      this.timeout(180_000);
      let sent = 0;
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(request(ids!), async (req) => {
          const response = await send(api!, req);
          fc.pre(response !== undefined);
          sent += 1;
          statuses.set(response!.status, (statuses.get(response!.status) ?? 0) + 1);
          const what = `${req.method} ${req.path} ${JSON.stringify(req.headers)} ${req.body?.slice(0, 300)} → ${response!.status} ${response!.text.slice(0, 300)}`;
          expect(response!.status, what).to.be.below(500);
          if (response!.status >= 400 && req.method !== "HEAD") {
            expect(response!.contentType, what).to.match(/^application\/json/);
            const parsed = JSON.parse(response!.text);
            expect(parsed.error.message, what).to.be.a("string").and.not.equal("");
            expect(parsed.error.type, what).to.be.a("string");
          }
        }),
        { numRuns, endOnFailure: true },
      );
      // The property reached the routes, not only the 4xx in front of them, and the API still serves.
      expect(sent).to.be.greaterThan(numRuns * 0.9);
      const successes = [...statuses].filter(([status]) => status < 300).reduce((sum, [, count]) => sum + count, 0);
      expect(successes, JSON.stringify([...statuses])).to.be.greaterThan(numRuns * 0.05);
      expect((await call(api!, "GET", "/health")).status).to.equal(200);
      expect((await call(api!, "GET", `/v1/payments/${ids!.payments[0]}`, { key: ids!.key })).status).to.equal(200);
    });
  });
}

describe("merchant API: nothing a client sends produces a 5xx (fast-check)", function () {
  const chain = useLocalChain();
  propertyOn(chain, "postgres", 400);
  propertyOn(chain, "pglite", 150);
});
