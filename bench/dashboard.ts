/**
 * Merchant dashboard benchmark (issue 18): the payments list with a million payments in PostgreSQL, over real HTTP
 * against the dashboard's routes (`GET /dashboard/api/payments`, the merchant API's own listing, and its CSV export),
 * with a signed-in dashboard session, on Hardhat's local chain with Open Pay deployed and a fresh PostgreSQL database
 * (dropped afterwards).
 *
 * The payments are written with set-based SQL (bench/dashboardPayments.ts), copies of one payment created through the
 * API: BENCH_PAYMENTS (default 1,000,000) for the demo merchant over two years, and a tenth as many for each of two
 * other merchants. Then every filter of the list is timed, one request at a time, each request with another value
 * (another status, token, time window, order id, amount range, search text or cursor), BENCH_REQUESTS (default 200)
 * per filter. A filter whose p99 misses the target has its slowest request's plan printed (EXPLAIN ANALYZE of the
 * very statement the list runs, run again). Last, a CSV export of a time window holding about 100,000 payments: its time and the
 * resident memory of the process serving it (this one), sampled while it streams.
 *
 * `npm run bench:dashboard` prints the tables; with BENCH_WRITE=1 it also writes them to docs/dashboard-benchmark.md,
 * keeping that file's hand-written notes.
 */
import { createHash } from "node:crypto";
import { loadavg } from "node:os";
import path from "node:path";
import { Kysely, PostgresDialect, sql, type CompiledQuery } from "kysely";
import pg from "pg";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatAccountKey } from "../scripts/stack/hardhatAccounts";
import { decodeCursor, encodeCursor } from "../indexer/src/ledger/pageCursor";
import { paymentFilter, paymentListQuery } from "../indexer/src/ledger/paymentList";
import { createApiKey, createMerchant } from "../indexer/src/store/merchantStore";
import { listPaymentRecords } from "../indexer/src/store/paymentRequestStore";
import type { Database } from "../indexer/src/store/schema";
import { writeBenchmarkDoc } from "./benchmarkDoc";
import { signedInSession, startDashboardStack } from "../indexer/test/support/dashboardStack";
import { call } from "../indexer/test/support/merchantApiStack";
import { fillPayments } from "./dashboardPayments";
import { machineDescription } from "./machineDescription";
import { fixed, markdownTable } from "./markdownTable";
import { peakResidentMiB } from "./peakMemory";
import { chainAndDatabase, runBenchmark } from "./benchmarkRun";

const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? 1_000_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const TARGET_P99_MS = 100;
/** Two years of payments. */
const DAYS = 730;
/** The export's time window holds about this many of the merchant's payments. */
const EXPORT_ROWS = Math.min(100_000, Math.floor(PAYMENTS / 2));
const ORDER_BASE = 1_000_000;

interface Case {
  name: string;
  /** The query of the `i`th request. */
  query: (i: number) => string;
}

interface Timed {
  name: string;
  example: string;
  p50: number;
  p99: number;
  max: number;
  /** Payments per page, on average. */
  rows: number;
}

const md5 = (text: string) => createHash("md5").update(text).digest("hex");
const percentile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
const iso = (date: Date) => date.toISOString();
/** A draw in [0, 1) that is the same for the same `i` and `salt` (the requests of a run differ, runs are alike). */
const draw = (i: number, salt: number) => {
  const x = Math.sin(i * 12.9898 + salt * 78.233) * 43758.5453;
  return x - Math.floor(x);
};

async function main() {
  const loadBefore = loadavg()[0];
  const { chain, store, databaseUrl, close } = await chainAndDatabase();
  const stack = await startDashboardStack(chain, store);
  // The statements the list runs, seen through a logging connection of its own, for their plans.
  const seen: CompiledQuery[] = [];
  const logged = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }),
    log: (event) => void (event.level === "query" && seen.push(event.query)),
  });
  try {
    const { context } = stack;
    const owner = { merchantId: stack.merchant.id, mode: context.mode };
    const key = (await createApiKey(store.db, stack.merchant.id, context.mode)).key;
    const created = await call(stack, "POST", "/v1/payments", { key, body: { amount_usd: "10.00", order_id: "template" } });
    if (created.status !== 201) throw new Error(`the template payment was not created: ${JSON.stringify(created.body)}`);
    const template = created.body.id as string;
    const tokens = context.tokens.map((token) => token.address);

    const others = await Promise.all(
      [5, 7].map((account, i) => createMerchant(store.db, { name: `Other shop ${i + 1}`, address: privateKeyToAccount(hardhatAccountKey(account)).address })),
    );
    const fillStarted = performance.now();
    const base = { chainId: context.chainId, templateId: template, tokens, days: DAYS };
    const count = Math.ceil(PAYMENTS / 10);
    await fillPayments(store.db, [
      { ...base, merchantId: stack.merchant.id, merchantAddress: stack.merchant.address, from: 1, to: PAYMENTS },
      ...others.map((other, i) => ({
        ...base,
        merchantId: other.id,
        merchantAddress: other.address,
        from: PAYMENTS + 1 + i * count,
        to: PAYMENTS + (i + 1) * count,
      })),
    ]);
    const total = PAYMENTS + others.length * count;
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const vacuumStarted = performance.now();
    // What autovacuum would have done by the time a shop has this many payments: statistics and the visibility map.
    await sql`vacuum analyze payments`.execute(store.db);
    await sql`vacuum analyze payment_requests`.execute(store.db);
    const vacuumSeconds = (performance.now() - vacuumStarted) / 1000;
    console.log(
      `filled ${PAYMENTS.toLocaleString("en")} payments of the merchant and ${(total - PAYMENTS).toLocaleString("en")} of two others in ${fixed(fillSeconds)} s ` +
        `(vacuum analyze ${fixed(vacuumSeconds)} s)`,
    );

    const session = await signedInSession(stack);
    const get = async (query: string) => {
      const answer = await fetch(`${stack.url}/dashboard/api/payments?${query}`, { headers: { cookie: session.cookie } });
      const body = (await answer.json()) as { data?: unknown[] };
      if (answer.status !== 200 || !body.data) throw new Error(`${query}: ${answer.status} ${JSON.stringify(body)}`);
      return body.data.length;
    };

    // Times of the merchant's payments, to aim windows and cursors at: payment n was created about `timeOf(n)`.
    const now = Date.now();
    const timeOf = (n: number) => new Date(now - ((PAYMENTS - n) / PAYMENTS) * DAYS * 86_400_000);
    const paymentAt = async (n: number) =>
      (
        await sql<{ payment_id: string; created_at: Date }>`select payment_id, created_at from payment_requests
          where merchant_id = ${owner.merchantId} and mode = ${owner.mode} order by created_at desc, payment_id desc offset ${PAYMENTS - n} limit 1`.execute(
          store.db,
        )
      ).rows[0];
    // Cursors of pages deep in the list (a merchant who pressed "more" many times, or a script paging the API).
    const cursors: string[] = [];
    for (let i = 0; i < 10; i++) {
      const row = await paymentAt(Math.floor(PAYMENTS * (0.1 + 0.08 * i)));
      cursors.push(encodeCursor(row.created_at, row.payment_id));
    }
    const statuses = ["paid", "expired", "initiated", "pending", "confirming", "failed", "refunded", "partially_refunded", "refunding", "paid,refunded"];
    const symbols = context.tokens.map((token) => token.symbol);
    const order = (i: number) => ORDER_BASE + 1 + Math.floor(draw(i, 1) * PAYMENTS);
    const cases: Case[] = [
      { name: "no filter", query: () => "" },
      { name: "status", query: (i) => `status=${statuses[i % statuses.length]}` },
      { name: "token", query: (i) => `token=${symbols[i % symbols.length]}` },
      {
        name: "created from … to (a week)",
        query: (i) => {
          const from = timeOf(Math.floor(draw(i, 2) * PAYMENTS));
          return `created_from=${iso(from)}&created_to=${iso(new Date(from.getTime() + 7 * 86_400_000))}`;
        },
      },
      { name: "order id", query: (i) => `order_id=ORD-${order(i)}` },
      {
        name: "amount range (10 USD wide)",
        query: (i) => {
          const min = 1 + Math.floor(draw(i, 3) * 1990);
          return `amount_min=${min}.00&amount_max=${min + 10}.00`;
        },
      },
      { name: "amount min (≥ 1,000 USD)", query: () => "amount_min=1000" },
      {
        name: "status + token + amount",
        query: (i) => `status=${["paid", "refunded", "confirming"][i % 3]}&token=${symbols[i % symbols.length]}&amount_min=100&amount_max=500`,
      },
      { name: "search: order id prefix", query: (i) => `search=ORD-${String(order(i)).slice(0, 5)}` },
      { name: "search: whole order id", query: (i) => `search=ORD-${order(i)}` },
      // Prefixes of a payment's id (the merchant's address, then 6 of its own characters) and deposit address, as
      // bench/dashboardPayments.ts wrote them.
      { name: "search: payment id prefix", query: (i) => `search=${stack.merchant.address.toLowerCase()}${md5(`${order(i) - ORDER_BASE}id`).slice(0, 6)}` },
      { name: "search: deposit address prefix", query: (i) => `search=0x${md5(`${order(i) - ORDER_BASE}deposit`).slice(0, 10)}` },
      { name: "deep cursor page", query: (i) => `starting_after=${cursors[i % cursors.length]}` },
      { name: "deep cursor page + status", query: (i) => `status=${statuses[i % 3]}&starting_after=${cursors[i % cursors.length]}` },
    ];

    /** The plan of the statement the list runs for `query`, as PostgreSQL executed it. */
    async function explain(query: string) {
      const parsed = paymentListQuery.parse(Object.fromEntries(new URLSearchParams(query)));
      seen.length = 0;
      await listPaymentRecords(logged, context.chainId, {
        ...paymentFilter(context, owner, parsed),
        after: parsed.starting_after ? decodeCursor(parsed.starting_after) : undefined,
        limit: parsed.limit + 1,
      });
      const [statement] = seen;
      const plan = await logged.executeQuery<{ "QUERY PLAN": string }>({ ...statement, sql: `explain (analyze, buffers) ${statement.sql}` });
      console.log(`    plan of ${query || "(no filter)"}:\n${plan.rows.map((row) => `      ${row["QUERY PLAN"]}`).join("\n")}`);
    }

    console.log("warming up...");
    for (const one of cases) for (let i = 0; i < 5; i++) await get(one.query(REQUESTS + i));

    console.log(`measuring, ${REQUESTS} requests per filter, one at a time...`);
    const timed: Timed[] = [];
    for (const one of cases) {
      const times: number[] = [];
      let rows = 0;
      let slowest = 0;
      for (let i = 0; i < REQUESTS; i++) {
        const started = performance.now();
        rows += await get(one.query(i));
        times.push(performance.now() - started);
        if (times[i] > times[slowest]) slowest = i;
      }
      const slowestQuery = one.query(slowest);
      times.sort((a, b) => a - b);
      const result = {
        name: one.name,
        example: one.query(0),
        p50: percentile(times, 0.5),
        p99: percentile(times, 0.99),
        max: times.at(-1)!,
        rows: rows / REQUESTS,
      };
      timed.push(result);
      console.log(`  ${one.name}: p50 ${fixed(result.p50)} ms, p99 ${fixed(result.p99)} ms, ${fixed(result.rows)} payments per page`);
      if (result.p99 > TARGET_P99_MS) await explain(slowestQuery);
    }

    // At a glance: the last 30 days' tallies and the indexer's health (its checkpoint and the chain's head), as the
    // signed-in page reads them; "payments per page" is the payments the 30 days' figures count.
    const overview = async () => {
      const answer = await fetch(`${stack.url}/dashboard/api/overview`, { headers: { cookie: session.cookie } });
      const body = (await answer.json()) as { periods?: { last_30_days: { created: number } } };
      if (answer.status !== 200 || !body.periods) throw new Error(`overview: ${answer.status} ${JSON.stringify(body)}`);
      return body.periods.last_30_days.created;
    };
    for (let i = 0; i < 5; i++) await overview();
    const overviewTimes: number[] = [];
    let counted = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const started = performance.now();
      counted = await overview();
      overviewTimes.push(performance.now() - started);
    }
    overviewTimes.sort((a, b) => a - b);
    const glance = {
      name: "At a glance (GET /dashboard/api/overview)",
      example: "",
      p50: percentile(overviewTimes, 0.5),
      p99: percentile(overviewTimes, 0.99),
      max: overviewTimes.at(-1)!,
      rows: counted,
    };
    timed.push(glance);
    console.log(`  ${glance.name}: p50 ${fixed(glance.p50)} ms, p99 ${fixed(glance.p99)} ms, ${counted} payments in the 30 days`);

    // The export: a time window holding about EXPORT_ROWS of the merchant's payments, read as a browser downloads it.
    const from = timeOf(Math.floor((PAYMENTS - EXPORT_ROWS) / 2));
    const to = new Date(from.getTime() + (EXPORT_ROWS / PAYMENTS) * DAYS * 86_400_000);
    const matching = Number(
      (
        await sql<{ n: string }>`select count(*) as n from payment_requests where merchant_id = ${owner.merchantId} and mode = ${owner.mode}
          and created_at >= ${from} and created_at < ${to}`.execute(store.db)
      ).rows[0].n,
    );
    const exportQuery = `created_from=${iso(from)}&created_to=${iso(to)}`;
    const mib = (bytes: number) => bytes / 2 ** 20;
    const rssBefore = mib(process.memoryUsage().rss);
    const peakBefore = peakResidentMiB(process.pid);
    let rssMax = rssBefore;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, mib(process.memoryUsage().rss));
    }, 10);
    const exportStarted = performance.now();
    const response = await fetch(`${stack.url}/dashboard/api/payments.csv?${exportQuery}`, { headers: { cookie: session.cookie } });
    if (response.status !== 200 || !response.body) throw new Error(`the export answered ${response.status}`);
    let lines = 0;
    let bytes = 0;
    // Counted as it arrives and dropped: the client holds one chunk.
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 10) lines++;
    }
    const exportSeconds = (performance.now() - exportStarted) / 1000;
    clearInterval(sampler);
    const rssAfter = mib(process.memoryUsage().rss);
    const peakAfter = peakResidentMiB(process.pid);
    const exported = lines - 1;
    if (exported !== matching) throw new Error(`the export has ${exported} rows; ${matching} payments match`);

    const passed = timed.filter((row) => row.p99 <= TARGET_P99_MS).length;
    const output = [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${await machineDescription(store.db)}; 1-minute load average before: ${loadBefore.toFixed(2)}.`,
      `${PAYMENTS.toLocaleString("en")} payments of the signed-in merchant over ${DAYS} days (and ${(total - PAYMENTS).toLocaleString("en")} of two other merchants), ` +
        `written in ${fixed(fillSeconds)} s, then vacuum analyze in ${fixed(vacuumSeconds)} s. ` +
        `GET /dashboard/api/payments (20 per page), ${REQUESTS} requests per filter, one at a time, each with another value; latency as the client saw it.`,
      "",
      ...markdownTable<Timed>(
        [
          { header: "filter", cell: (row) => row.name },
          { header: "first request's query", cell: (row) => `\`${row.example.length > 70 ? `${row.example.slice(0, 67)}...` : row.example || "(none)"}\`` },
          { header: "payments per page", align: "right", cell: (row) => fixed(row.rows) },
          { header: "p50 (ms)", align: "right", cell: (row) => fixed(row.p50) },
          { header: "p99 (ms)", align: "right", cell: (row) => fixed(row.p99) },
          { header: "max (ms)", align: "right", cell: (row) => fixed(row.max) },
        ],
        timed,
      ),
      "",
      `Target p99 ≤ ${TARGET_P99_MS} ms for a filtered page: ${passed === timed.length ? "met by every filter" : `met by ${passed} of ${timed.length} filters`}.`,
      "",
      ...markdownTable<{ what: string; value: string }>(
        [
          { header: "CSV export (GET /dashboard/api/payments.csv)", cell: (row) => row.what },
          { header: "measured", align: "right", cell: (row) => row.value },
        ],
        [
          { what: "rows (payments matching the window)", value: exported.toLocaleString("en") },
          { what: "bytes (MiB)", value: fixed(mib(bytes)) },
          { what: "time (s)", value: fixed(exportSeconds, 2) },
          { what: "rows/s", value: Math.round(exported / exportSeconds).toLocaleString("en") },
          { what: "server process RSS before (MiB)", value: fixed(rssBefore, 0) },
          { what: "server process RSS, most while streaming (MiB)", value: fixed(rssMax, 0) },
          { what: "server process RSS after (MiB)", value: fixed(rssAfter, 0) },
          { what: "growth of the process's peak RSS, VmHWM (MiB)", value: fixed(peakAfter - peakBefore, 0) },
        ],
      ),
      "",
      `The server runs in the benchmark's process (as the tests start it), which also reads the export and drops each chunk; ` +
        `the CSV is ${fixed(mib(bytes))} MiB, so an export held in memory would show as that much growth at least.`,
    ];
    console.log(`\n${output.join("\n")}`);
    if (process.env.BENCH_WRITE === "1") {
      const file = path.join(__dirname, "../docs/dashboard-benchmark.md");
      writeBenchmarkDoc(file, ["# Dashboard benchmark", "", "Generated by `BENCH_WRITE=1 npm run bench:dashboard` (bench/dashboard.ts).", "", ...output]);
      console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
    }
  } finally {
    await logged.destroy();
    await stack.close();
    await close();
  }
}

runBenchmark(main);
