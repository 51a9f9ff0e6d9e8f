import { expect } from "chai";
import { sql } from "kysely";
import hre from "hardhat";
import type { Hex } from "viem";
import { outboxTypes, storedPayment } from "./support/paymentRecords";
import { catchUp, localIndexer, mine, mineAt, SETTINGS, useLocalChain } from "./support/localChain";
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
    expect(loaded).to.deep.equal([
      "/checkout/assets/checkout.css",
      "/checkout/assets/checkout.js",
      "/checkout/assets/tokens/usdt.svg",
      "/checkout/assets/tokens/usdc.svg",
      "/checkout/assets/tokens/bnb.svg",
    ]);
    for (const logo of loaded.slice(2)) {
      const svg = await page(`${f.api.url}${logo}`);
      expect(svg.status, logo).to.equal(200);
      expect(svg.headers.get("content-type"), logo).to.equal("image/svg+xml");
      expect(svg.text, logo)
        .to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
        .and.not.match(/href|<script/);
    }
    // The line that keeps a shopper from sending another token or on another chain, from what is offered.
    expect(html).to.include('<p class="send-only" id="send-only">Send only USDT, USDC or BNB on Local test chain (31337)</p>');
    expect(html).to.include("The timer pauses once a transaction is detected on chain.");
    const script = await page(`${f.api.url}/checkout/assets/checkout.js`);
    expect(script.headers.get("content-type")).to.match(/^text\/javascript/);
    // One bundle, viem inside, that calls this server's routes.
    expect(script.text)
      .to.match(/\/checkout\/\$\{\w+\}\/status/)
      .and.include("/failed-transactions");
    expect(script.text).to.not.match(/\brequire\(/);
    expect((await page(`${f.api.url}/checkout/assets/checkout.css`)).headers.get("content-type")).to.match(/^text\/css/);
  });

  it("a plain GET (a link preview, a crawler) changes nothing; the page's beacon moves initiated to pending, once, and tells the merchant", async function () {
    const f = fixture();
    const payment = await createdPayment(f);
    expect((await page(`${f.api.url}/checkout/${payment.id}`)).status).to.equal(200);
    expect((await page(`${f.api.url}/checkout/${payment.id}`)).status).to.equal(200);
    expect((await call(f.api, "GET", `/v1/payments/${payment.id}`, { key: f.key })).body).to.include({ status: "initiated", sequence: 0 });
    expect(await outboxTypes(f.db, payment.id)).to.deep.equal(["payment.created"]);
    // What the page's script sends once it is shown to a person.
    expect((await call(f.api, "POST", `/checkout/${payment.id}/opened`)).status).to.equal(204);
    expect((await call(f.api, "POST", `/checkout/${payment.id}/opened`)).status).to.equal(204);
    expectError(await call(f.api, "POST", `/checkout/0x${"ab".repeat(32)}/opened`), 404, "id", "not_found_error");
    const read = await call(f.api, "GET", `/v1/payments/${payment.id}`, { key: f.key });
    expect(read.body).to.include({ status: "pending", previous_status: "initiated", sequence: 1 });
    expect(read.body.history.map((entry: { reason: string }) => entry.reason)).to.deep.equal(["checkout_opened"]);
    expect(await outboxTypes(f.db, payment.id)).to.deep.equal(["payment.created", "payment.pending"]);
  });

  it("feeds the page the status: waiting, then confirming with its confirmations", async function () {
    const f = fixture();
    const payment = await createdPayment(f);
    await call(f.api, "POST", `/checkout/${payment.id}/opened`);
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

  it("shows expired at the expiry, when nothing was received: the merchant hears of it once a block after it is confirmed", async function () {
    const f = fixture();
    const payment = await createdPayment(f, { amount_usd: "5.00", ttl_seconds: 60 });
    await call(f.api, "POST", `/checkout/${payment.id}/opened`);
    const indexer = localIndexer(chain(), f.db);
    await mineAt(BigInt(Date.parse(payment.expires_at) / 1000) + 1n);
    await catchUp(indexer);
    const shown = await call(f.api, "GET", `/checkout/${payment.id}/status`);
    expect(shown.body).to.include({ status: "expired", text: "This payment has expired" });
    expect((await page(`${f.api.url}/checkout/${payment.id}`)).text).to.include('data-status="expired"');
    // The payment itself (opened: pending) is expired, and the merchant told, 12 confirmations later.
    expect((await storedPayment(f.db, payment.id)).status).to.equal("pending");
    await mine(SETTINGS.confirmations.depth);
    await catchUp(indexer);
    expect((await storedPayment(f.db, payment.id)).status).to.equal("expired");
  });

  it("lets a merchant list the origins that may frame its checkout, strictly, and the page's CSP follows the list", async function () {
    const f = fixture();
    const payment = await createdPayment(f);
    const csp = async () => (await page(`${f.api.url}/checkout/${payment.id}`)).headers.get("content-security-policy");
    expect(await csp()).to.match(/frame-ancestors 'none'$/);
    expect((await call(f.api, "GET", "/v1/checkout_settings", { key: f.key })).body).to.deep.equal({
      object: "checkout_settings",
      checkout_frame_origins: [],
      site_url: null,
    });
    const set = await call(f.api, "PATCH", "/v1/checkout_settings", {
      key: f.key,
      body: { checkout_frame_origins: ["https://Shop.Example/", "http://localhost:3000", "https://shop.example"] },
    });
    expect(set.status, JSON.stringify(set.body)).to.equal(200);
    expect(set.body).to.deep.equal({ object: "checkout_settings", checkout_frame_origins: ["https://shop.example", "http://localhost:3000"], site_url: null });
    expect(await csp()).to.match(/frame-ancestors https:\/\/shop\.example http:\/\/localhost:3000$/);
    // Anything but an origin is refused, naming the entry; nothing is changed.
    const refused = await call(f.api, "PATCH", "/v1/checkout_settings", {
      key: f.key,
      body: { checkout_frame_origins: ["https://ok.example", "https://shop.example/cart"] },
    });
    expectError(refused, 400, "checkout_frame_origins.1");
    expect(refused.body.error.message).to.include("must be an origin only");
    expectError(
      await call(f.api, "PATCH", "/v1/checkout_settings", { key: f.key, body: { checkout_frame_origins: ["http://shop.example"] } }),
      400,
      "checkout_frame_origins.0",
    );
    expectError(await call(f.api, "PATCH", "/v1/checkout_settings", { key: f.key, body: { site_url: "ftp://shop.example" } }), 400, "site_url");
    expect(await csp()).to.match(/frame-ancestors https:\/\/shop\.example http:\/\/localhost:3000$/);
    // The site is where an expired or failed checkout returns the shopper when the payment has no cancel_url.
    await call(f.api, "PATCH", "/v1/checkout_settings", { key: f.key, body: { site_url: "https://shop.example/" } });
    expect((await call(f.api, "GET", `/checkout/${payment.id}/status`)).body.return_url).to.equal("https://shop.example/");
    // Without a key, nothing.
    expect((await call(f.api, "GET", "/v1/checkout_settings")).status).to.equal(401);
  });

  it("pushes the payment's states over server-sent events, fed by PostgreSQL's NOTIFY", async function () {
    const f = fixture();
    const payment = await createdPayment(f);
    const response = await fetch(`${f.api.url}/checkout/${payment.id}/events`);
    expect(response.headers.get("content-type")).to.match(/^text\/event-stream/);
    const reader = response.body!.getReader();
    let buffer = "";
    const next = async (): Promise<any> => {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (message.startsWith("data: ")) return JSON.parse(message.slice("data: ".length));
          continue;
        }
        const { value } = await reader.read();
        buffer += new TextDecoder().decode(value);
      }
    };
    try {
      expect(await next()).to.include({ status: "initiated", payable: true });
      await call(f.api, "POST", `/checkout/${payment.id}/opened`);
      expect(await next()).to.include({ status: "pending", text: "Waiting for payment: $25.00 to pay" });
      // The indexer's commit notifies too: the deposit, then each block's confirmations.
      await payOnChain(chain(), payment, "full", "USDT");
      const indexer = localIndexer(chain(), f.db);
      await catchUp(indexer);
      const confirming = await next();
      expect(confirming).to.include({ status: "confirming", payable: false, text: "Payment received, confirming on chain (1 of 12 confirmations)" });
      expect(confirming.amounts).to.deep.equal({});
      expect(confirming.received).to.have.length(1);
      await mine(1);
      await catchUp(indexer);
      expect((await next()).text).to.equal("Payment received, confirming on chain (2 of 12 confirmations)");
      // The API's LISTEN session dies: it is opened again, and what was announced meanwhile still reaches the page.
      const ended = await sql<{ ended: boolean }>`select pg_terminate_backend(pid) as ended from pg_stat_activity
        where datname = current_database() and query = ${'listen "openpay_payments"'}`.execute(f.db);
      expect(ended.rows.map((row) => row.ended)).to.deep.equal([true]);
      await mine(1);
      await catchUp(indexer);
      expect((await next()).text).to.equal("Payment received, confirming on chain (3 of 12 confirmations)");
    } finally {
      await reader.cancel();
    }
  });

  it("answers an unknown payment with 404 and a malformed id with 400, naming the field", async function () {
    const f = fixture();
    expectError(await call(f.api, "GET", `/checkout/0x${"ab".repeat(32)}`), 404, "id", "not_found_error");
    expectError(await call(f.api, "GET", `/checkout/0x1234/status`), 400, "id");
  });

  describe("pay with wallet", function () {
    /** Hardhat's account 7: a shopper with a browser wallet (accounts 0-6 are the deployment's roles and the simulator). */
    const shopper = async () => (await hre.ethers.getSigners())[7];
    const mintUsdt = async (to: string, amount: bigint) => {
      await (await (await hre.ethers.getContractAt("TestToken", chain().record.tokens.USDT.address)).mint(to, amount)).wait();
    };

    it("gives the wallet an approval and the escrow's pay for the amount, which pay the payment on chain", async function () {
      const f = fixture();
      const payment = await createdPayment(f);
      const usdtOption = payment.payment_options.find((option: { token: string }) => option.token === "USDT");
      const plan = await call(f.api, "GET", `/checkout/${payment.id}/wallet?token=usdt`);
      expect(plan.status).to.equal(200);
      expect(plan.body).to.deep.include({ chain_id: 31337, amount: usdtOption.amount, amount_units: usdtOption.amount_units });
      expect(plan.body.approve).to.include({ spender: chain().record.escrow, to: usdtOption.address });
      const wallet = await shopper();
      await mintUsdt(wallet.address, BigInt(plan.body.amount_units));
      await (await wallet.sendTransaction({ to: plan.body.approve.to, data: plan.body.approve.data })).wait();
      await (await wallet.sendTransaction({ to: plan.body.pay.to, data: plan.body.pay.data, value: BigInt(plan.body.pay.value) })).wait();
      await catchUp(localIndexer(chain(), f.db));
      const status = await call(f.api, "GET", `/checkout/${payment.id}/status`);
      expect(status.body).to.include({ status: "confirming", remaining_usd: "0.00", failure: null });
      // Nothing is left to pay from a wallet.
      expectError(await call(f.api, "GET", `/checkout/${payment.id}/wallet?token=USDT`), 409, "id", "conflict_error");
    });

    it("pays BNB with payNative and its value", async function () {
      const f = fixture();
      const payment = await createdPayment(f);
      const plan = await call(f.api, "GET", `/checkout/${payment.id}/wallet?token=BNB`);
      expect(plan.body.approve).to.equal(null);
      expect(plan.body.pay.value).to.equal(payment.payment_options.find((option: { token: string }) => option.token === "BNB").amount_units);
      const wallet = await shopper();
      await (await wallet.sendTransaction({ to: plan.body.pay.to, data: plan.body.pay.data, value: BigInt(plan.body.pay.value) })).wait();
      await catchUp(localIndexer(chain(), f.db));
      expect((await call(f.api, "GET", `/checkout/${payment.id}/status`)).body.status).to.equal("confirming");
    });

    it("quotes at the current Chainlink price: a BNB amount follows the feed, never short", async function () {
      const f = fixture();
      const payment = await createdPayment(f, { amount_usd: "300.00" });
      const quoted = payment.payment_options.find((option: { token: string }) => option.token === "BNB");
      const feed = await hre.ethers.getContractAt("MockV3Aggregator", chain().record.tokens.BNB.feed);
      const [, answer] = await feed.latestRoundData();
      // BNB falls by 10%: the amount quoted at creation would now be 10% short, far beyond the escrow's 1% tolerance.
      await (await feed.updateAnswer((answer * 9n) / 10n)).wait();
      await (f.api.context.prices as unknown as { refresh(): Promise<void> }).refresh();
      const status = await call(f.api, "GET", `/checkout/${payment.id}/status`);
      const plan = await call(f.api, "GET", `/checkout/${payment.id}/wallet?token=BNB`);
      expect(status.body.amounts.BNB).to.equal(plan.body.amount);
      const now = BigInt(plan.body.amount_units);
      expect(now > BigInt(quoted.amount_units)).to.equal(true);
      // Worth at least $300 at the new price (the feed has 8 decimals, BNB 18).
      expect((now * ((answer * 9n) / 10n)) / 10n ** 8n >= 300n * 10n ** 18n).to.equal(true);
      expect(await fetch(`${f.api.url}/checkout/${payment.id}`).then((response) => response.text())).to.include(`data-copy="${plan.body.amount}"`);
    });

    it("refuses a token the payment does not offer, naming the field", async function () {
      const f = fixture();
      const payment = await createdPayment(f, { amount_usd: "10.00", tokens: ["USDT"] });
      expectError(await call(f.api, "GET", `/checkout/${payment.id}/wallet?token=BNB`), 400, "token");
      expectError(await call(f.api, "GET", `/checkout/${payment.id}/wallet?token=DOGE`), 400, "token");
      expectError(await call(f.api, "GET", `/checkout/${payment.id}/wallet`), 400, "token");
    });

    it("asks for what remains once underpaid, in the wallet's plan and in the options shown", async function () {
      const f = fixture();
      const payment = await createdPayment(f, { amount_usd: "40.00" });
      await payOnChain(chain(), payment, "partial", "USDC");
      await catchUp(localIndexer(chain(), f.db));
      const status = await call(f.api, "GET", `/checkout/${payment.id}/status`);
      expect(status.body.status).to.equal("pending");
      expect(Number(status.body.remaining_usd)).to.be.within(23.99, 24.01);
      // What remains is in the token that was paid: each token adds up apart, so another would have to pay it all.
      const plan = await call(f.api, "GET", `/checkout/${payment.id}/wallet?token=USDC`);
      const full = payment.payment_options.find((option: { token: string }) => option.token === "USDC");
      expect(BigInt(plan.body.amount_units) < BigInt(full.amount_units)).to.equal(true);
      const other = await call(f.api, "GET", `/checkout/${payment.id}/wallet?token=USDT`);
      const fullUsdt = payment.payment_options.find((option: { token: string }) => option.token === "USDT");
      expect(BigInt(other.body.amount_units)).to.equal(BigInt(fullUsdt.amount_units));
      const options = await fetch(`${f.api.url}/checkout/${payment.id}/options`).then((response) => response.text());
      expect(options).to.include(`data-copy="${plan.body.amount}"`).and.not.include(`data-copy="${full.amount}"`);
      // Only the paid token is offered now.
      expect(options.match(/<svg/g)).to.have.length(1);
      expect((await page(`${f.api.url}/checkout/${payment.id}`)).text).to.include(`data-copy="${plan.body.amount}"`);
    });

    it("records a reverted pay call once, checked on chain, with the reason; the payment stays payable", async function () {
      const f = fixture();
      const payment = await createdPayment(f);
      await call(f.api, "POST", `/checkout/${payment.id}/opened`);
      const plan = (await call(f.api, "GET", `/checkout/${payment.id}/wallet?token=USDT`)).body;
      const wallet = await shopper();
      await mintUsdt(wallet.address, BigInt(plan.amount_units));
      // No approval first. A wallet that sends anyway (a gas limit of its own) gets a transaction mined reverted.
      await hre.network.provider.send("evm_setAutomine", [false]);
      const hash = (await hre.network.provider.send("eth_sendTransaction", [
        { from: wallet.address, to: plan.pay.to, data: plan.pay.data, gas: "0x7a120" },
      ])) as Hex;
      await hre.network.provider.send("evm_mine", []);
      await hre.network.provider.send("evm_setAutomine", [true]);
      expect((await hre.ethers.provider.getTransactionReceipt(hash))!.status).to.equal(0);

      const reported = await call(f.api, "POST", `/checkout/${payment.id}/failed-transactions`, { body: { transaction_hash: hash } });
      expect(reported.status).to.equal(201);
      expect(reported.body.reason).to.match(/^the token approval is smaller than the amount \(ERC20InsufficientAllowance\(0x[0-9a-fA-F]{40}, 0, \d+\)\)$/);
      expect(reported.body.status).to.equal("pending");
      expect(
        (await call(f.api, "POST", `/checkout/${payment.id}/failed-transactions`, { body: { transaction_hash: hash.toUpperCase().replace("0X", "0x") } }))
          .status,
      ).to.equal(201);
      expect((await storedPayment(f.db, payment.id)).failedTransactions).to.equal(1);
      const status = await call(f.api, "GET", `/checkout/${payment.id}/status`);
      expect(status.body.failure).to.deep.equal({ transaction_hash: hash, reason: reported.body.reason });
      expect(status.body.status).to.equal("pending");
      // Retried with the approval, it pays.
      await (await wallet.sendTransaction({ to: plan.approve.to, data: plan.approve.data })).wait();
      await (await wallet.sendTransaction({ to: plan.pay.to, data: plan.pay.data })).wait();
      await catchUp(localIndexer(chain(), f.db));
      expect((await call(f.api, "GET", `/checkout/${payment.id}/status`)).body.status).to.equal("confirming");
    });

    it("refuses a report the chain does not bear out, naming transaction_hash", async function () {
      const f = fixture();
      const payment = await createdPayment(f);
      const other = await createdPayment(f);
      const wallet = await shopper();
      const succeeded = (await wallet.sendTransaction({ to: wallet.address, value: 1n })).hash;
      expectError(await call(f.api, "POST", `/checkout/${payment.id}/failed-transactions`, { body: { transaction_hash: succeeded } }), 422, "transaction_hash");
      expectError(
        await call(f.api, "POST", `/checkout/${payment.id}/failed-transactions`, { body: { transaction_hash: `0x${"12".repeat(32)}` } }),
        409,
        "transaction_hash",
        "conflict_error",
      );
      expectError(await call(f.api, "POST", `/checkout/${payment.id}/failed-transactions`, { body: { transaction_hash: "0x1234" } }), 400, "transaction_hash");
      // A reverted pay call of another payment does not count against this one.
      const plan = (await call(f.api, "GET", `/checkout/${other.id}/wallet?token=USDT`)).body;
      await hre.network.provider.send("evm_setAutomine", [false]);
      const hash = (await hre.network.provider.send("eth_sendTransaction", [
        { from: wallet.address, to: plan.pay.to, data: plan.pay.data, gas: "0x7a120" },
      ])) as Hex;
      await hre.network.provider.send("evm_mine", []);
      await hre.network.provider.send("evm_setAutomine", [true]);
      expectError(await call(f.api, "POST", `/checkout/${payment.id}/failed-transactions`, { body: { transaction_hash: hash } }), 422, "transaction_hash");
      expect((await storedPayment(f.db, payment.id)).failedTransactions).to.equal(0);
    });
  });
});
