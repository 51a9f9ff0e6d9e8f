import { expect } from "chai";
import { catchUp, localIndexer, useLocalChain } from "./support/localChain";
import { createdPayment, expectError, freshStackEachTest, payOnChain } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";

async function page(url: string) {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe("hosted checkout page", function () {
  const chain = useLocalChain();
  const fixture = freshStackEachTest(chain);

  it("shows the order and, for each token, a QR code of its EIP-681 URI with the amount, address and network to copy", async function () {
    const f = fixture();
    const payment = await createdPayment(f, {
      amount_usd: "25.00",
      description: "2 × T-shirt <b>size M</b>",
      cancel_url: "https://shop.example/cart",
    });
    const checkout = await page(`${f.api.url}/checkout/${payment.id}`);
    expect(checkout.status).to.equal(200);
    expect(checkout.headers.get("content-type")).to.match(/^text\/html/);
    expect(checkout.headers.get("content-security-policy")).to.include("default-src 'none'").and.include("script-src 'self'");
    const html = checkout.text;
    expect(html).to.include("<h1>Demo shop</h1>");
    // The merchant's text is escaped, never markup.
    expect(html).to.include("2 × T-shirt &lt;b&gt;size M&lt;/b&gt;").and.not.include("<b>size M</b>");
    expect(html).to.include("$25.00");
    expect(payment.payment_options.map((option: { token: string }) => option.token)).to.deep.equal(["USDT", "USDC", "BNB"]);
    for (const option of payment.payment_options) {
      expect(html).to.include(`id="option-${option.token}"`);
      expect(html).to.include(`data-copy="${option.amount}"`);
      expect(html).to.include(`href="${option.uri.replace(/&/g, "&amp;")}"`);
    }
    expect(html.match(/<svg/g)).to.have.length(3);
    expect(html).to.include(`data-copy="${payment.deposit_address}"`);
    expect(html).to.include("Local test chain (31337)");
    expect(html).to.include('role="status"').and.include('aria-live="polite"');
    expect(html).to.include('href="https://shop.example/cart"');
    // Nothing is loaded from another origin: the style and the script are the API's own.
    const loaded = [...html.matchAll(/<(?:script|link|img)\b[^>]*(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(loaded).to.deep.equal(["/checkout/assets/checkout.css", "/checkout/assets/checkout.js"]);
    const script = await page(`${f.api.url}/checkout/assets/checkout.js`);
    expect(script.headers.get("content-type")).to.match(/^text\/javascript/);
    expect(script.text).to.include('"/checkout/" + id + "/status"');
    expect((await page(`${f.api.url}/checkout/assets/checkout.css`)).headers.get("content-type")).to.match(/^text\/css/);
  });

  it("opening it moves the payment from initiated to pending, once, and tells the merchant", async function () {
    const f = fixture();
    const payment = await createdPayment(f);
    expect((await page(`${f.api.url}/checkout/${payment.id}`)).status).to.equal(200);
    expect((await page(`${f.api.url}/checkout/${payment.id}`)).status).to.equal(200);
    const read = await call(f.api, "GET", `/v1/payments/${payment.id}`, { key: f.key });
    expect(read.body).to.include({ status: "pending", previous_status: "initiated", sequence: 1 });
    expect(read.body.history.map((entry: { reason: string }) => entry.reason)).to.deep.equal(["checkout_opened"]);
    const outbox = await f.db.selectFrom("outbox").select("type").where("payment_id", "=", payment.id).orderBy("id").execute();
    expect(outbox.map((row) => row.type)).to.deep.equal(["payment.created", "payment.pending"]);
  });

  it("feeds the page the status: waiting, then confirming with its confirmations", async function () {
    const f = fixture();
    const payment = await createdPayment(f);
    await page(`${f.api.url}/checkout/${payment.id}`);
    const waiting = await call(f.api, "GET", `/checkout/${payment.id}/status`);
    expect(waiting.status).to.equal(200);
    expect(waiting.body).to.include({ status: "pending", text: "Waiting for payment: $25.00 to pay", remaining_usd: "25.00" });
    await payOnChain(chain(), payment, "full", "USDT");
    await catchUp(localIndexer(chain(), f.db));
    const confirming = await call(f.api, "GET", `/checkout/${payment.id}/status`);
    expect(confirming.body).to.include({ status: "confirming", text: "Payment received, confirming on chain (1 of 12 confirmations)", remaining_usd: "0.00" });
    // The feed tells the customer nothing of the merchant's own data.
    expect(confirming.body).to.not.have.any.keys("metadata", "order_id", "intent", "merchant");
  });

  it("answers an unknown payment with 404 and a malformed id with 400, naming the field", async function () {
    const f = fixture();
    expectError(await call(f.api, "GET", `/checkout/0x${"ab".repeat(32)}`), 404, "id", "not_found_error");
    expectError(await call(f.api, "GET", `/checkout/0x1234/status`), 400, "id");
  });
});
