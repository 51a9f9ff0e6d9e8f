import { randomBytes } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { expect } from "chai";
import hre from "hardhat";
import { parseUnits } from "viem";
import { signDelivery } from "../../indexer/src/webhooks/signing";
import { catchUp, localIndexer, useLocalChain } from "../../indexer/test/support/localChain";
import { createdPayment, payOnChain, sharedStackNewMerchantEachTest } from "../../indexer/test/support/merchantApiHelpers";
import { startApiStack } from "../../indexer/test/support/merchantApiStack";
import { OpenPay, OpenPayError, WebhookVerificationError, sendMerchantTransaction, verifyWebhook, type Payment, type WebhookEvent } from "../src";

/** The promise's rejection, which must be an OpenPayError. */
async function openPayErrorOf(promise: Promise<unknown>): Promise<OpenPayError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(OpenPayError);
    return error as OpenPayError;
  }
  throw new Error("expected the call to fail with an OpenPayError");
}

function webhookErrorOf(run: () => unknown): WebhookVerificationError {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(WebhookVerificationError);
    return error as WebhookVerificationError;
  }
  throw new Error("expected verifyWebhook to throw");
}

/** A fetch that counts the requests it passes on, with the Idempotency-Key of each. */
function countingFetch() {
  const calls: Array<{ method: string; url: string; idempotencyKey: string | undefined }> = [];
  const wrapped: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    calls.push({ method: init?.method ?? "GET", url: String(input), idempotencyKey: headers.get("idempotency-key") ?? undefined });
    return fetch(input, init);
  };
  return { calls, fetch: wrapped };
}

describe("merchant SDK (@openpay/sdk) against the real API", function () {
  this.timeout(30_000);
  const chain = useLocalChain();
  const fixture = sharedStackNewMerchantEachTest(chain, "pglite");
  const client = (options: Partial<ConstructorParameters<typeof OpenPay>[0]> = {}) =>
    new OpenPay({ apiKey: fixture().key, baseUrl: fixture().api.url, ...options });

  describe("payments", function () {
    it("creates a payment with metadata and tokens, and gets it back with its history", async function () {
      const openPay = client();
      const created = await openPay.createPayment({
        amount_usd: "25.50",
        description: "Two tickets",
        order_id: "order-1001",
        metadata: { customer_id: "cus_42", channel: "web" },
        tokens: ["USDT", "BNB"],
        success_url: "https://shop.example/thanks",
      });
      expect(created).to.include({ object: "payment", status: "initiated", sequence: 0, amount_usd: "25.50", order_id: "order-1001" });
      expect(created.id).to.match(/^0x[0-9a-f]{64}$/);
      expect(created.metadata).to.deep.equal({ customer_id: "cus_42", channel: "web" });
      expect(created.payment_options.map((option) => option.token)).to.have.members(["USDT", "BNB"]);
      expect(created.checkout_url).to.equal(`http://127.0.0.1:8080/checkout/${created.id}`);

      const fetched = await openPay.getPayment(created.id);
      expect(fetched.id).to.equal(created.id);
      expect(fetched.metadata).to.deep.equal(created.metadata);
      expect(fetched.history).to.deep.equal([]);
    });

    it("replays a creation with the same Idempotency-Key, and sends a fresh UUID key when none is given", async function () {
      const { calls, fetch } = countingFetch();
      const openPay = client({ fetch });
      const key = `order-${randomBytes(4).toString("hex")}`;
      const first = await openPay.createPayment({ amount_usd: "10.00" }, { idempotencyKey: key });
      const again = await openPay.createPayment({ amount_usd: "10.00" }, { idempotencyKey: key });
      expect(again.id).to.equal(first.id);

      const other = await openPay.createPayment({ amount_usd: "10.00" });
      const otherToo = await openPay.createPayment({ amount_usd: "10.00" });
      expect(new Set([first.id, other.id, otherToo.id]).size).to.equal(3);
      expect(calls.map((call) => call.idempotencyKey).slice(0, 2)).to.deep.equal([key, key]);
      expect(calls[2].idempotencyKey).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(calls[3].idempotencyKey).to.not.equal(calls[2].idempotencyKey);

      const reused = await openPayErrorOf(openPay.createPayment({ amount_usd: "11.00" }, { idempotencyKey: key }));
      expect(reused).to.include({ status: 400, type: "idempotency_error", field: "Idempotency-Key" });
    });

    it("reuses its automatic Idempotency-Key when it retries after a lost answer: one payment, not two", async function () {
      const { calls, fetch: passOn } = countingFetch();
      let dropped = false;
      // The first POST reaches the API, which creates the payment, but its answer is "lost" on the way back.
      const lossy: typeof fetch = async (input, init) => {
        const response = await passOn(input, init);
        if (!dropped && init?.method === "POST") {
          dropped = true;
          await response.text();
          throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
        }
        return response;
      };
      const orderId = `lost-${randomBytes(4).toString("hex")}`;
      const payment = await client({ fetch: lossy }).createPayment({ amount_usd: "12.00", order_id: orderId });
      expect(calls).to.have.length(2);
      expect(calls[1].idempotencyKey).to.be.a("string").and.equal(calls[0].idempotencyKey);
      const list = await client().listPayments({ order_id: orderId });
      expect(list.data.map((p) => p.id)).to.deep.equal([payment.id]);
    });

    it("lists with filters, and iterates every page newest first", async function () {
      const openPay = client();
      const created: Payment[] = [];
      for (let i = 0; i < 5; i++) created.push(await openPay.createPayment({ amount_usd: `${i + 1}.00`, order_id: `list-${i}` }));
      const newestFirst = created.map((p) => p.id).reverse();

      const page = await openPay.listPayments({ limit: 2, status: ["initiated", "pending"] });
      expect(page.data.map((p) => p.id)).to.deep.equal(newestFirst.slice(0, 2));
      expect(page.has_more).to.equal(true);
      expect(page.next_cursor).to.be.a("string");
      const next = await openPay.listPayments({ limit: 2, status: ["initiated", "pending"], starting_after: page.next_cursor! });
      expect(next.data.map((p) => p.id)).to.deep.equal(newestFirst.slice(2, 4));

      const all: string[] = [];
      for await (const payment of openPay.listAllPayments({ limit: 2 })) all.push(payment.id);
      expect(all).to.deep.equal(newestFirst);

      expect((await openPay.listPayments({ order_id: "list-3" })).data.map((p) => p.id)).to.deep.equal([created[3].id]);
      expect((await openPay.listPayments({ status: "paid" })).data).to.deep.equal([]);
      // The dashboard's filters: amount range, search by prefix, paying token.
      expect((await openPay.listPayments({ amount_min: "2", amount_max: "3.50" })).data.map((p) => p.id)).to.deep.equal([created[2].id, created[1].id]);
      expect((await openPay.listPayments({ search: "list-4" })).data.map((p) => p.id)).to.deep.equal([created[4].id]);
      expect((await openPay.listPayments({ token: "usdt" })).data).to.deep.equal([]);
      const future = new Date(Date.now() + 3_600_000);
      expect((await openPay.listPayments({ created_from: future })).data).to.deep.equal([]);
      const none: Payment[] = [];
      for await (const payment of openPay.listAllPayments({ status: "expired" })) none.push(payment);
      expect(none).to.deep.equal([]);
    });
  });

  describe("errors", function () {
    it("carries the API's status, type, field and message", async function () {
      const openPay = client();
      const error = await openPayErrorOf(openPay.createPayment({ amount_usd: "abc" }));
      expect(error).to.include({ status: 400, type: "invalid_request_error", field: "amount_usd" });
      expect(error.message).to.match(/^amount_usd: must be a positive USD amount/);

      const unknown = await openPayErrorOf(openPay.getPayment(`0x${"ab".repeat(32)}`));
      expect(unknown).to.include({ status: 404, type: "not_found_error", field: "id" });
      const malformed = await openPayErrorOf(openPay.getPayment("nope"));
      expect(malformed).to.include({ status: 400, field: "id" });
      const badStatus = await openPayErrorOf(openPay.listPayments({ status: "done" as never }));
      expect(badStatus).to.include({ status: 400, field: "status" });
      expect(await openPayErrorOf(openPay.listPayments({ token: "DOGE" }))).to.include({ status: 400, field: "token" });
    });

    it("answers 401 authentication_error for a bad key, without retrying", async function () {
      const { calls, fetch } = countingFetch();
      const error = await openPayErrorOf(client({ apiKey: "op_test_not_a_real_key", fetch }).listPayments());
      expect(error).to.include({ status: 401, type: "authentication_error" });
      expect(calls).to.have.length(1);
    });

    it("refuses to refund an unpaid payment: 409 conflict_error", async function () {
      const openPay = client();
      const payment = await openPay.createPayment({ amount_usd: "5.00" });
      const error = await openPayErrorOf(openPay.refund(payment.id, { amount: "1", to: "0x70997970c51812dc3a010c7d01b886a07e3ef6bd" }));
      expect(error).to.include({ status: 409, type: "conflict_error" });
      expect(error.message).to.be.a("string").and.not.equal("");
      const whole = await openPayErrorOf(openPay.refund(payment.id));
      expect(whole.status).to.equal(409);
    });

    it("says clearly when the gateway cannot be reached, or answers something that is not the API", async function () {
      const closedPort = await new Promise<number>((resolve) => {
        const server = createServer().listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo;
          server.close(() => resolve(port));
        });
      });
      const baseUrl = `http://127.0.0.1:${closedPort}`;
      const unreachable = await openPayErrorOf(new OpenPay({ apiKey: fixture().key, baseUrl, maxRetries: 1, maxRetryDelayMs: 50 }).listPayments());
      expect(unreachable).to.include({ status: 0, type: "connection_error" });
      expect(unreachable.message).to.equal(`could not reach the Open Pay API at ${baseUrl} (GET /v1/payments, 2 attempts): fetch failed (ECONNREFUSED)`);

      let attempts = 0;
      const proxy: typeof fetch = async () => {
        attempts++;
        return new Response("<html><body>502 Bad Gateway</body></html>", { status: 502, statusText: "Bad Gateway", headers: { "content-type": "text/html" } });
      };
      const badGateway = await openPayErrorOf(client({ fetch: proxy, maxRetries: 2, maxRetryDelayMs: 50 }).getPayment(`0x${"00".repeat(32)}`));
      expect(attempts).to.equal(3);
      expect(badGateway).to.include({ status: 502, type: "api_error", field: undefined });
      expect(badGateway.message).to.contain("not an Open Pay API error").and.contain("502 Bad Gateway");
    });

    it("retries a 429 after the Retry-After wait, and the call succeeds", async function () {
      this.timeout(20_000);
      const limited = await startApiStack(chain(), { db: fixture().db, listen: fixture().api.context.listen }, { rateLimit: 1, rateWindowMs: 1000 });
      try {
        const { calls, fetch } = countingFetch();
        const openPay = new OpenPay({ apiKey: limited.key, baseUrl: limited.url, fetch });
        const payment = await openPay.createPayment({ amount_usd: "3.00" });
        const started = Date.now();
        const fetched = await openPay.getPayment(payment.id);
        const waited = Date.now() - started;
        expect(fetched.id).to.equal(payment.id);
        expect(calls.map((call) => call.method)).to.deep.equal(["POST", "GET", "GET"]);
        expect(waited).to.be.greaterThanOrEqual(900);

        // A Retry-After longer than the SDK is willing to wait is not waited for: the 429 comes back at once.
        const impatient = new OpenPay({ apiKey: limited.key, baseUrl: limited.url, maxRetryDelayMs: 100 });
        const error = await openPayErrorOf(impatient.getPayment(payment.id));
        expect(error).to.include({ status: 429, type: "rate_limit_error" });
        expect(error.retryAfter).to.be.greaterThan(0);
      } finally {
        await limited.close();
      }
    });
  });

  describe("balances and withdrawals", function () {
    it("reads the indexed balance, refuses a withdrawal beyond it, and sends one through an EIP-1193 provider from the merchant's account", async function () {
      const openPay = client();
      const indexer = localIndexer(chain(), fixture().db);
      const paid = await payOnChain(chain(), await createdPayment(fixture(), { amount_usd: "20.00", tokens: ["USDT"] }), "full", "USDT");
      await catchUp(indexer);
      const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
      const merchant = chain().record.demoMerchant!.merchant;
      const usdt = chain().record.tokens.USDT.address;

      const balances = await openPay.getBalances();
      const usdtBalance = balances.data.find((entry) => entry.token.symbol === "USDT")!;
      expect(BigInt(usdtBalance.balance_units)).to.equal(await escrow.balanceOf(merchant, usdt, { blockTag: balances.as_of.block_number! }));
      expect(BigInt(usdtBalance.balance_units) >= parseUnits(paid.amount, usdtBalance.token.decimals), "the payment is in it").to.equal(true);

      const tooMuch = await openPayErrorOf(openPay.requestWithdrawal({ token: "USDT", amount: `${Number(usdtBalance.withdrawable) + 1}` }));
      expect(tooMuch).to.include({ status: 400, type: "invalid_request_error", field: "amount" });
      expect(tooMuch.message).to.match(/USDT exceeds the .* USDT withdrawable/);

      const withdrawal = await openPay.requestWithdrawal({ token: "usdt", amount: "all" });
      expect(withdrawal).to.include({ object: "withdrawal_request", amount: usdtBalance.withdrawable, amount_units: usdtBalance.withdrawable_units });
      // The wallet must be on the transaction's chain: a transaction for another chain is refused before it is signed.
      const elsewhere = await openPayErrorOf(sendMerchantTransaction(hre.network.provider, { ...withdrawal.transaction, chain_id: 56 }));
      expect(elsewhere).to.include({ type: "wrong_chain" });
      expect(elsewhere.message).to.contain("the wallet is on chain 31337; this transaction is for chain 56");

      const hash = await sendMerchantTransaction(hre.network.provider, withdrawal.transaction);
      expect((await hre.ethers.provider.getTransactionReceipt(hash))!.status).to.equal(1);
      await catchUp(indexer);
      const after = await openPay.getBalances();
      expect(after.data.find((entry) => entry.token.symbol === "USDT")).to.deep.include({ balance: "0", withdrawable: "0" });
      expect(await escrow.balanceOf(merchant, usdt)).to.equal(0n);
    });
  });

  describe("verifyWebhook", function () {
    const secret = `whsec_${randomBytes(24).toString("base64")}`;

    async function signedEvent(at = new Date()) {
      const payment = await client().createPayment({ amount_usd: "7.00" });
      const { history: _omitted, ...data } = payment;
      const body = JSON.stringify({ type: "payment.created", timestamp: payment.created_at, data });
      const headers = signDelivery({ id: `msg_${randomBytes(16).toString("hex")}`, body, secrets: [secret], at });
      return { payment, body, headers };
    }

    it("accepts a delivery signed by the gateway and returns the typed event", async function () {
      const { payment, body, headers } = await signedEvent();
      const event: WebhookEvent = verifyWebhook(body, headers, secret);
      if (event.type === "balance.withdrawn") throw new Error("expected a payment event");
      expect(event.type).to.equal("payment.created");
      expect(event.data.id).to.equal(payment.id);
      expect(event.data.sequence).to.equal(0);
      // Node's IncomingHttpHeaders, fetch Headers, bytes, header names in any case, and the client's method.
      const upper = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]));
      expect(verifyWebhook(Buffer.from(body), upper, secret).data.id).to.equal(payment.id);
      expect(verifyWebhook(new TextEncoder().encode(body), new Headers({ ...headers }), secret).data.id).to.equal(payment.id);
      expect(client().verifyWebhook(body, headers, [`whsec_${randomBytes(24).toString("base64")}`, secret]).type).to.equal("payment.created");
    });

    it("rejects a tampered body, a wrong secret, a stale timestamp and a missing header, saying which", async function () {
      const { body, headers } = await signedEvent();
      const tampered = webhookErrorOf(() => verifyWebhook(body.replace('"7.00"', '"0.01"'), headers, secret));
      expect(tampered.reason).to.equal("bad_signature");
      expect(tampered.message).to.match(/no signature matches/);
      expect(webhookErrorOf(() => verifyWebhook(body, headers, `whsec_${randomBytes(24).toString("base64")}`)).reason).to.equal("bad_signature");
      const reserialised = JSON.stringify(JSON.parse(body), null, 2);
      expect(webhookErrorOf(() => verifyWebhook(reserialised, headers, secret)).reason).to.equal("bad_signature");

      const old = await signedEvent(new Date(Date.now() - 10 * 60 * 1000));
      const stale = webhookErrorOf(() => verifyWebhook(old.body, old.headers, secret));
      expect(stale.reason).to.equal("stale_timestamp");
      expect(stale.message).to.match(/webhook-timestamp \d+ is \d+ s old, beyond the 5-minute tolerance/);

      const { "webhook-signature": _dropped, ...unsigned } = headers;
      const missing = webhookErrorOf(() => verifyWebhook(body, unsigned, secret));
      expect(missing.reason).to.equal("missing_header");
      expect(missing.message).to.contain("webhook-signature");
    });

    it("rejects an authentic body that is not a payment event", function () {
      const body = JSON.stringify({ hello: "world" });
      const headers = signDelivery({ id: "msg_1", body, secrets: [secret] });
      expect(webhookErrorOf(() => verifyWebhook(body, headers, secret)).reason).to.equal("invalid_payload");
    });

    it("takes balance.withdrawn with a withdrawal, never with a payment", function () {
      const withdrawal = {
        object: "withdrawal",
        id: "wd_ab_0",
        amount: "10",
        token: { symbol: "USDT", address: "0x55d398326f99059fF775485246999027B3197955" },
      };
      const body = JSON.stringify({ type: "balance.withdrawn", timestamp: new Date().toISOString(), data: withdrawal });
      const event = verifyWebhook(body, signDelivery({ id: "msg_2", body, secrets: [secret] }), secret);
      if (event.type !== "balance.withdrawn") throw new Error(`expected balance.withdrawn, got ${event.type}`);
      expect(event.data).to.include({ object: "withdrawal", amount: "10" });
      const mislabelled = JSON.stringify({ type: "balance.withdrawn", timestamp: new Date().toISOString(), data: { object: "payment", id: "0x01" } });
      expect(webhookErrorOf(() => verifyWebhook(mislabelled, signDelivery({ id: "msg_3", body: mislabelled, secrets: [secret] }), secret)).reason).to.equal(
        "invalid_payload",
      );
    });
  });
});
