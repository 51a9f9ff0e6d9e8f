import { expect } from "chai";
import hre from "hardhat";
import pg from "pg";
import { simulate } from "../../scripts/operator/simulate";
import { acquireIndexerLock, type IndexerLock } from "../src/indexing/indexerLock";
import { openStore } from "../src/store/database";
import { killIndexerProcesses, startIndexerProcess, startRpcLink, type IndexerProcess, type RpcLink } from "./support/indexerProcess";
import { CHAIN_ID, mine, register, signedPayment, startLocalChain, type LocalChain } from "./support/localChain";
import { freshPostgresDatabase } from "./support/stores";

const quiet = () => undefined;
const STANDING_BY = "another indexer holds this chain's lock; standing by";

/** Polls `check` until it returns true; fails naming `what` after `timeoutMs`. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("one active indexer per chain: the PostgreSQL advisory lock", function () {
  this.timeout(180_000);

  let chain: LocalChain;
  let database: { url: string; drop: () => Promise<void> };
  let admin: pg.Client;
  const links: RpcLink[] = [];
  const locks: IndexerLock[] = [];

  /** Sessions holding chain 31337's indexer lock (class 0x4f50, the chain id as second key). */
  const lockHolders = async (chainId = CHAIN_ID) =>
    (
      await admin.query<{ pid: number }>(
        "select pid from pg_locks where locktype = 'advisory' and classid = $1 and objid = $2 and granted and database = (select oid from pg_database where datname = current_database())",
        [0x4f50, chainId],
      )
    ).rows.map((row) => row.pid);

  before(async function () {
    chain = await startLocalChain();
    database = await freshPostgresDatabase();
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });

  after(async function () {
    await killIndexerProcesses();
    for (const lock of locks) await lock.release().catch(() => undefined);
    for (const link of links) await link.close();
    await admin?.end();
    await database?.drop();
    await chain?.close();
  });

  const paymentStatus = async (id: string) =>
    (await admin.query<{ status: string }>("select status from payments where chain_id = $1 and id = $2", [CHAIN_ID, id])).rows[0]?.status;
  const checkpoint = async () =>
    Number((await admin.query<{ block_number: string }>("select block_number from checkpoints where chain_id = $1", [CHAIN_ID])).rows[0]?.block_number);

  /** Waits until the process reports `head` as indexed on /health. */
  const indexedTo = (process: IndexerProcess, head: number) =>
    process.until(`/health at block ${head}`, async () => {
      const health = await process.health();
      return health.body.indexed === head ? health : undefined;
    });

  it("two processes on one DATABASE_URL: one indexes, the other stands by, and takes over when the first is killed", async function () {
    const store = await openStore({ url: database.url });
    const first = await signedPayment(chain, "25");
    const second = await signedPayment(chain, "40");
    await register(store.db, chain, first);
    await register(store.db, chain, second);
    await store.close();

    const linkA = await startRpcLink(chain.url);
    const linkB = await startRpcLink(chain.url);
    links.push(linkA, linkB);
    const env = { CONFIRMATIONS: "3", POLL_INTERVAL_MS: "50" };
    const a = startIndexerProcess("indexer A", { rpcUrl: linkA.url, deploymentsDir: chain.deploymentsDir, databaseUrl: database.url, env });
    await a.log("indexing");
    const b = startIndexerProcess("indexer B", { rpcUrl: linkB.url, deploymentsDir: chain.deploymentsDir, databaseUrl: database.url, env });
    await b.log(STANDING_BY);

    // A indexes a payment; B stands by without reading the chain beyond its id.
    await simulate(hre, { intent: first.file, scenario: "full", token: "USDT" }, quiet);
    await mine(3);
    const head = await hre.ethers.provider.getBlockNumber();
    await indexedTo(a, head);
    expect(await a.health()).to.deep.include({ status: 200 });
    expect((await a.health()).body).to.include({ status: "ok", role: "active", head, indexed: head, lag: 0 });
    const standby = await b.health();
    expect(standby.status).to.equal(200);
    expect(standby.body).to.include({ status: "ok", role: "standby", head: 0, indexed: 0 });
    expect(await paymentStatus(first.intent.paymentId)).to.equal("paid");
    expect(await checkpoint()).to.equal(head);
    expect(b.logs.filter((line) => line.msg === STANDING_BY).length).to.be.greaterThan(0);
    expect(b.logs.some((line) => line.msg === "indexing")).to.equal(false);
    expect([...new Set(linkB.calls.map((call) => call.method))]).to.deep.equal(["eth_chainId"]);
    expect(await lockHolders()).to.have.length(1);

    // A dies without a word; B's next try takes the lock and B goes on from A's checkpoint.
    const callsBeforeTakeover = linkB.calls.length;
    expect(await a.kill()).to.deep.equal({ code: null, signal: "SIGKILL" });
    await b.log("indexing");
    await simulate(hre, { intent: second.file, scenario: "full", token: "BNB" }, quiet);
    await mine(3);
    const next = await hre.ethers.provider.getBlockNumber();
    await indexedTo(b, next);
    const taken = await b.health();
    expect(taken.status).to.equal(200);
    expect(taken.body).to.include({ status: "ok", role: "active", head: next, indexed: next, lag: 0 });
    expect(await paymentStatus(second.intent.paymentId)).to.equal("paid");
    expect(await checkpoint()).to.equal(next);
    // It resumed after A's checkpoint rather than from the escrow's block (reading again only the recent blocks A kept).
    const firstBlock = linkB.calls.slice(callsBeforeTakeover).find((call) => call.method === "eth_getBlockByNumber");
    expect(Number(firstBlock?.params[0] as string)).to.equal(head + 1);
    expect(await lockHolders()).to.have.length(1);

    expect(await b.stop()).to.deep.equal({ code: 0, signal: null });
    expect(await lockHolders()).to.deep.equal([]);
  });

  it("acquireIndexerLock: a second holder waits until the first releases; another chain's lock is separate", async function () {
    const first = (await acquireIndexerLock(database.url, CHAIN_ID))!;
    locks.push(first);
    let waits = 0;
    let held = false;
    const pending = acquireIndexerLock(database.url, CHAIN_ID, { retryMs: 20, waiting: () => (waits += 1) }).then((lock) => {
      held = true;
      locks.push(lock!);
      return lock!;
    });
    await eventually("the second acquire found the lock held", () => waits >= 1);
    await new Promise((resolve) => setTimeout(resolve, 200)); // several more tries at 20 ms
    expect(held).to.equal(false);
    expect(waits, "told once that it waits, not at every try").to.equal(1);

    // Chain 56's indexer is not held back by chain 31337's.
    let otherWaited = false;
    const other = (await acquireIndexerLock(database.url, 56, { waiting: () => (otherWaited = true) }))!;
    locks.push(other);
    expect(otherWaited).to.equal(false);
    expect(await lockHolders(56)).to.have.length(1);

    await first.release();
    const second = await pending;
    expect(held).to.equal(true);
    expect(second.lost.aborted).to.equal(false);
    expect(await lockHolders()).to.have.length(1);
    await second.release();
    await other.release();
    expect(await lockHolders()).to.deep.equal([]);
    expect(await lockHolders(56)).to.deep.equal([]);
  });

  it("acquireIndexerLock: a holder whose session ends is told through `lost`, and a waiter takes over", async function () {
    const lock = (await acquireIndexerLock(database.url, CHAIN_ID))!;
    locks.push(lock);
    let waits = 0;
    const pending = acquireIndexerLock(database.url, CHAIN_ID, { retryMs: 20, waiting: () => (waits += 1) });
    await eventually("the waiter tried", () => waits >= 1);
    const [holder] = await lockHolders();
    await admin.query("select pg_terminate_backend($1)", [holder]);
    await eventually("the holder learnt that its lock is lost", () => lock.lost.aborted);
    const next = (await pending)!;
    locks.push(next);
    expect(await lockHolders()).to.have.length(1);
    expect((await lockHolders())[0]).to.not.equal(holder);
    await lock.release(); // lost already: nothing to release
    await next.release();
    expect(await lockHolders()).to.deep.equal([]);
  });
});
