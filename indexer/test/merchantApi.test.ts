import { expect } from "chai";
import { parseUnits, recoverTypedDataAddress, zeroAddress } from "viem";
import { DEFAULT_TTL_SECONDS } from "../src/ledger/paymentCreation";
import { openPayEscrowAbi } from "../src/chain/escrowAbi";
import { createRpcClient } from "../src/chain/rpcClient";
import { recordOffChainEvent } from "../src/ledger/offChainEvents";
import { PAYMENT_INTENT_TYPES, paymentIntentDomain } from "../src/payments/paymentIntent";
import { signedIntentFromJson } from "../src/payments/signedIntentJson";
import { createApiKey, revokeApiKey } from "../src/store/merchantStore";
import { CHAIN_ID, SETTINGS, catchUp, latestTimestamp, localIndexer, useLocalChain, type LocalChain } from "./support/localChain";
import {
  countRows,
  createdPayment,
  deliveriesOf,
  expectError,
  freshStackEachTest,
  insertDelivery,
  insertEvent,
  newMerchant,
  payOnChain,
  sharedStackNewMerchantEachTest,
  type ApiFixture,
} from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";
import { outboxTypes } from "./support/paymentRecords";

/** Hardhat's account 6: the customer of simulate, and the refund address of these payments. */
const CUSTOMER = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
/** Slack for the chain clock the API reads (refreshed every few seconds) against the block a test reads after it. */
const CLOCK_SLACK = 300n;

/** Sets when the API recorded each payment's request, and its payment's copy that the list goes by (migration 007). */
async function setCreatedAt(fixture: ApiFixture, id: string, at: Date) {
  await fixture.db.updateTable("payment_requests").set({ created_at: at }).where("payment_id", "=", id).execute();
  await fixture.db.updateTable("payments").set({ created_at: at }).where("id", "=", id).execute();
}

async function listAll(fixture: ApiFixture, query: string, key = fixture.key): Promise<string[]> {
  const response = await call(fixture.api, "GET", `/v1/payments${query}`, { key });
  expect(response.status, JSON.stringify(response.body)).to.equal(200);
  return response.body.data.map((payment: { id: string }) => payment.id);
}

/** The tests of payment creation, reading, listing, idempotency and keys; run on PostgreSQL and on PGlite. */
function paymentTests(chain: () => LocalChain, fixture: () => ApiFixture) {
  describe("POST /v1/payments", function () {
    it("returns the payment: initiated, amounts, checkout URL, the escrow's deposit address, signed terms, expiry", async function () {
      const f = fixture();
      const record = chain().record;
      const client = createRpcClient([chain().url]);
      const created = await call(f.api, "POST", "/v1/payments", {
        key: f.key,
        body: {
          amount_usd: "25.50",
          description: "Two tickets",
          order_id: "order-1001",
          metadata: { customer: "cus_42", channel: "web" },
          success_url: "https://shop.example/thanks",
          cancel_url: "https://shop.example/cart",
          refund_address: CUSTOMER.toLowerCase(),
        },
      });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const payment = created.body;
      expect(payment).to.include({
        object: "payment",
        livemode: false,
        chain_id: CHAIN_ID,
        status: "initiated",
        previous_status: null,
        sequence: 0,
        amount_usd: "25.50",
        received_usd: "0.00",
        remaining_usd: "25.50",
        excess_usd: "0.00",
        token: null,
        paid_amount: null,
        description: "Two tickets",
        order_id: "order-1001",
        merchant: record.demoMerchant!.merchant,
        refund_address: CUSTOMER,
        success_url: "https://shop.example/thanks",
        cancel_url: "https://shop.example/cart",
      });
      expect(payment.metadata).to.deep.equal({ customer: "cus_42", channel: "web" });
      expect(payment.confirmations).to.deep.equal({ seen: 0, required: SETTINGS.confirmations.depth });
      expect(payment.transactions).to.deep.equal([]);
      // The id is in the merchant's namespace: its address, then 12 random bytes.
      expect(payment.id).to.match(/^0x[0-9a-f]{64}$/);
      expect(payment.id.slice(0, 42)).to.equal(record.demoMerchant!.merchant.toLowerCase());
      expect(payment.checkout_url).to.equal(`http://127.0.0.1:8080/checkout/${payment.id}`);

      // The signed terms are the ones asked for, signed by the merchant's authorised signer (account 4).
      const { intent, signature } = signedIntentFromJson(payment.intent);
      expect(intent).to.deep.include({ paymentId: payment.id, merchant: record.demoMerchant!.merchant, amountUsd: parseUnits("25.5", 18), refundTo: CUSTOMER });
      const signer = await recoverTypedDataAddress({
        domain: paymentIntentDomain({ chainId: CHAIN_ID, escrow: record.escrow }),
        types: PAYMENT_INTENT_TYPES,
        primaryType: "PaymentIntent",
        message: intent,
        signature,
      });
      expect(signer).to.equal(record.demoMerchant!.signer);
      expect(await client.readContract({ address: record.escrow, abi: openPayEscrowAbi, functionName: "isSigner", args: [intent.merchant, signer] })).to.equal(
        true,
      );

      // The deposit address is the escrow's own for these terms.
      const onChain = await client.readContract({ address: record.escrow, abi: openPayEscrowAbi, functionName: "depositAddressOf", args: [intent] });
      expect(payment.deposit_address).to.equal(onChain);

      // Expiry: the default TTL of 30 minutes, in chain time.
      expect(DEFAULT_TTL_SECONDS).to.equal(1800);
      const now = await latestTimestamp();
      expect(intent.expiry >= now + 1800n && intent.expiry <= now + 1800n + CLOCK_SLACK, `expiry ${intent.expiry}, chain now ${now}`).to.equal(true);
      expect(payment.expires_at).to.equal(new Date(Number(intent.expiry) * 1000).toISOString());
      expect(Date.parse(payment.created_at)).to.not.be.NaN;

      // One EIP-681 URI per accepted token, for an amount the escrow values at the price or more (and not a 6th
      // decimal place more than needed).
      expect(payment.payment_options.map((option: { token: string }) => option.token)).to.deep.equal(Object.keys(record.tokens));
      for (const option of payment.payment_options) {
        const token = record.tokens[option.token];
        expect(option).to.include({ address: token.address, decimals: token.decimals });
        const units = BigInt(option.amount_units);
        expect(parseUnits(option.amount, token.decimals)).to.equal(units);
        expect((option.amount.split(".")[1] ?? "").length).to.be.at.most(6);
        expect(option.uri).to.equal(
          token.address === zeroAddress
            ? `ethereum:${payment.deposit_address}@${CHAIN_ID}?value=${units}`
            : `ethereum:${token.address}@${CHAIN_ID}/transfer?address=${payment.deposit_address}&uint256=${units}`,
        );
        const value = await client.readContract({ address: record.escrow, abi: openPayEscrowAbi, functionName: "quoteUsd", args: [token.address, units] });
        expect(value >= intent.amountUsd, `${option.token}: ${option.amount} is worth ${value}, less than ${intent.amountUsd}`).to.equal(true);
        const step = 10n ** BigInt(Math.max(token.decimals - 6, 0));
        const less = await client.readContract({
          address: record.escrow,
          abi: openPayEscrowAbi,
          functionName: "quoteUsd",
          args: [token.address, units - step],
        });
        expect(less < intent.amountUsd, `${option.token}: ${option.amount} asks for more than needed`).to.equal(true);
      }

      // Stored with its payment.created event, and GET returns the same payment with its (empty) history.
      expect(await outboxTypes(f.db, payment.id)).to.deep.equal(["payment.created"]);
      const read = await call(f.api, "GET", `/v1/payments/${payment.id}`, { key: f.key });
      expect(read.status).to.equal(200);
      const { history, updated_at: _updated, ...rest } = read.body;
      const { updated_at: _createdUpdated, ...createdRest } = payment;
      expect(rest).to.deep.equal(createdRest);
      expect(history).to.deep.equal([]);
    });

    it("offers only the tokens asked for (any case), and counts the TTL asked for", async function () {
      const f = fixture();
      const payment = await createdPayment(f, { amount_usd: "0.01", tokens: ["bnb", "usdt"], ttl_seconds: 600 });
      expect(payment.payment_options.map((option: { token: string }) => option.token)).to.deep.equal(["BNB", "USDT"]);
      expect(payment.refund_address).to.equal(null);
      expect(payment.intent.intent.refundTo).to.equal(zeroAddress);
      const now = await latestTimestamp();
      const expiry = BigInt(payment.intent.intent.expiry);
      expect(expiry >= now + 600n && expiry <= now + 600n + CLOCK_SLACK).to.equal(true);
    });

    const bad: Array<[string, unknown, string]> = [
      ["no amount", {}, "amount_usd"],
      ["a number amount", { amount_usd: 25 }, "amount_usd"],
      ["a word amount", { amount_usd: "ten" }, "amount_usd"],
      ["a negative amount", { amount_usd: "-1" }, "amount_usd"],
      ["a zero amount", { amount_usd: "0.00" }, "amount_usd"],
      ["an exponent", { amount_usd: "1e3" }, "amount_usd"],
      ["19 decimal places", { amount_usd: "1.1234567890123456789" }, "amount_usd"],
      ["16 integer digits", { amount_usd: "1234567890123456" }, "amount_usd"],
      ["metadata not an object", { amount_usd: "1", metadata: "vip" }, "metadata"],
      ["a metadata value not a string", { amount_usd: "1", metadata: { tier: 1 } }, "metadata.tier"],
      ["a metadata key of 41 characters", { amount_usd: "1", metadata: { ["k".repeat(41)]: "v" } }, `metadata.${"k".repeat(41)}`],
      ["51 metadata keys", { amount_usd: "1", metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])) }, "metadata"],
      ["a NUL in a metadata value", { amount_usd: "1", metadata: { note: "a\u0000b" } }, "metadata.note"],
      ["a TTL under a minute", { amount_usd: "1", ttl_seconds: 59 }, "ttl_seconds"],
      ["a TTL over a week", { amount_usd: "1", ttl_seconds: 7 * 24 * 3600 + 1 }, "ttl_seconds"],
      ["a fractional TTL", { amount_usd: "1", ttl_seconds: 90.5 }, "ttl_seconds"],
      ["a TTL as a string", { amount_usd: "1", ttl_seconds: "600" }, "ttl_seconds"],
      ["an unknown token", { amount_usd: "1", tokens: ["DOGE"] }, "tokens"],
      ["no tokens", { amount_usd: "1", tokens: [] }, "tokens"],
      ["a token twice", { amount_usd: "1", tokens: ["USDT", "usdt"] }, "tokens"],
      ["tokens as a string", { amount_usd: "1", tokens: "USDT" }, "tokens"],
      ["a token not a string", { amount_usd: "1", tokens: ["USDT", 7] }, "tokens.1"],
      ["an ftp success URL", { amount_usd: "1", success_url: "ftp://shop.example/thanks" }, "success_url"],
      ["a success URL that is no URL", { amount_usd: "1", success_url: "thanks.html" }, "success_url"],
      ["a javascript: cancel URL", { amount_usd: "1", cancel_url: "javascript:alert(1)" }, "cancel_url"],
      ["a short refund address", { amount_usd: "1", refund_address: "0x1234" }, "refund_address"],
      ["a refund address with a bad checksum", { amount_usd: "1", refund_address: "0x976ea74026E726554dB657fA54763abd0C3a0aa9" }, "refund_address"],
      ["an unknown field", { amount_usd: "1", colour: "red" }, "colour"],
      ["a description of 501 characters", { amount_usd: "1", description: "d".repeat(501) }, "description"],
      ["a NUL in the description", { amount_usd: "1", description: "tea\u0000" }, "description"],
      ["an empty order id", { amount_usd: "1", order_id: "" }, "order_id"],
      ["a body that is an array", [{ amount_usd: "1" }], "body"],
    ];
    it(`refuses each of ${bad.length} bad inputs with a 400 naming its field, and stores nothing`, async function () {
      const f = fixture();
      for (const [what, body, field] of bad) {
        const response = await call(f.api, "POST", "/v1/payments", { key: f.key, body });
        expect(response.status, `${what}: ${JSON.stringify(response.body)}`).to.equal(400);
        expect(response.body.error, what).to.include({ type: "invalid_request_error", field });
        expect(response.body.error.message.startsWith(`${field}: `), `${what}: ${response.body.error.message}`).to.equal(true);
      }
      expect(await countRows(f.db, "payment_requests", "merchant_id", f.merchant.id)).to.equal(0);
    });

    it("refuses a body that is not JSON, not JSON at all, or too large, naming the body or its type", async function () {
      const f = fixture();
      expectError(await call(f.api, "POST", "/v1/payments", { key: f.key, body: '{"amount_usd": "1"' }), 400, "body");
      expectError(await call(f.api, "POST", "/v1/payments", { key: f.key, body: "", headers: { "content-type": "application/json" } }), 400, "body");
      expectError(
        await call(f.api, "POST", "/v1/payments", { key: f.key, body: "amount_usd=1", headers: { "content-type": "application/x-www-form-urlencoded" } }),
        415,
        "Content-Type",
      );
      expectError(
        await call(f.api, "POST", "/v1/payments", { key: f.key, body: '{"amount_usd":"1"}', headers: { "content-type": "text/plain" } }),
        415,
        "Content-Type",
      );
      expectError(await call(f.api, "POST", "/v1/payments", { key: f.key }), 400, "body");
      const huge = { amount_usd: "1", description: "x".repeat(70 * 1024) };
      expectError(await call(f.api, "POST", "/v1/payments", { key: f.key, body: huge }), 413, "body");
      expect(await countRows(f.db, "payment_requests", "merchant_id", f.merchant.id)).to.equal(0);
    });
  });

  describe("Idempotency-Key", function () {
    it("replays the first response for the same key and body (in any key order), saying so", async function () {
      const f = fixture();
      const body = { amount_usd: "12.00", order_id: "o-7", metadata: { a: "1", b: "2" } };
      const first = await call(f.api, "POST", "/v1/payments", { key: f.key, body, headers: { "idempotency-key": "order-o-7" } });
      const again = await call(f.api, "POST", "/v1/payments", {
        key: f.key,
        body: { metadata: { b: "2", a: "1" }, order_id: "o-7", amount_usd: "12.00" },
        headers: { "idempotency-key": "order-o-7" },
      });
      expect(first.status).to.equal(201);
      expect(first.headers.get("idempotent-replayed")).to.equal(null);
      expect(again.status).to.equal(201);
      expect(again.headers.get("idempotent-replayed")).to.equal("true");
      expect(again.body).to.deep.equal(first.body);
      expect(await countRows(f.db, "payment_requests", "merchant_id", f.merchant.id)).to.equal(1);
    });

    it("refuses the same key with another body or on another route, and creates nothing more", async function () {
      const f = fixture();
      const first = await call(f.api, "POST", "/v1/payments", { key: f.key, body: { amount_usd: "12.00" }, headers: { "idempotency-key": "k-1" } });
      expect(first.status).to.equal(201);
      const other = await call(f.api, "POST", "/v1/payments", { key: f.key, body: { amount_usd: "13.00" }, headers: { "idempotency-key": "k-1" } });
      expectError(other, 400, "Idempotency-Key", "idempotency_error");
      expect(other.body.error.message).to.match(/another body/);
      const elsewhere = await call(f.api, "POST", `/v1/payments/${first.body.id}/refunds`, {
        key: f.key,
        body: { to: CUSTOMER },
        headers: { "idempotency-key": "k-1" },
      });
      expectError(elsewhere, 400, "Idempotency-Key", "idempotency_error");
      expect(elsewhere.body.error.message).to.match(/POST \/v1\/payments/);
      expect(await countRows(f.db, "payment_requests", "merchant_id", f.merchant.id)).to.equal(1);
      expect((await call(f.api, "GET", `/v1/payments/${first.body.id}`, { key: f.key })).body.status).to.equal("initiated");
    });

    it("creates one payment for ten concurrent identical requests with one key", async function () {
      const f = fixture();
      const body = { amount_usd: "99.99", order_id: "concurrent" };
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => call(f.api, "POST", "/v1/payments", { key: f.key, body, headers: { "idempotency-key": "same-for-all" } })),
      );
      expect(responses.map((response) => response.status)).to.deep.equal(Array(10).fill(201));
      const ids = new Set(responses.map((response) => response.body.id));
      expect(ids.size).to.equal(1);
      expect(responses.filter((response) => response.headers.get("idempotent-replayed") === "true")).to.have.length(9);
      expect(await countRows(f.db, "payment_requests", "merchant_id", f.merchant.id)).to.equal(1);
      const [id] = ids;
      expect(await countRows(f.db, "payments", "id", id)).to.equal(1);
      expect(await outboxTypes(f.db, id)).to.deep.equal(["payment.created"]);
    });

    it("under concurrency with one key and two bodies, creates one payment: its body replays, the other is refused", async function () {
      const f = fixture();
      const bodies = [{ amount_usd: "10.00" }, { amount_usd: "20.00" }];
      const responses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          call(f.api, "POST", "/v1/payments", { key: f.key, body: bodies[i % 2], headers: { "idempotency-key": "contended" } }),
        ),
      );
      const created = responses.filter((response) => response.status === 201);
      const ids = new Set(created.map((response) => response.body.id));
      expect(ids.size, JSON.stringify(responses.map((response) => response.status))).to.equal(1);
      expect(created.filter((response) => response.headers.get("idempotent-replayed") === null)).to.have.length(1);
      const winner = created[0].body.amount_usd;
      for (const [i, response] of responses.entries()) {
        if (bodies[i % 2].amount_usd === winner) {
          expect(response.status).to.equal(201);
          expect(response.body).to.deep.equal(created[0].body);
        } else {
          expectError(response, 400, "Idempotency-Key", "idempotency_error");
        }
      }
      const [id] = ids;
      expect(await countRows(f.db, "payment_requests", "merchant_id", f.merchant.id)).to.equal(1);
      expect(await countRows(f.db, "idempotency_keys", "merchant_id", f.merchant.id)).to.equal(1);
      expect(await outboxTypes(f.db, id)).to.deep.equal(["payment.created"]);
    });

    it("forgets a key after 24 hours: the key then creates a new payment, which it replays from then on", async function () {
      const f = fixture();
      const body = { amount_usd: "7.00" };
      const first = await call(f.api, "POST", "/v1/payments", { key: f.key, body, headers: { "idempotency-key": "old-key" } });
      expect(first.status).to.equal(201);
      await f.db
        .updateTable("idempotency_keys")
        .set({ created_at: new Date(Date.now() - 25 * 60 * 60 * 1000) })
        .where("merchant_id", "=", f.merchant.id)
        .execute();
      const second = await call(f.api, "POST", "/v1/payments", { key: f.key, body: { amount_usd: "8.00" }, headers: { "idempotency-key": "old-key" } });
      expect(second.status, JSON.stringify(second.body)).to.equal(201);
      expect(second.headers.get("idempotent-replayed")).to.equal(null);
      expect(second.body.id).to.not.equal(first.body.id);
      const third = await call(f.api, "POST", "/v1/payments", { key: f.key, body: { amount_usd: "8.00" }, headers: { "idempotency-key": "old-key" } });
      expect(third.headers.get("idempotent-replayed")).to.equal("true");
      expect(third.body).to.deep.equal(second.body);
      expect(await countRows(f.db, "payment_requests", "merchant_id", f.merchant.id)).to.equal(2);
      expect(await countRows(f.db, "idempotency_keys", "merchant_id", f.merchant.id)).to.equal(1);
    });

    it("creates a payment per request without a key, and keys are the merchant's own", async function () {
      const f = fixture();
      const a = await createdPayment(f, { amount_usd: "5" });
      const b = await createdPayment(f, { amount_usd: "5" });
      expect(a.id).to.not.equal(b.id);
      const other = await newMerchant(f.db);
      const mine = await call(f.api, "POST", "/v1/payments", { key: f.key, body: { amount_usd: "5" }, headers: { "idempotency-key": "shared" } });
      const theirs = await call(f.api, "POST", "/v1/payments", { key: other.key, body: { amount_usd: "5" }, headers: { "idempotency-key": "shared" } });
      expect([mine.status, theirs.status]).to.deep.equal([201, 201]);
      expect(theirs.headers.get("idempotent-replayed")).to.equal(null);
      expect(theirs.body.id).to.not.equal(mine.body.id);
      expect(theirs.body.merchant).to.equal(other.merchant.address);
    });

    it("refuses a malformed key, and a request refused inside does not use up its key", async function () {
      const f = fixture();
      expectError(
        await call(f.api, "POST", "/v1/payments", { key: f.key, body: { amount_usd: "1" }, headers: { "idempotency-key": "has space" } }),
        400,
        "Idempotency-Key",
      );
      expectError(
        await call(f.api, "POST", "/v1/payments", { key: f.key, body: { amount_usd: "1" }, headers: { "idempotency-key": "k".repeat(256) } }),
        400,
        "Idempotency-Key",
      );
      expect(await countRows(f.db, "payment_requests", "merchant_id", f.merchant.id)).to.equal(0);
      const refused = await call(f.api, "POST", "/v1/payments", {
        key: f.key,
        body: { amount_usd: "1", tokens: ["DOGE"] },
        headers: { "idempotency-key": "retry-me" },
      });
      expectError(refused, 400, "tokens");
      const fixed = await call(f.api, "POST", "/v1/payments", {
        key: f.key,
        body: { amount_usd: "1", tokens: ["USDT"] },
        headers: { "idempotency-key": "retry-me" },
      });
      expect(fixed.status, JSON.stringify(fixed.body)).to.equal(201);
      expect(fixed.headers.get("idempotent-replayed")).to.equal(null);
    });
  });

  describe("API keys", function () {
    const routes: Array<[string, string, unknown?]> = [
      ["POST", "/v1/payments", { amount_usd: "1" }],
      ["GET", "/v1/payments"],
      ["GET", `/v1/payments/0x${"ab".repeat(32)}`],
      ["GET", "/v1/webhook_endpoints"],
      ["GET", "/v1/events"],
    ];

    it("answers 401 without a key, with a garbage, unknown or revoked key, before looking at the body", async function () {
      const f = fixture();
      const revoked = await createApiKey(f.db, f.merchant.id, "test");
      expect(await revokeApiKey(f.db, revoked.id)).to.equal(true);
      const authorizations: Array<string | undefined> = [
        undefined,
        "Bearer",
        "Bearer garbage",
        "Basic dXNlcjpwYXNz",
        `Bearer ${f.key.slice(0, -1)}`,
        "Bearer op_test_0000000000000000000000000000000000000000",
        `Bearer ${revoked.key}`,
      ];
      for (const [method, path, body] of routes) {
        for (const authorization of authorizations) {
          const response = await call(f.api, method, path, { body, headers: authorization === undefined ? {} : { authorization } });
          expectError(response, 401, "Authorization", "authentication_error");
        }
      }
      // Even with a body the schema refuses: the key comes first.
      expectError(await call(f.api, "POST", "/v1/payments", { body: { amount_usd: "ten" } }), 401, "Authorization", "authentication_error");
      expect(await countRows(f.db, "payment_requests", "merchant_id", f.merchant.id)).to.equal(0);
    });

    it("answers 403 to a live key on this test chain, even a real one", async function () {
      const f = fixture();
      const live = await createApiKey(f.db, f.merchant.id, "live");
      expect(live.key.startsWith("op_live_")).to.equal(true);
      for (const key of [live.key, "op_live_0000000000000000000000000000000000000000"]) {
        for (const [method, path, body] of routes) {
          const response = await call(f.api, method, path, { key, body });
          expectError(response, 403, "Authorization", "permission_error");
          expect(response.body.error.message).to.match(/op_test_/);
        }
      }
      expect(await countRows(f.db, "payment_requests", "merchant_id", f.merchant.id)).to.equal(0);
    });

    it("keeps one merchant's payments, refunds, events and endpoints from another (404s and empty lists)", async function () {
      const f = fixture();
      const payment = await createdPayment(f, { amount_usd: "10", order_id: "a-1", refund_address: CUSTOMER });
      const endpoint = await call(f.api, "POST", "/v1/webhook_endpoints", { key: f.key, body: { url: "http://127.0.0.1:9/hooks" } });
      expect(endpoint.status).to.equal(201);
      const event = await insertEvent(f.db, { merchantId: f.merchant.id }, { paymentId: payment.id });
      await insertDelivery(f.db, event, endpoint.body.id, "failed", [{ responseStatus: 500, error: "HTTP 500" }]);

      const b = await newMerchant(f.db);
      const bEndpoint = await call(f.api, "POST", "/v1/webhook_endpoints", { key: b.key, body: { url: "http://127.0.0.1:9/b" } });
      const as = (method: string, path: string, body?: unknown) => call(f.api, method, path, { key: b.key, body });
      expectError(await as("GET", `/v1/payments/${payment.id}`), 404, "id", "not_found_error");
      expectError(await as("GET", `/v1/payments/${payment.id.toUpperCase().replace("0X", "0x")}`), 404, "id", "not_found_error");
      expectError(await as("POST", `/v1/payments/${payment.id}/refunds`, { to: CUSTOMER }), 404, "id", "not_found_error");
      expectError(await as("POST", `/v1/payments/${payment.id}/refunds/cancel`), 404, "id", "not_found_error");
      expect((await as("GET", "/v1/payments")).body.data).to.deep.equal([]);
      expect((await as("GET", "/v1/payments?order_id=a-1")).body.data).to.deep.equal([]);
      expect((await as("GET", "/v1/events")).body.data).to.deep.equal([]);
      expect((await as("GET", `/v1/events?payment_id=${payment.id}`)).body.data).to.deep.equal([]);
      expectError(await as("GET", `/v1/events/${event}`), 404, "id", "not_found_error");
      expectError(await as("POST", `/v1/events/${event}/resend`), 404, "id", "not_found_error");
      expect((await as("POST", "/v1/events/resend_failed", { since: "2000-01-01T00:00:00Z" })).body).to.deep.equal({ object: "resend", deliveries: 0 });
      expect((await as("GET", "/v1/webhook_endpoints")).body.data.map((e: { id: string }) => e.id)).to.deep.equal([bEndpoint.body.id]);
      expectError(await as("PATCH", `/v1/webhook_endpoints/${endpoint.body.id}`, { enabled: false }), 404, "id", "not_found_error");
      expectError(await as("POST", `/v1/webhook_endpoints/${endpoint.body.id}/rotate_secret`), 404, "id", "not_found_error");
      expectError(await as("DELETE", `/v1/webhook_endpoints/${endpoint.body.id}`), 404, "id", "not_found_error");
      // Nor can A aim its event at B's endpoint.
      expectError(await call(f.api, "POST", `/v1/events/${event}/resend`, { key: f.key, body: { endpoint_id: bEndpoint.body.id } }), 400, "endpoint_id");

      // A's data is as it was.
      const mine = await call(f.api, "GET", `/v1/payments/${payment.id}`, { key: f.key });
      expect(mine.body).to.include({ status: "initiated", refund_pending_amount: null });
      const endpoints = (await call(f.api, "GET", "/v1/webhook_endpoints", { key: f.key })).body.data;
      expect(endpoints).to.have.length(1);
      expect(endpoints[0]).to.include({ id: endpoint.body.id, enabled: true });
      expect((await deliveriesOf(f.db, event)).map((delivery) => delivery.status)).to.deep.equal(["failed"]);
      expect(await outboxTypes(f.db, payment.id)).to.deep.equal(["payment.created"]);
      expect(await listAll(f, "")).to.deep.equal([payment.id]);
    });
  });

  describe("GET /v1/payments/:id", function () {
    it("answers a malformed id, a malformed URL and an unknown payment with JSON naming what is wrong", async function () {
      const f = fixture();
      expectError(await call(f.api, "GET", "/v1/payments/0x12", { key: f.key }), 400, "id");
      expectError(await call(f.api, "GET", `/v1/payments/${"ab".repeat(32)}`, { key: f.key }), 400, "id");
      expectError(await call(f.api, "GET", "/v1/payments/%E0%A4%A", { key: f.key }), 400, "path");
      expectError(await call(f.api, "GET", `/v1/payments/0x${"a".repeat(300)}`, { key: f.key }), 414, "path");
      expectError(await call(f.api, "GET", `/v1/payments/0x${"ab".repeat(32)}`, { key: f.key }), 404, "id", "not_found_error");
      expectError(await call(f.api, "GET", "/v1/paymentz", { key: f.key }), 404, "path", "not_found_error");
      // An id in capitals is the same payment.
      const payment = await createdPayment(f);
      const upper = await call(f.api, "GET", `/v1/payments/0x${payment.id.slice(2).toUpperCase()}`, { key: f.key });
      expect(upper.status).to.equal(200);
      expect(upper.body.id).to.equal(payment.id);
    });
  });

  describe("GET /v1/payments", function () {
    it("filters by status, creation time and order id, newest first", async function () {
      const f = fixture();
      const [first, second, third] = [
        await createdPayment(f, { amount_usd: "1", order_id: "o-1" }),
        await createdPayment(f, { amount_usd: "2", order_id: "o-2" }),
        await createdPayment(f, { amount_usd: "3", order_id: "o-3" }),
      ];
      await setCreatedAt(f, first.id, new Date("2026-01-01T10:00:00Z"));
      await setCreatedAt(f, second.id, new Date("2026-01-02T10:00:00Z"));
      await setCreatedAt(f, third.id, new Date("2026-01-03T10:00:00Z"));
      // The customer opens the first one's checkout: it turns pending.
      await recordOffChainEvent(f.db, CHAIN_ID, SETTINGS, first.id, { kind: "checkout_opened" });

      expect(await listAll(f, "")).to.deep.equal([third.id, second.id, first.id]);
      expect(await listAll(f, "?order_id=o-2")).to.deep.equal([second.id]);
      expect(await listAll(f, "?order_id=o-9")).to.deep.equal([]);
      expect(await listAll(f, "?status=pending")).to.deep.equal([first.id]);
      expect(await listAll(f, "?status=initiated")).to.deep.equal([third.id, second.id]);
      expect(await listAll(f, "?status=initiated,pending")).to.deep.equal([third.id, second.id, first.id]);
      expect(await listAll(f, "?status=paid")).to.deep.equal([]);
      expect(await listAll(f, "?created_from=2026-01-02T10:00:00Z")).to.deep.equal([third.id, second.id]);
      expect(await listAll(f, "?created_to=2026-01-02T10:00:00Z")).to.deep.equal([first.id]);
      expect(await listAll(f, `?created_from=${encodeURIComponent("2026-01-02T11:00:00+02:00")}&created_to=2026-01-03T00:00:00Z`)).to.deep.equal([second.id]);
      expect(await listAll(f, "?status=initiated&order_id=o-3&created_from=2026-01-01T00:00:00Z")).to.deep.equal([third.id]);

      const page = (await call(f.api, "GET", "/v1/payments?status=pending", { key: f.key })).body;
      expect(page).to.include({ object: "list", has_more: false, next_cursor: null });
      expect(page.data[0]).to.include({ id: first.id, status: "pending", previous_status: "initiated", sequence: 1 });

      const refused: Array<[string, string]> = [
        ["?status=bogus", "status"],
        ["?status=paid,done", "status"],
        ["?created_from=yesterday", "created_from"],
        ["?created_to=2026-13-01T00:00:00Z", "created_to"],
        ["?limit=0", "limit"],
        ["?limit=101", "limit"],
        ["?limit=ten", "limit"],
        ["?order_id=%00", "order_id"],
        ["?colour=red", "colour"],
        ["?starting_after=bm90LWEtY3Vyc29y", "starting_after"],
        [`?starting_after=${Buffer.from("-100000-01-01T00:00:00.000Z|0xab").toString("base64url")}`, "starting_after"],
        [`?starting_after=${Buffer.from("2026-01-01T00:00:00.000Z|\u0000").toString("base64url")}`, "starting_after"],
        [`?starting_after=${Buffer.from("2026-01-01T00:00:00.000Z").toString("base64url")}`, "starting_after"],
      ];
      for (const [query, field] of refused) expectError(await call(f.api, "GET", `/v1/payments${query}`, { key: f.key }), 400, field);
    });

    it("filters by paying token, USD amount range and search as the dashboard does, refusing bad values by field", async function () {
      const f = fixture();
      const [first, second, third] = [
        await createdPayment(f, { amount_usd: "10.00", order_id: "shop_a-1" }),
        await createdPayment(f, { amount_usd: "20.50", order_id: "shop%b-2" }),
        await createdPayment(f, { amount_usd: "30", order_id: "shop_a-3" }),
      ];
      await payOnChain(chain(), second, "full", "USDT");
      await catchUp(localIndexer(chain(), f.db));

      expect(await listAll(f, "?token=usdt")).to.deep.equal([second.id]);
      expect(await listAll(f, "?token=USDC")).to.deep.equal([]);
      expect(await listAll(f, "?token=USDT&status=confirming")).to.deep.equal([second.id]);
      // An expired payment has no token: no payment can match.
      expect(await listAll(f, "?token=USDT&status=expired")).to.deep.equal([]);
      expect(await listAll(f, "?amount_min=20.5")).to.deep.equal([third.id, second.id]);
      expect(await listAll(f, "?amount_max=20.499999999999999999")).to.deep.equal([first.id]);
      expect(await listAll(f, "?amount_min=10&amount_max=20.50")).to.deep.equal([second.id, first.id]);
      expect(await listAll(f, "?amount_min=20.50&amount_max=20.50&token=USDT&status=confirming,paid")).to.deep.equal([second.id]);
      expect(await listAll(f, "?amount_min=31")).to.deep.equal([]);
      expect(await listAll(f, "?search=shop_a")).to.deep.equal([third.id, first.id]);
      // % and _ are the text itself, not a pattern.
      expect(await listAll(f, `?search=${encodeURIComponent("shop%")}`)).to.deep.equal([second.id]);
      expect(await listAll(f, `?search=${second.id.slice(0, 50).toUpperCase().replace("0X", "0x")}`)).to.deep.equal([second.id]);
      expect(await listAll(f, `?search=${third.deposit_address.slice(0, 14).toLowerCase()}`)).to.deep.equal([third.id]);
      expect(await listAll(f, "?search=shop_a&amount_min=15")).to.deep.equal([third.id]);
      // Another merchant's payments match none of these.
      const other = await newMerchant(f.db);
      expect(await listAll(f, "?search=shop", other.key)).to.deep.equal([]);
      expect(await listAll(f, "?token=USDT", other.key)).to.deep.equal([]);

      const refused: Array<[string, string]> = [
        ["?token=DOGE", "token"],
        [`?token=${"X".repeat(21)}`, "token"],
        ["?amount_min=ten", "amount_min"],
        ["?amount_min=-1", "amount_min"],
        ["?amount_max=1.0000000000000000001", "amount_max"],
        ["?amount_min=5&amount_max=4", "amount_max"],
        [`?search=${"s".repeat(201)}`, "search"],
        ["?search=%00", "search"],
      ];
      for (const [query, field] of refused) expectError(await call(f.api, "GET", `/v1/payments${query}`, { key: f.key }), 400, field);
      const unknownToken = await call(f.api, "GET", "/v1/payments?token=DOGE", { key: f.key });
      expect(unknownToken.body.error.message).to.include("USDT");
    });

    it("pages 25 payments by 10 with cursors: each once, newest first, ties broken by id, stable under inserts", async function () {
      const f = fixture();
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) ids.push((await createdPayment(f, { amount_usd: `${i + 1}.00` })).id);
      // Five creation times shared by five payments each: the cursor must break ties.
      const times = ids.map((_, i) => new Date(Date.UTC(2026, 0, 1 + Math.floor(i / 5), 12)));
      for (const [i, id] of ids.entries()) await setCreatedAt(f, id, times[i]);
      const expected = ids
        .map((id, i) => ({ id, at: times[i].getTime() }))
        .sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1))
        .map(({ id }) => id);

      const seen: string[] = [];
      const pages: Array<{ size: number; has_more: boolean }> = [];
      let cursor: string | null = null;
      do {
        const response = await call(f.api, "GET", `/v1/payments?limit=10${cursor ? `&starting_after=${cursor}` : ""}`, { key: f.key });
        expect(response.status, JSON.stringify(response.body)).to.equal(200);
        seen.push(...response.body.data.map((payment: { id: string }) => payment.id));
        pages.push({ size: response.body.data.length, has_more: response.body.has_more });
        cursor = response.body.next_cursor;
        // A payment created meanwhile is newer than every cursor: it shows on no later page.
        if (pages.length === 1) await createdPayment(f, { amount_usd: "1000" });
      } while (cursor);
      expect(pages).to.deep.equal([
        { size: 10, has_more: true },
        { size: 10, has_more: true },
        { size: 5, has_more: false },
      ]);
      expect(seen).to.deep.equal(expected);
      expect(new Set(seen).size).to.equal(25);

      // The default page is 20; a filter pages the same way.
      const all = await call(f.api, "GET", "/v1/payments", { key: f.key });
      expect(all.body.data).to.have.length(20);
      expect(all.body.has_more).to.equal(true);
    });
  });
}

describe("merchant API: payments, keys and idempotency", function () {
  const chain = useLocalChain();

  describe("on PostgreSQL", function () {
    paymentTests(chain, freshStackEachTest(chain, "postgres"));
  });

  describe("on PGlite", function () {
    paymentTests(chain, sharedStackNewMerchantEachTest(chain, "pglite"));
  });
});
