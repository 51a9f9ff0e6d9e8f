import { expect } from "chai";
import { sql } from "kysely";
import { allPayments, paymentFilter } from "../src/ledger/paymentList";
import { createApiKey } from "../src/store/merchantStore";
import { listPaymentRecords } from "../src/store/paymentRequestStore";
import { signedInSession, useDashboardStack, type DashboardFixture } from "./support/dashboardStack";
import { catchUp, localIndexer, mine, revertTo, snapshot, useLocalChain } from "./support/localChain";
import { insertDelivery, insertEvent, newMerchant, payOnChain } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";

type Listed = { id: string; order_id: string; amount_usd: string; status: string; paid_amount: string | null; token: { symbol: string } | null };

describe("dashboard payments over HTTP (PostgreSQL, Hardhat)", function () {
  this.timeout(120_000);
  const chain = useLocalChain();
  const dashboardStack = useDashboardStack(chain, { each: "test" });
  let stack: DashboardFixture;
  let key: string;
  let session: { cookie: string; csrfToken: string };
  /** The demo merchant's payments ord-1 … ord-5 (10 … 50 USD), oldest first; ord-3 paid in USDT. */
  let made: Listed[];

  beforeEach(async function () {
    stack = dashboardStack();
    key = (await createApiKey(stack.store.db, stack.merchant.id, "test")).key;
    made = [];
    for (const n of [1, 2, 3, 4, 5]) made.push(await create({ amount_usd: `${n}0.00`, order_id: `ord-${n}` }));
    await payOnChain(chain(), made[2] as never, "full", "USDT");
    await catchUp(localIndexer(chain(), stack.store.db));
    session = await signedInSession(stack);
  });

  const create = async (body: Record<string, unknown>, as = key) => {
    const answer = await call(stack, "POST", "/v1/payments", { key: as, body });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    return answer.body;
  };
  const get = (path: string, cookie = session.cookie) => call(stack, "GET", path, { headers: { cookie } });
  const orders = (body: { data: Listed[] }) => body.data.map((payment) => payment.order_id);

  it("lists the merchant's payments newest first, as the merchant API lists them, and filters them", async function () {
    const all = await get("/dashboard/api/payments");
    expect(all.status, JSON.stringify(all.body)).to.equal(200);
    expect(all.headers.get("cache-control")).to.equal("no-store");
    expect(orders(all.body)).to.deep.equal(["ord-5", "ord-4", "ord-3", "ord-2", "ord-1"]);
    // The same resources as GET /v1/payments: one application layer.
    expect(all.body).to.deep.equal((await call(stack, "GET", "/v1/payments", { key })).body);

    expect(orders((await get("/dashboard/api/payments?token=usdt")).body)).to.deep.equal(["ord-3"]);
    expect(orders((await get("/dashboard/api/payments?status=confirming,paid")).body)).to.deep.equal(["ord-3"]);
    expect(orders((await get("/dashboard/api/payments?status=initiated")).body)).to.deep.equal(["ord-5", "ord-4", "ord-2", "ord-1"]);
    expect(orders((await get("/dashboard/api/payments?amount_min=20&amount_max=40.00")).body)).to.deep.equal(["ord-4", "ord-3", "ord-2"]);
    expect(orders((await get("/dashboard/api/payments?order_id=ord-2")).body)).to.deep.equal(["ord-2"]);
    const paid = (await get("/dashboard/api/payments?token=USDT")).body.data[0];
    expect(paid.token).to.include({ symbol: "USDT" });
    expect(paid.paid_amount).to.match(/^\d+(\.\d+)?$/);

    const future = new Date(Date.now() + 3600_000).toISOString();
    expect(orders((await get(`/dashboard/api/payments?created_from=${encodeURIComponent(future)}`)).body)).to.deep.equal([]);
    const past = new Date(Date.now() - 3600_000).toISOString();
    expect(orders((await get(`/dashboard/api/payments?created_to=${encodeURIComponent(past)}`)).body)).to.deep.equal([]);
  });

  it("searches by a prefix of the payment id, the deposit address (any case) or the order id; % and _ match only themselves", async function () {
    const [, second] = made;
    // Ids begin with the merchant's address (paymentIntent.ts): a prefix that tells them apart is longer.
    const search = async (text: string) => orders((await get(`/dashboard/api/payments?search=${encodeURIComponent(text)}`)).body);
    expect(await search(second.id.slice(0, 50))).to.deep.equal(["ord-2"]);
    expect(await search(second.id.slice(0, 50).toUpperCase().replace("0X", "0x"))).to.deep.equal(["ord-2"]);
    const deposit = (second as unknown as { deposit_address: string }).deposit_address;
    expect(await search(deposit.slice(0, 12).toLowerCase())).to.deep.equal(["ord-2"]);
    expect(await search(deposit.slice(0, 12))).to.deep.equal(["ord-2"]);
    expect(await search("ord-")).to.have.length(5);
    expect(await search("ord-4")).to.deep.equal(["ord-4"]);
    expect(await search("ord_")).to.deep.equal([]);
    expect(await search("%")).to.deep.equal([]);
  });

  it("finds the same payments by a search looked up by index as by one read in the list's order", async function () {
    const [, second] = made;
    const other = await newMerchant(stack.store.db);
    const theirs = await create({ amount_usd: "60.00", order_id: "ord-6" }, other.key);
    const owner = { merchantId: stack.merchant.id, mode: "test" as const };
    const deposit = (second as unknown as { deposit_address: string }).deposit_address;
    // A lookup limit of 0: every search with a match reads the list's order, as a search matching many does.
    const found = async (search: string, lookupLimit?: number) =>
      (
        await listPaymentRecords(
          stack.store.db,
          stack.context.chainId,
          { ...paymentFilter(stack.context, owner, { status: undefined, search }), limit: 10 },
          lookupLimit,
        )
      ).map((record) => record.request.orderId);
    for (const [search, expected] of [
      ["ord-", ["ord-5", "ord-4", "ord-3", "ord-2", "ord-1"]],
      ["ord-4", ["ord-4"]],
      ["ord-6", []],
      [second.id.slice(0, 50), ["ord-2"]],
      [deposit.slice(0, 12), ["ord-2"]],
      [theirs.id.slice(0, 50), []],
      ["ord_", []],
    ] as const) {
      expect(await found(search), search).to.deep.equal(expected);
      expect(await found(search, 0), search).to.deep.equal(expected);
    }
  });

  it("pages by cursor without repeating or skipping a payment while new ones arrive", async function () {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const answer = await get(`/dashboard/api/payments?limit=2${cursor ? `&starting_after=${cursor}` : ""}`);
      expect(answer.status).to.equal(200);
      seen.push(...orders(answer.body));
      // A payment created between pages is newer than the cursor: it is not on a later page.
      await create({ amount_usd: "1.00", order_id: `new-${page}` });
      cursor = answer.body.next_cursor;
      if (!answer.body.has_more) break;
    }
    expect(seen).to.deep.equal(["ord-5", "ord-4", "ord-3", "ord-2", "ord-1"]);
  });

  it("lists a payment by its status and token as they stand, through its payment and a reorganisation that takes it back", async function () {
    const second = made[1];
    const paidIn = "status=confirming,paid&token=USDT";
    const listed = async (query: string) => {
      const dashboard = orders((await get(`/dashboard/api/payments?${query}`)).body);
      expect(orders((await call(stack, "GET", `/v1/payments?${query}`, { key })).body), query).to.deep.equal(dashboard);
      return dashboard;
    };
    expect(await listed(paidIn)).to.deep.equal(["ord-3"]);
    expect(await listed("status=initiated&amount_min=20&amount_max=20")).to.deep.equal(["ord-2"]);

    const indexer = localIndexer(chain(), stack.store.db);
    const fork = await snapshot();
    await payOnChain(chain(), second as never, "full", "USDT");
    await mine(3);
    await catchUp(indexer);
    expect(await listed(paidIn)).to.deep.equal(["ord-3", "ord-2"]);
    expect(await listed(`${paidIn}&amount_min=20&amount_max=20`)).to.deep.equal(["ord-2"]);
    expect(await listed("status=initiated&amount_min=20&amount_max=20")).to.deep.equal([]);

    // Another branch, longer than the one the indexer saw, without the payment: it is initiated again, with no token.
    await revertTo(fork);
    await mine(8);
    await catchUp(indexer);
    expect(await listed(paidIn)).to.deep.equal(["ord-3"]);
    expect(await listed("token=USDT&amount_min=20&amount_max=20")).to.deep.equal([]);
    expect(await listed("status=initiated&amount_min=20&amount_max=20")).to.deep.equal(["ord-2"]);
    const [detail] = (await get("/dashboard/api/payments?order_id=ord-2")).body.data;
    expect(detail).to.include({ status: "initiated", previous_status: "confirming", token: null });

    // The list's owner and order copied onto each payment (migration 007) are its request's.
    const differing = await sql<{ id: string }>`select p.id from payments p join payment_requests r on r.chain_id = p.chain_id and r.payment_id = p.id
      where (p.merchant_id, p.mode, p.created_at) is distinct from (r.merchant_id, r.mode, r.created_at)`.execute(stack.store.db);
    expect(differing.rows).to.deep.equal([]);
  });

  it("refuses filters it cannot read, naming the field, and answers 401 without a session", async function () {
    for (const [query, field] of [
      ["amount_min=ten", "amount_min"],
      ["amount_max=1.0000000000000000001", "amount_max"],
      ["amount_min=5&amount_max=4", "amount_max"],
      ["token=DOGE", "token"],
      ["status=lost", "status"],
      ["starting_after=bm9wZQ", "starting_after"],
    ]) {
      const answer = await get(`/dashboard/api/payments?${query}`);
      expect(answer.status, query).to.equal(400);
      expect(answer.body.error.message, query).to.include(field);
    }
    expect((await get("/dashboard/api/payments", "openpay_dashboard=nobody")).status).to.equal(401);
    expect((await call(stack, "GET", "/dashboard/api/payments.csv")).status).to.equal(401);
    expect((await call(stack, "GET", `/dashboard/api/payments/${made[0].id}`)).status).to.equal(401);
  });

  it("exports the filtered list as CSV, streamed, with the API's exact decimal amounts", async function () {
    const response = await fetch(`${stack.url}/dashboard/api/payments.csv?amount_min=20`, { headers: { cookie: session.cookie } });
    expect(response.status).to.equal(200);
    expect(response.headers.get("content-type")).to.equal("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).to.match(/^attachment; filename="payments-\d{4}-\d{2}-\d{2}\.csv"$/);
    // Streamed: no length known before the last row is read.
    expect(response.headers.get("transfer-encoding")).to.equal("chunked");
    const [header, ...lines] = (await response.text()).split("\r\n");
    expect(lines.pop()).to.equal("");
    const columns = header.split(",");
    const rows = lines.map((line) => Object.fromEntries(line.split(",").map((value, i) => [columns[i], value])));
    const listed = (await call(stack, "GET", "/v1/payments", { key })).body.data.filter((p: Listed) => p.order_id !== "ord-1");
    expect(rows.map((row) => [row.id, row.order_id, row.amount_usd, row.status, row.token, row.paid_amount])).to.deep.equal(
      listed.map((p: Listed) => [p.id, p.order_id, p.amount_usd, p.status, p.token?.symbol ?? "", p.paid_amount ?? ""]),
    );
    expect(rows.find((row) => row.order_id === "ord-3")!.paid_amount).to.equal(listed.find((p: Listed) => p.order_id === "ord-3").paid_amount);
  });

  it("reads an export one keyset page at a time, in the list's order", async function () {
    const filter = paymentFilter(stack.context, { merchantId: stack.merchant.id, mode: "test" }, { status: undefined });
    const pages: string[][] = [];
    for await (const page of allPayments(stack.context, filter, 2)) pages.push(page.map((payment) => payment.order_id!));
    expect(pages).to.deep.equal([["ord-5", "ord-4"], ["ord-3", "ord-2"], ["ord-1"]]);
  });

  it("shows a payment's timeline, transactions (no explorer on the local chain) and webhook deliveries with each attempt", async function () {
    const paid = made[2];
    const event = await insertEvent(stack.store.db, { merchantId: stack.merchant.id }, { paymentId: paid.id, type: "payment.confirming", sequence: 1 });
    await insertDelivery(stack.store.db, event, "we_1", "pending", [{ responseStatus: 500, error: "HTTP 500" }]);
    const answer = await get(`/dashboard/api/payments/${paid.id}`);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    const { payment, explorer, transaction_links: links, webhook_events: events } = answer.body;
    expect(payment.id).to.equal(paid.id);
    expect(payment.history.map((entry: { sequence: number; from: string; to: string }) => [entry.sequence, entry.from, entry.to])).to.deep.equal([
      [1, "initiated", "confirming"],
    ]);
    expect(payment.history[0].reason).to.be.a("string").and.not.equal("");
    expect(payment.history[0].at).to.match(/^\d{4}-\d{2}-\d{2}T/);
    expect(explorer).to.equal(null);
    expect(Object.keys(links)).to.deep.equal(payment.transactions).and.have.length(1);
    expect(Object.values(links)).to.deep.equal([null]);
    expect(payment.checkout_url).to.equal(`${stack.url}/checkout/${paid.id}`);
    expect(events).to.have.length(1);
    expect(events[0]).to.include({ id: event, type: "payment.confirming", sequence: 1 });
    expect(events[0].deliveries[0]).to.include({ endpoint_id: "we_1", status: "pending" });
    expect(events[0].deliveries[0].attempts).to.have.length(1);
    expect(events[0].deliveries[0].attempts[0]).to.include({ attempt: 1, response_status: 500, error: "HTTP 500" });
  });

  it("answers 404 for another merchant's payment on every route, and never lists, finds or exports it", async function () {
    const other = await newMerchant(stack.store.db);
    const theirs = await create({ amount_usd: "99.00", order_id: "ord-theirs" }, other.key);
    await insertEvent(stack.store.db, { merchantId: other.merchant.id }, { paymentId: theirs.id });

    const page = await get(`/dashboard/api/payments/${theirs.id}`);
    expect(page.status).to.equal(404);
    expect(page.body.error.message).to.equal(`no payment ${theirs.id}`);
    // The same answer as for a payment that does not exist: nothing tells them apart.
    const none = `0x${"ab".repeat(32)}`;
    expect((await get(`/dashboard/api/payments/${none}`)).body.error.message).to.equal(`no payment ${none}`);

    for (const query of ["", `?search=${theirs.id.slice(0, 12)}`, "?order_id=ord-theirs", "?search=ord-theirs", "?amount_min=99"]) {
      expect(orders((await get(`/dashboard/api/payments${query}`)).body), query).to.not.include("ord-theirs");
      const csv = await (await fetch(`${stack.url}/dashboard/api/payments.csv${query}`, { headers: { cookie: session.cookie } })).text();
      expect(csv, query).to.not.include(theirs.id);
    }
    // Their own session sees it.
    expect((await call(stack, "GET", `/v1/payments/${theirs.id}`, { key: other.key })).status).to.equal(200);
  });
});
