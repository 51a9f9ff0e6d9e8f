import { expect } from "chai";
import { createRpcClient } from "../src/chain/rpcClient";
import { indexerHealth } from "../src/ledger/merchantOverview";
import { recordOffChainEvent } from "../src/ledger/offChainEvents";
import { readCheckpoint } from "../src/store/checkpointStore";
import { createApiKey } from "../src/store/merchantStore";
import { signedInSession, useDashboardStack, type DashboardFixture } from "./support/dashboardStack";
import { catchUp, localIndexer, mine, SETTINGS, useLocalChain } from "./support/localChain";
import { newMerchant, payOnChain } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";

describe("dashboard overview over HTTP (PostgreSQL, Hardhat)", function () {
  this.timeout(120_000);
  const chain = useLocalChain();
  const dashboardStack = useDashboardStack(chain);
  let stack: DashboardFixture;
  let session: { cookie: string; csrfToken: string };

  beforeEach(async function () {
    stack = dashboardStack();
    session = await signedInSession(stack);
  });

  const create = async (key: string, body: Record<string, unknown>) => {
    const answer = await call(stack, "POST", "/v1/payments", { key, body });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    return answer.body;
  };

  it("counts today's payments by how far they got and sums the paid volume exactly, never another merchant's", async function () {
    const { key } = await createApiKey(stack.store.db, stack.merchant.id, "test");
    const other = await newMerchant(stack.store.db);
    const made = [];
    for (const n of [1, 2, 3, 4]) made.push(await create(key, { amount_usd: `${n}0.25`, order_id: `ord-${n}` }));
    const theirs = await create(other.key, { amount_usd: "500.00" });
    // ord-2's checkout was opened (as its page reports it); ord-3 was paid in USDT. The other
    // merchant's payment (its address has no signer on the escrow: it stays initiated) must not be counted.
    await recordOffChainEvent(stack.store.db, stack.context.chainId, stack.context.settings, made[1].id, { kind: "checkout_opened" });
    await payOnChain(chain(), made[2], "full", "USDT");
    await catchUp(localIndexer(chain(), stack.store.db));
    await mine(SETTINGS.confirmations.depth);
    await catchUp(localIndexer(chain(), stack.store.db));
    const paid = (await call(stack, "GET", `/v1/payments/${made[2].id}`, { key })).body;
    expect(paid.status).to.equal("paid");

    const answer = await call(stack, "GET", "/dashboard/api/overview", { headers: { cookie: session.cookie } });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    expect(answer.headers.get("cache-control")).to.equal("no-store");
    const expected = { created: 4, opened: 2, paid: 1, expired: 0, volume_usd: "30.25", volume_by_token: { USDT: paid.paid_amount, USDC: "0", BNB: "0" } };
    expect(answer.body.periods.today).to.deep.equal(expected);
    expect(answer.body.periods.last_30_days).to.deep.equal(expected);
    expect(answer.body.days).to.have.length(30);
    expect(answer.body.days[29]).to.deep.equal({ day: new Date().toISOString().slice(0, 10), paid: 1, volume_usd: "30.25" });
    expect(answer.body.charts.conversion).to.include('aria-label="Payments of the last 30 days by how far they got: created 4; opened 2; paid 1; expired 0"');
    expect(answer.body.charts.volume).to.include("30.25 USD");

    // The indexer's health: its checkpoint, and the chain's head it is measured against.
    const checkpoint = (await readCheckpoint(stack.store.db, stack.context.chainId))!;
    const head = await stack.context.client.getBlockNumber({ cacheTime: 0 });
    expect(answer.body.indexer).to.include({
      checkpoint_block: checkpoint.blockNumber,
      checkpoint_time: new Date(Number(checkpoint.timestamp) * 1000).toISOString(),
      head_error: null,
    });
    expect(BigInt(answer.body.indexer.head_block)).to.be.at.most(head);
    expect(answer.body.indexer.lag_blocks).to.equal((BigInt(answer.body.indexer.head_block) - BigInt(checkpoint.blockNumber)).toString());

    // The page is sent with the section's heading only, at once; its script puts in the same figures drawn: the
    // figures' table and the charts, inline, with no inline style.
    const page = await (await fetch(`${stack.url}/dashboard`, { headers: { cookie: session.cookie } })).text();
    expect(page).to.include('<h2 id="overview-heading">At a glance</h2>').and.not.include('<svg class="chart"');
    const drawn = await call(stack, "GET", "/dashboard/api/overview.html", { headers: { cookie: session.cookie } });
    expect(drawn.status).to.equal(200);
    expect(drawn.headers.get("cache-control")).to.equal("no-store");
    expect(drawn.headers.get("content-type")).to.match(/^text\/html/);
    const section = drawn.body as string;
    expect(section).to.include('<h2 id="overview-heading">At a glance</h2>');
    expect(section).to.match(/<th scope="row">Paid volume \(USD\)<\/th><td class="amount">30\.25<\/td><td class="amount">30\.25<\/td>/);
    expect(section).to.include('<svg class="chart"');
    expect(`${page}${section}`).to.not.match(/style=/);

    expect(theirs.id).to.be.a("string");
    const theirSession = await call(stack, "GET", "/dashboard/api/overview");
    expect(theirSession.status).to.equal(401);
    expect((await call(stack, "GET", "/dashboard/api/overview.html")).status).to.equal(401);
  });

  it("says when the chain's head cannot be read rather than failing", async function () {
    const health = await indexerHealth({ ...stack.context, client: createRpcClient(["http://127.0.0.1:9"]) });
    expect(health.head).to.equal(undefined);
    expect(health.headError).to.be.a("string").and.not.equal("");
  });
});
