import { expect } from "chai";
import hre from "hardhat";
import { createPublicClient, http, type Log } from "viem";
import { simulate } from "../../scripts/operator/simulate";
import { expire } from "../../scripts/operator/expire";
import { createProviderPool } from "../src/chain/providerPool";
import type { IndexerObserver, IndexerOptions } from "../src/indexing/indexer";
import type { Db } from "../src/store/paymentStore";
import { FaultyRpcProxy, refusedUrl, type ProxyOptions, type ScriptedFault } from "./support/faultyRpcProxy";
import {
  catchUp,
  localIndexer,
  mine,
  mineAt,
  register,
  SETTINGS,
  signedPayment,
  startLocalChain,
  type LocalChain,
  type SignedPayment,
} from "./support/localChain";
import { openTestStore, type StoreKind } from "./support/stores";

const quiet = () => undefined;

/** The seed of the proxies' fault generators: FAULT_SEED to replay a run, else a new one each run (printed). */
const SEED = process.env.FAULT_SEED ? Number(process.env.FAULT_SEED) : Math.floor(Math.random() * 2 ** 31);

/** Integers as decimal strings, whichever driver read them (pg gives bigint columns as strings, PGlite as numbers). */
function normal(value: unknown): unknown {
  if (typeof value === "number" || (typeof value === "string" && /^-?\d+$/.test(value))) return String(value);
  if (Array.isArray(value)) return value.map((item) => normal(item));
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, normal(v)]));
  }
  return value;
}

/** Everything the indexer wrote, without the columns that say when it wrote it (or serial ids). */
async function stateOf(db: Db) {
  const payments = await db.selectFrom("payments").selectAll().orderBy("id").execute();
  const changes = await db.selectFrom("status_changes").selectAll().orderBy("payment_id").orderBy("sequence").execute();
  const events = await db.selectFrom("payment_events").selectAll().orderBy("payment_id").orderBy("block_number").orderBy("log_index").execute();
  const outbox = await db.selectFrom("outbox").selectAll().orderBy("payment_id").orderBy("id").execute();
  const blocks = await db.selectFrom("blocks").selectAll().orderBy("number").execute();
  const checkpoints = await db.selectFrom("checkpoints").selectAll().execute();
  const without = <T extends object>(rows: T[], ...keys: string[]) =>
    rows.map((row) => normal(Object.fromEntries(Object.entries(row).filter(([key]) => !keys.includes(key)))) as Record<string, unknown>);
  return {
    payments: without(payments, "created_at", "updated_at"),
    statusChanges: without(changes, "id", "created_at"),
    paymentEvents: without(events, "id", "created_at"),
    outbox: without(outbox, "id", "created_at"),
    blocks: without(blocks),
    checkpoints: without(checkpoints, "updated_at"),
  };
}
type State = Awaited<ReturnType<typeof stateOf>>;

/** The differences between two states, field by field ("table[row].column: actual ≠ expected"). */
function differences(actual: State, expected: State): string[] {
  const found: string[] = [];
  for (const table of Object.keys(expected) as Array<keyof State>) {
    const [a, e] = [actual[table], expected[table]];
    if (a.length !== e.length) found.push(`${table}: ${a.length} rows ≠ ${e.length}`);
    for (let i = 0; i < Math.min(a.length, e.length); i++) {
      const key = String(e[i].id ?? e[i].payment_id ?? e[i].number ?? i);
      for (const column of new Set([...Object.keys(a[i]), ...Object.keys(e[i])])) {
        const [x, y] = [JSON.stringify(a[i][column]) ?? "undefined", JSON.stringify(e[i][column]) ?? "undefined"];
        if (x !== y) found.push(`${table}[${i}: ${key}].${column}: ${x} ≠ ${y}`);
      }
    }
  }
  return found;
}

function expectSameState(actual: State, expected: State) {
  const found = differences(actual, expected);
  expect(found, `${found.length} differences from the direct indexer:\n${found.slice(0, 30).join("\n")}`).to.deep.equal([]);
}

interface Batch {
  from: number;
  to: number;
}

/** Counts what the indexer reports. */
function recorder(onRpcError?: () => void) {
  const batches: Batch[] = [];
  let rpcErrors = 0;
  const observer: IndexerObserver = {
    committed: (batch) => batches.push({ from: batch.from, to: batch.to }),
    rpcError: () => {
      rpcErrors += 1;
      onRpcError?.();
    },
  };
  return { observer, batches, rpcErrors: () => rpcErrors };
}

/** Every block from `first` to `last` in exactly one batch, in order: none lost, none applied twice. */
function expectContiguous(batches: readonly Batch[], first: number, last: number) {
  expect(batches.length).to.be.greaterThan(0);
  expect(batches[0].from, "the first batch starts at the escrow's deployment block").to.equal(first);
  for (let i = 1; i < batches.length; i++) {
    expect(batches[i].from, `batch ${i} (${batches[i].from}..${batches[i].to}) follows batch ${i - 1} (..${batches[i - 1].to})`).to.equal(
      batches[i - 1].to + 1,
    );
  }
  for (const batch of batches) expect(batch.to).to.be.at.least(batch.from);
  expect(batches[batches.length - 1].to, "the last batch ends at the head").to.equal(last);
}

/**
 * One chain of a few hundred blocks with payments of every kind, indexed once straight from the node (the reference)
 * and then again through misbehaving providers (FaultyRpcProxy): each run must end with the same payments, status
 * changes, outbox, events, kept blocks and checkpoint, its batches covering every block exactly once.
 */
describe("indexer over faulty RPC providers: the same payments as over a healthy node", function () {
  this.timeout(120_000);

  let chain: LocalChain;
  let head: number;
  let registered: SignedPayment[];
  let reference: State;
  /** The most escrow logs in one block: a provider's result limit below it could never be met. */
  let logsPerBlock: number;
  let proxies: FaultyRpcProxy[] = [];

  const proxy = async (options: Omit<ProxyOptions, "upstream">) => {
    const started = await FaultyRpcProxy.start({ upstream: chain.url, seed: SEED, ...options });
    proxies.push(started);
    return started;
  };

  /** A fresh store with the payments registered, indexed to the head through `urls` (FAULTS_VERBOSE=1 prints what the proxies did). */
  async function indexThrough(
    urls: string[],
    {
      kind = "pglite",
      range,
      timeoutMs = 2_000,
      onRpcError,
    }: { kind?: StoreKind; range?: IndexerOptions["range"]; timeoutMs?: number; onRpcError?: () => void } = {},
  ) {
    const store = await openTestStore(kind);
    try {
      for (const payment of registered) await register(store.db, chain, payment);
      const seen = recorder(onRpcError);
      await catchUp(localIndexer(chain, store.db, { rpc: createProviderPool(urls, { timeoutMs }), observer: seen.observer, range }));
      if (process.env.FAULTS_VERBOSE) {
        console.log(`      ${seen.batches.length} batches, ${seen.rpcErrors()} RPC errors reported; proxies: ${JSON.stringify(proxies.map((p) => p.stats))}`);
      }
      return { state: await stateOf(store.db), ...seen };
    } finally {
      await store.close();
    }
  }

  before(async function () {
    console.log(`      faulty RPC seed: ${SEED} (FAULT_SEED=${SEED} replays it)`);
    chain = await startLocalChain();
    // A few hundred blocks with payments of every kind spread over them.
    const idle = await signedPayment(chain, "10");
    const full = await signedPayment(chain, "25");
    await simulate(hre, { intent: full.file, scenario: "full", token: "USDT" }, quiet);
    await mine(40);
    const partial = await signedPayment(chain, "40");
    await simulate(hre, { intent: partial.file, scenario: "partial", token: "USDC" }, quiet);
    await mine(40);
    await simulate(hre, { intent: partial.file, scenario: "full", token: "USDC" }, quiet);
    await mine(40);
    const over = await signedPayment(chain, "300");
    await simulate(hre, { intent: over.file, scenario: "over", token: "BNB" }, quiet);
    await mine(40);
    const viaAddress = await signedPayment(chain, "15");
    await simulate(hre, { intent: viaAddress.file, scenario: "full", token: "USDT", via: "deposit-address", collect: true }, quiet);
    await mine(40);
    // Paid, but never registered here: its events are kept for a registration that may come.
    const stranger = await signedPayment(chain, "20");
    await simulate(hre, { intent: stranger.file, scenario: "full", token: "USDC" }, quiet);
    await mine(40);
    const refunded = await signedPayment(chain, "80");
    await simulate(hre, { intent: refunded.file, scenario: "partial", token: "USDT" }, quiet);
    await mine(10);
    await mineAt(refunded.intent.expiry + 1n);
    await expire(hre, { intent: refunded.file }, quiet);
    await mine(40);
    // Nothing ever paid: expired by time once the late-collect window closed.
    await mineAt(idle.intent.expiry + 3_601n);
    await mine(40);
    // Near the head: still confirming, and still pending, when the indexer catches up.
    const recent = await signedPayment(chain, "25");
    await simulate(hre, { intent: recent.file, scenario: "full", token: "USDT" }, quiet);
    await mine(4);
    const open = await signedPayment(chain, "30");
    await simulate(hre, { intent: open.file, scenario: "partial", token: "BNB" }, quiet);
    await mine(2);
    registered = [idle, full, partial, over, viaAddress, refunded, recent, open];
    head = Number(await hre.network.provider.send("eth_blockNumber", []));

    const logs = (await hre.network.provider.send("eth_getLogs", [
      { address: chain.record.escrow, fromBlock: `0x${chain.record.blockNumber.toString(16)}`, toBlock: "latest" },
    ])) as Log[];
    const perBlock = new Map<string, number>();
    for (const log of logs) perBlock.set(String(log.blockNumber), (perBlock.get(String(log.blockNumber)) ?? 0) + 1);
    logsPerBlock = Math.max(...perBlock.values());

    // The reference: the same payments indexed straight from the node, in one backfill range.
    const direct = await indexThrough([chain.url]);
    reference = direct.state;
    expect(direct.rpcErrors()).to.equal(0);
    expectContiguous(direct.batches, chain.record.blockNumber, head);
    expect(head - chain.record.blockNumber, "blocks to index").to.be.greaterThan(300);

    // The reference itself is what the chain says.
    const status = (payment: SignedPayment) => reference.payments.find((row) => row.id === payment.intent.paymentId)?.status;
    expect([full, partial, over, viaAddress].map(status)).to.deep.equal(["paid", "paid", "paid", "paid"]);
    expect([refunded, idle, recent, open].map(status)).to.deep.equal(["expired", "expired", "confirming", "pending"]);
    expect(reference.paymentEvents.map((event) => event.payment_id)).to.include(stranger.intent.paymentId);
    expect(reference.checkpoints).to.have.length(1);
    expect(Number(reference.checkpoints[0].block_number)).to.equal(head);
  });

  after(async function () {
    await chain?.close();
  });

  afterEach(async function () {
    await Promise.all(proxies.map((p) => p.close()));
    proxies = [];
  });

  describe("the faulty proxy", function () {
    const post = async (url: string, body: unknown) => {
      try {
        const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
        const text = await response.text();
        return { status: response.status, body: response.ok ? JSON.parse(text) : text };
      } catch {
        return { status: 0, body: "dropped" };
      }
    };

    it("answers a JSON-RPC batch call by call, refusing only the log query over the limit", async function () {
      const limited = await proxy({ maxLogBlocks: { blocks: 100 } });
      const filter = (from: number, to: number) => ({ address: chain.record.escrow, fromBlock: `0x${from.toString(16)}`, toBlock: `0x${to.toString(16)}` });
      // From the escrow's deployment block, which holds its set-up logs (earlier test files moved the chain on).
      const start = chain.record.blockNumber;
      const { status, body } = await post(limited.url, [
        { jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] },
        { jsonrpc: "2.0", id: 2, method: "eth_getLogs", params: [filter(start, start + 100)] },
        { jsonrpc: "2.0", id: 3, method: "eth_getLogs", params: [filter(start, start + 99)] },
      ]);
      expect(status).to.equal(200);
      expect(body.map((answer: { id: number }) => answer.id)).to.deep.equal([1, 2, 3]);
      expect(Number(body[0].result)).to.equal(head);
      expect(body[1].error).to.deep.equal({ code: -32000, message: "query exceeds max block range 100" });
      expect(body[2].result).to.be.an("array").that.is.not.empty;
      expect(limited.stats).to.include({ requests: 1, batches: 1, calls: 3, forwarded: 2, refusedLogQueries: 1 });
      expect(limited.logQueries).to.deep.equal([
        { from: start, to: start + 100, refused: true },
        { from: start, to: start + 99, refused: false, logs: body[2].result.length },
      ]);

      // viem's batching transport goes through it too.
      const batching = createPublicClient({ transport: http(limited.url, { batch: true, retryCount: 0 }) });
      const [number, block] = await Promise.all([batching.getBlockNumber(), batching.getBlock({ blockNumber: 1n })]);
      expect(Number(number)).to.equal(head);
      expect(block.number).to.equal(1n);
      expect(limited.stats.batches).to.equal(2);
    });

    it("replays the same faults from the same seed", async function () {
      const rules: ProxyOptions["rules"] = [
        { probability: 0.2, fault: { kind: "drop" } },
        { probability: 0.2, fault: { kind: "http", status: 429 } },
        { probability: 0.2, fault: { kind: "rpc-error", code: -32603, message: "internal error" } },
      ];
      const outcomes = async (p: FaultyRpcProxy) => {
        const seen: string[] = [];
        for (let id = 1; id <= 40; id++) {
          const { status, body } = await post(p.url, { jsonrpc: "2.0", id, method: "eth_chainId", params: [] });
          seen.push(status === 200 ? (body.error ? `rpc ${body.error.code}` : "ok") : String(status));
        }
        return seen;
      };
      const [a, b, c] = [await proxy({ rules, seed: 7 }), await proxy({ rules, seed: 7 }), await proxy({ rules, seed: 8 })];
      const first = await outcomes(a);
      expect(await outcomes(b)).to.deep.equal(first);
      expect(await outcomes(c)).to.not.deep.equal(first);
      expect(new Set(first)).to.deep.equal(new Set(["ok", "0", "429", "rpc -32603"]));
      expect(a.stats.dropped + a.stats.http[429] + a.stats.rpcErrors + a.stats.forwarded).to.equal(40);
      expect(a.faults).to.equal(40 - a.stats.forwarded);
    });
  });

  /** Faults no seed can leave out: a timeout on log queries (three in a row outlast the transport's retries) and an outage of every kind. */
  const SCRIPT: ScriptedFault[] = [
    { method: "eth_getLogs", nth: 2, fault: { kind: "delay", ms: 700 } },
    { method: "eth_getLogs", nth: 3, fault: { kind: "delay", ms: 700 } },
    { method: "eth_getLogs", nth: 4, fault: { kind: "delay", ms: 700 } },
    { nth: 20, fault: { kind: "drop" } },
    { nth: 21, fault: { kind: "http", status: 503 } },
    { nth: 22, fault: { kind: "http", status: 429, retryAfterSeconds: 0 } },
    { nth: 40, fault: { kind: "http", status: 502 } },
    { nth: 41, fault: { kind: "drop-after-answer" } },
    { nth: 42, fault: { kind: "http", status: 500 } },
    { method: "eth_getBlockByNumber", nth: 10, fault: { kind: "rpc-error", code: -32000, message: "header not found" } },
  ];

  for (const kind of ["pglite", "postgres"] as const) {
    it(`random drops, 5xx, 429, JSON-RPC errors, delays and timeouts change nothing (${kind})`, async function () {
      const faulty = await proxy({
        script: SCRIPT,
        rules: [
          { probability: 0.06, fault: { kind: "drop" } },
          { probability: 0.04, fault: { kind: "drop-after-answer" } },
          { probability: 0.05, fault: { kind: "http", status: 429 } },
          { probability: 0.03, fault: { kind: "http", status: 500 } },
          { probability: 0.03, fault: { kind: "http", status: 502 } },
          { probability: 0.03, fault: { kind: "http", status: 503 } },
          { probability: 0.04, fault: { kind: "rpc-error", code: -32603, message: "internal error" } },
          { methods: ["eth_getBlockByNumber"], probability: 0.05, fault: { kind: "rpc-error", code: -32000, message: "header not found" } },
          { probability: 0.15, fault: { kind: "delay", ms: 15 } },
        ],
      });
      // A 300 ms timeout: the scripted 700 ms answers time out.
      const run = await indexThrough([faulty.url], { kind, range: { initial: 16, max: 64, fastMs: 1_000 }, timeoutMs: 300 });

      expectSameState(run.state, reference);
      expectContiguous(run.batches, chain.record.blockNumber, head);
      const { stats } = faulty;
      expect(stats.dropped, "connections dropped").to.be.greaterThan(0);
      expect(stats.droppedAfterAnswer, "answers lost").to.be.greaterThan(0);
      expect(stats.delayed, "answers delayed").to.be.greaterThan(2);
      expect(stats.http[429], "429s").to.be.greaterThan(0);
      expect(stats.http[500], "500s").to.be.greaterThan(0);
      expect(stats.http[502], "502s").to.be.greaterThan(0);
      expect(stats.http[503], "503s").to.be.greaterThan(0);
      expect(stats.rpcErrors, "JSON-RPC errors").to.be.greaterThan(0);
      expect(run.rpcErrors(), "errors reported to the observer").to.be.greaterThan(0);
      // A range whose answers timed out three times over (the transport retries twice) was asked again narrower.
      const { logQueries } = faulty;
      const narrowedAfterDelay = logQueries.some(
        (query, i) => query.fault === "delay" && logQueries.slice(i + 1).some((next) => next.from === query.from && next.to < query.to),
      );
      expect(narrowedAfterDelay, "a timed-out range was split").to.equal(true);
    });
  }

  const REFUSALS = [
    {
      title: "wider than 100 blocks (BSC-style range limit)",
      limit: { maxLogBlocks: { blocks: 100, message: "query exceeds max block range {limit}", code: -32000 } },
    },
    {
      title: "with more logs than the provider returns (Infura-style result limit)",
      limit: () => ({ maxLogResults: { results: logsPerBlock, code: -32005 } }),
    },
  ];
  for (const { title, limit } of REFUSALS) {
    it(`splits log ranges a provider refuses as ${title}, and still covers every block`, async function () {
      const faulty = await proxy(typeof limit === "function" ? limit() : limit);
      const run = await indexThrough([faulty.url], { range: { initial: 1_000, max: 5_000, fastMs: 1_000 } });

      expect(faulty.stats.refusedLogQueries, "queries the provider refused").to.be.greaterThan(0);
      expect(run.rpcErrors(), "refusals reported to the observer").to.be.at.least(1);
      const answered = faulty.logQueries.filter((query) => !query.refused);
      const refused = faulty.logQueries.filter((query) => query.refused);
      expect(refused.length).to.be.greaterThan(0);
      if (typeof limit === "function") {
        for (const query of answered) expect(query.logs).to.be.at.most(logsPerBlock);
      } else {
        for (const query of answered) expect(query.to - query.from + 1).to.be.at.most(100);
        for (const query of refused) expect(query.to - query.from + 1).to.be.greaterThan(100);
      }
      // Each range of the backfill is one the provider answered, and the batches cover every block once: the
      // backfill's ranges, then the unfinalised blocks one by one (their logs asked by block hash). (The provider
      // also answered the same ranges' transfer queries, and the re-reads of the kept blocks while following.)
      const backfill = run.batches.filter((batch) => batch.to > batch.from);
      expect(backfill.length, "the backfill took several ranges").to.be.greaterThan(1);
      // (A range whose headers' blooms rule out every log the indexer reads is not asked for at all.)
      const withEvents = new Set(reference.paymentEvents.map((event) => Number(event.block_number)));
      for (const batch of backfill) {
        const asked = answered.some((query) => query.from === batch.from && query.to === batch.to);
        const quiet = [...withEvents].every((block) => block < batch.from || block > batch.to);
        expect(asked || quiet, `range ${batch.from}..${batch.to} answered, or without events`).to.equal(true);
      }
      const unfinalised = head - SETTINGS.confirmations.depth + 1;
      for (const batch of run.batches.filter((batch) => batch.from >= unfinalised)) expect(batch.to).to.equal(batch.from);
      expectContiguous(run.batches, chain.record.blockNumber, head);
      expectSameState(run.state, reference);
    });
  }

  it("fails over to the second URL when the first refuses connections", async function () {
    const second = await proxy({});
    const run = await indexThrough([await refusedUrl(), second.url]);
    expect(second.stats.forwarded).to.be.greaterThan(0);
    expectContiguous(run.batches, chain.record.blockNumber, head);
    expectSameState(run.state, reference);
  });

  it("fails over to the second URL when the first answers 503 to everything", async function () {
    const down = await proxy({ rules: [{ probability: 1, fault: { kind: "http", status: 503 } }] });
    const second = await proxy({});
    const run = await indexThrough([down.url, second.url]);
    expect(down.stats.http[503]).to.be.greaterThan(0);
    expect(down.stats.forwarded).to.equal(0);
    expect(second.stats.forwarded).to.be.greaterThan(0);
    expectContiguous(run.batches, chain.record.blockNumber, head);
    expectSameState(run.state, reference);
  });

  it("fails over between two providers at different heights: the one behind is waited for, never taken for a reorganisation", async function () {
    const ahead = await proxy({ rules: [{ probability: 0.25, fault: { kind: "http", status: 503 } }] });
    const behind = await proxy({ lies: [{ lie: { kind: "lag", blocks: 5 } }] });
    const store = await openTestStore("pglite");
    try {
      for (const payment of registered) await register(store.db, chain, payment);
      let reorganised = 0;
      let failovers = 0;
      const observer: IndexerObserver = { reorganised: () => void reorganised++, failover: () => void failovers++ };
      const indexer = localIndexer(chain, store.db, { rpc: createProviderPool([ahead.url, behind.url], { timeoutMs: 2_000 }), observer });
      await catchUp(indexer);
      // Both at the head again: wherever the indexer got to through either, it ends where the healthy node does.
      ahead.configure({ rules: [] });
      behind.configure({ lies: [] });
      await catchUp(indexer);
      expect(failovers, "failovers").to.be.greaterThan(0);
      expect(behind.stats.laggedAnswers, "answers from the provider behind").to.be.greaterThan(0);
      expect(reorganised, "reorganisations taken").to.equal(0);
      expectSameState(await stateOf(store.db), reference);
    } finally {
      await store.close();
    }
  });

  it("waits out an outage of every URL and reports it to the observer", async function () {
    // Both providers answer 503 to everything until the indexer has reported three failed attempts: the fallback
    // cannot hide that, the indexer's own retry must wait it out.
    const down = { rules: [{ probability: 1, fault: { kind: "http", status: 503 } }] } satisfies Partial<ProxyOptions>;
    const first = await proxy(down);
    const second = await proxy(down);
    let reported = 0;
    // Each failure moves the indexer to the other provider: six failures are three on each.
    const run = await indexThrough([first.url, second.url], {
      onRpcError: () => {
        if (++reported === 6) for (const p of [first, second]) p.configure({ rules: [] });
      },
    });
    expect(first.stats.http[503], "503s from the first").to.be.at.least(3);
    expect(second.stats.http[503], "503s from the second").to.be.at.least(3);
    expect(run.rpcErrors()).to.be.at.least(6);
    expect(first.stats.forwarded, "the first serves again once it is back").to.be.greaterThan(0);
    expectContiguous(run.batches, chain.record.blockNumber, head);
    expectSameState(run.state, reference);
  });
});
