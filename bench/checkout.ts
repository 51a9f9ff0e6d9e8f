/**
 * Hosted checkout benchmark: what the shoppers' side of the API costs — `GET /checkout/:id` (the page, with a QR code
 * per token), `GET /checkout/:id/status` (which every open page polls every 2 s) and `GET /checkout/:id/wallet`
 * ("pay with browser wallet") — driven by autocannon in a child process (bench/apiLoad.ts) against the API over a
 * fresh PostgreSQL database (dropped afterwards), on Hardhat's local chain with Open Pay deployed, as bench/api.ts
 * does.
 *
 * The payments are created through `POST /v1/payments` with the default tokens (USDT, USDC, BNB: three QR codes per
 * page); each run reads them one after another. A page's first view draws its QR codes: one run views each payment
 * once, then the page's beacon (`POST /checkout/:id/opened`) moves each to pending, and the other runs read pending
 * payments. Each run records the CPU each party
 * used (bench/cpuAccounting.ts). After the runs the QR codes and the page's HTML are timed in this process, on the
 * same payments, to tell what a page view costs with and without rendering its QR codes.
 *
 * Then the pushed status (bench/checkoutStreams.ts): idle server-sent event streams held by one API process of its
 * own, its resident memory, and the change → page latency. BENCH_STREAMS (default 19,000: the machine's limit is
 * 20,000 open files per process, `ulimit -Hn`, for the API's sockets and the rest) is the number of idle streams,
 * BENCH_STREAM_SAMPLES (default 200) the changes timed.
 *
 * `npm run bench:checkout` prints the tables; BENCH_WRITE=1 also writes them to docs/checkout-benchmark.md.
 * BENCH_SECONDS (default 10) is the length of each run, BENCH_CONNECTIONS (default 10,50) the connection counts,
 * BENCH_PAYMENTS (default 1000) the payments read.
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import QRCode from "qrcode";
import { CheckoutReader } from "../indexer/src/checkout/checkoutReader";
import { checkoutPage, type CheckoutView } from "../indexer/src/checkout/checkoutPage";
import { call, startApiStack, type ApiStack } from "../indexer/test/support/merchantApiStack";
import { createBody, LoadProcess, routeOf, type Scenario } from "./apiLoad";
import { measureStreams, type Percentiles, type StreamFigures } from "./checkoutStreams";
import { countCpu, postgresPids } from "./cpuAccounting";
import { cpuMsPerRequest, loadColumns, type MeasuredRun } from "./loadColumns";
import { machineDescription } from "./machineDescription";
import { fixed, markdownTable } from "./markdownTable";
import { chainAndDatabase, runBenchmark } from "./benchmarkRun";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "10,50").split(",").map(Number);
const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? 1000);
/** Payments of their own for the warm-up, so that the measured first views are first views. */
const WARMUP_PAYMENTS = 200;
/** How often an open checkout page polls its status (indexer/src/checkout/browser/checkout.ts). */
const POLL_SECONDS = 2;
/** Far above what the runs reach: the benchmark measures the API, not its limiter (which still runs). */
const RATE_LIMIT = 1_000_000;
/** Pages timed in this process for the QR codes and the HTML. */
const TIMED_PAGES = 200;
const TIMING_ROUNDS = 3;
const ROOT = path.join(__dirname, "..");
const STREAMS = Number(process.env.BENCH_STREAMS ?? 19_000);
/** Idle streams per client process: each holds its sockets under the same open-files limit. */
const STREAMS_PER_CLIENT = 9_500;
/** Payments the idle pages show (several pages per payment, as when a shopper opens it on two devices). */
const STREAM_PAYMENTS = 2_000;
const STREAM_SAMPLES = Number(process.env.BENCH_STREAM_SAMPLES ?? 200);

/** The section on pushed status, from what measureStreams measured. */
function streamLines(figures: StreamFigures, n: (value: number) => string): string[] {
  const perStreamKiB = ((figures.rssAfterMiB - figures.rssBeforeMiB) * 1024) / figures.opened;
  const ms = (p: Percentiles) => [fixed(p.p50), fixed(p.p90), fixed(p.p99), fixed(p.max)];
  return [
    `The API as a process of its own (\`indexer/src/main.ts\`, ROLES=api, PostgreSQL on 127.0.0.1), ${n(figures.requested)} idle checkout pages opened ` +
      `by client processes (bench/sseClients.ts: raw TCP streams of \`GET /checkout/:id/events\` over ${n(figures.payments)} payments), each counted once it ` +
      `received its first event. The API process's open-files limit (soft / hard) was ${figures.fdLimit}, which bounds the streams one process can hold here.`,
    "",
    markdownTable<{ what: string; value: string }>(
      [
        { header: "idle streams", cell: (row) => row.what },
        { header: "measured", align: "right", cell: (row) => row.value },
      ],
      [
        { what: "streams opened (of those asked for)", value: `${n(figures.opened)} (of ${n(figures.requested)}; ${n(figures.failed)} failed)` },
        { what: "time to open them all (s)", value: fixed(figures.openSeconds, 1) },
        { what: "API process RSS before (MiB)", value: fixed(figures.rssBeforeMiB, 0) },
        { what: "API process RSS with every stream open (MiB)", value: fixed(figures.rssAfterMiB, 0) },
        { what: "RSS per idle stream (KiB)", value: fixed(perStreamKiB, 1) },
      ],
    ).join("\n"),
    "",
    `Change → page: with those streams open, ${n(figures.samples)} payments of pages opened by this process were changed one at a time, as the page's ` +
      "beacon changes them (`checkout_opened`: initiated → pending, its outbox event and its NOTIFY in one transaction, written by this process to the " +
      "database), and the event's arrival on the page's stream was timed.",
    "",
    markdownTable<{ what: string; cells: string[] }>(
      [
        { header: "milliseconds", cell: (row) => row.what },
        { header: "p50", align: "right", cell: (row) => row.cells[0] },
        { header: "p90", align: "right", cell: (row) => row.cells[1] },
        { header: "p99", align: "right", cell: (row) => row.cells[2] },
        { header: "max", align: "right", cell: (row) => row.cells[3] },
      ],
      [
        { what: "start of the write → event on the page", cells: ms(figures.latency) },
        { what: "commit acknowledged → event on the page", cells: ms(figures.afterCommit) },
        { what: "the write itself (its transaction)", cells: ms(figures.write) },
      ],
    ).join("\n"),
  ];
}

/** The same call as the checkout's route (indexer/src/api/routes/checkoutRoutes.ts). */
const qrSvg = (uri: string) => QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });

type PaymentsRead = "initiated (first view)" | "pending";

interface Row extends MeasuredRun {
  payments: PaymentsRead;
}

/** `count` payments through the API, with every token (no `tokens`) and the default TTL; their ids. */
async function createPayments(stack: ApiStack, count: number, first: number): Promise<string[]> {
  const ids: string[] = [];
  let next = first;
  const worker = async () => {
    while (next < first + count) {
      const { tokens: _tokens, ttl_seconds: _ttl, ...body } = createBody(next++, stack.merchant.address);
      const response = await call(stack, "POST", "/v1/payments", { key: stack.key, body });
      if (response.status !== 201) throw new Error(`POST /v1/payments answered ${response.status}: ${JSON.stringify(response.body)}`);
      ids.push(response.body.id);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return ids;
}

/** CPU and wall milliseconds `work` takes per page, over `TIMING_ROUNDS` rounds after one to warm up; the best round. */
async function timePerPage(pages: number, work: () => Promise<unknown>): Promise<{ cpuMs: number; wallMs: number }> {
  await work();
  let best = { cpuMs: Infinity, wallMs: Infinity };
  for (let round = 0; round < TIMING_ROUNDS; round++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await work();
    const wallMs = (performance.now() - started) / pages;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000 / pages;
    if (cpuMs < best.cpuMs) best = { cpuMs, wallMs };
  }
  return best;
}

interface PageTiming {
  pages: number;
  qrPerPage: number;
  qr: { cpuMs: number; wallMs: number };
  html: { cpuMs: number; wallMs: number };
  /** Mean sizes in bytes: the QR codes' SVGs of a page, and the whole page. */
  qrBytes: number;
  pageBytes: number;
}

/**
 * The QR codes and the HTML of the benchmark's own pages, timed in this process (its API idle): the route renders
 * a page's QR codes with `qrSvg` and its HTML with `checkoutPage`, from what `CheckoutReader.view` reads.
 */
async function timePages(stack: ApiStack, ids: readonly string[]): Promise<PageTiming> {
  const views: CheckoutView[] = [];
  const reader = new CheckoutReader(stack.context);
  for (const id of ids) views.push((await reader.view(await reader.load(id))).view);
  const qr = await timePerPage(views.length, () => Promise.all(views.map((view) => Promise.all(view.options.map((option) => qrSvg(option.uri))))));
  const html = await timePerPage(views.length, async () => views.map(checkoutPage));
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    pages: views.length,
    qrPerPage: mean(views.map((view) => view.options.length)),
    qr,
    html,
    qrBytes: mean(views.map((view) => view.options.reduce((sum, option) => sum + Buffer.byteLength(option.qrSvg), 0))),
    pageBytes: mean(views.map((view) => Buffer.byteLength(checkoutPage(view)))),
  };
}

function tableLines(rows: readonly Row[]): string[] {
  return markdownTable<Row>(
    [{ header: "route", cell: (row) => routeOf(row.scenario) }, { header: "payments", cell: (row) => row.payments }, ...loadColumns<Row>()],
    rows,
  );
}

async function main() {
  const loadBefore = loadavg()[0];
  const started = performance.now();
  const { chain, store, close } = await chainAndDatabase();
  const stack = await startApiStack(chain, store, { rateLimit: RATE_LIMIT });
  const load = await LoadProcess.start();
  try {
    console.log(`load average before the benchmark: ${loadBefore.toFixed(2)}; creating ${WARMUP_PAYMENTS} + ${PAYMENTS} payments...`);
    const warmIds = await createPayments(stack, WARMUP_PAYMENTS, 0);
    const ids = await createPayments(stack, PAYMENTS, WARMUP_PAYMENTS);

    const measure = async (
      scenario: Scenario,
      connections: number,
      paymentIds: string[],
      {
        seconds = SECONDS,
        requests,
        payments = "pending",
        warmUp = false,
      }: { seconds?: number; requests?: number; payments?: PaymentsRead; warmUp?: boolean } = {},
    ): Promise<Row> => {
      const cpuDone = countCpu(() => [process.pid], load.child.pid, await postgresPids(store.db));
      const figures = await load.run({ urls: [stack.url], scenario, connections, seconds, requests, paymentIds });
      const row: Row = { ...figures, payments, cpu: cpuDone(figures.cpuSeconds) };
      const unexpected = Object.keys(figures.statuses).filter((status) => status !== "200");
      console.log(
        `  ${routeOf(scenario)} (${warmUp ? "warm-up" : payments}), ${connections} connection${connections === 1 ? "" : "s"}: ${Math.round(figures.requestsPerSecond)} requests/s, ` +
          `p50 ${fixed(figures.p50)} ms, p99 ${fixed(figures.p99)} ms; CPU cores: API ${fixed(row.cpu.api, 2)}, autocannon ${fixed(row.cpu.load, 2)}, ` +
          `PostgreSQL ${fixed(row.cpu.postgres, 2)}, others ${fixed(row.cpu.others, 2)}; CPU ms per request: API ${fixed(cpuMsPerRequest(row, "api"), 2)}, ` +
          `PostgreSQL ${fixed(cpuMsPerRequest(row, "postgres"), 2)}` +
          (unexpected.length > 0 || figures.errors > 0 ? ` — ${figures.errors} errors, statuses ${JSON.stringify(figures.statuses)}` : ""),
      );
      return row;
    };

    console.log(`warming up for ${WARMUP_SECONDS} s per route on ${WARMUP_PAYMENTS} payments of their own...`);
    await measure("checkout page", 10, warmIds, { seconds: WARMUP_SECONDS, warmUp: true });
    await measure("checkout status", 10, warmIds, { seconds: WARMUP_SECONDS, warmUp: true });
    await measure("checkout wallet", 10, warmIds, { seconds: WARMUP_SECONDS, warmUp: true });

    console.log(`measuring: each of the ${PAYMENTS} payments' first view, then ${SECONDS} s per run...`);
    const rows: Row[] = [];
    const firstView = await measure("checkout page", CONNECTIONS[0], ids, { requests: ids.length, payments: "initiated (first view)" });
    rows.push(firstView);
    // What each page's script sends once it is shown: the move to pending.
    for (const id of ids) await call(stack, "POST", `/checkout/${id}/opened`);
    const statuses = await store.db.selectFrom("payments").select("status").where("id", "in", ids).execute();
    const opened = statuses.filter((row) => row.status === "pending").length;
    if (opened !== ids.length) throw new Error(`after the beacons ${opened} of ${ids.length} payments are pending`);
    for (const connections of CONNECTIONS) rows.push(await measure("checkout page", connections, ids));
    for (const connections of CONNECTIONS) rows.push(await measure("checkout status", connections, ids));
    for (const connections of CONNECTIONS) rows.push(await measure("checkout wallet", connections, ids));
    const single = await measure("checkout page", 1, ids);
    rows.push(single);
    const loadAfter = loadavg()[0];

    console.log(`timing the QR codes and the HTML of ${TIMED_PAGES} pages in this process...`);
    const timing = await timePages(stack, ids.slice(0, TIMED_PAGES));
    console.log(`holding ${STREAMS} idle server-sent event streams on an API process of its own...`);
    const streams = await measureStreams(chain, { streams: STREAMS, perClientProcess: STREAMS_PER_CLIENT, payments: STREAM_PAYMENTS, samples: STREAM_SAMPLES });

    // What the figures mean.
    const best = (scenario: Scenario) =>
      rows
        .filter((row) => row.scenario === scenario && row.payments === "pending" && row.connections > 1)
        .reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
    const status = best("checkout status");
    const page = best("checkout page");
    const pageRows = rows.filter((row) => row.scenario === "checkout page" && row.payments === "pending" && row.connections > 1);
    const statusApiMs = cpuMsPerRequest(status, "api");
    const pageApiMs = cpuMsPerRequest(page, "api");
    // The first view draws the codes; later views of the same amounts take them from the API's cache (qrCodes.ts).
    const drawingApiMs = cpuMsPerRequest(firstView, "api");
    const qrShare = timing.qr.cpuMs / drawingApiMs;
    const dominates = qrShare >= 0.5;
    const n = (value: number) => Math.round(value).toLocaleString("en");
    const cores = (row: Row) =>
      `during that run the API process used ${fixed(row.cpu.api, 2)} cores, PostgreSQL ${fixed(row.cpu.postgres, 2)}, autocannon ${fixed(row.cpu.load, 2)}, ` +
      `the rest of the machine ${fixed(row.cpu.others, 2)}` +
      (row.cpu.api >= 0.9
        ? ": the API's one event loop was the limit"
        : row.cpu.machine >= 0.85 * cpus().length
          ? `: the machine's ${cpus().length} cores were nearly all busy, the API sharing them with PostgreSQL and the load generator (its event loop was not saturated)`
          : "");
    const pollsPerView = pageApiMs / statusApiMs;
    /** Every open page asks once per poll period: the status requests per second, as the table rounds them, times that period. */
    const shoppers = Math.round(status.requestsPerSecond) * POLL_SECONDS;

    const lines = [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${await machineDescription(store.db)}, 10 pool connections, the API in the benchmark's process (logger off), ` +
        "autocannon in a child process.",
      `${PAYMENTS} payments created through \`POST /v1/payments\` with the three default tokens (USDT, USDC, BNB: three QR codes per page); each run requests them ` +
        `one after another, without an API key as a shopper's browser does. Each run lasts ${SECONDS} s after a ${WARMUP_SECONDS} s warm-up per route on ` +
        `${WARMUP_PAYMENTS} other payments, except the first-view run, which views each of the ${PAYMENTS} payments once (a first view draws the page's QR ` +
        "codes and writes nothing: the page's beacon, `POST /checkout/:id/opened`, then moves each payment to pending); the other page runs read pending payments. " +
        "Latency is measured per response by the client.",
      `The machine's 1-minute load average was ${loadBefore.toFixed(2)} before the benchmark and ${loadAfter.toFixed(2)} after the runs; the last two columns show ` +
        "the CPU each party used during each run (PostgreSQL: the backends of the benchmark's database and the server's own processes; \"others\": " +
        "everything else on the machine, other databases' backends included), and the CPU time the API process and PostgreSQL spent per response.",
      "",
      tableLines(rows).join("\n"),
      "",
      "## What one API process can follow",
      "",
      `- **Shoppers whose page polls (a browser without EventSource, or a failed stream): ${n(shoppers)}.** Such a page polls \`/status\` ${POLL_SECONDS} s after its previous ` +
        `answer, so one API process answering ${n(status.requestsPerSecond)} status requests/s (at ${status.connections} connections, p99 ${fixed(status.p99)} ms, ` +
        `far inside the ${POLL_SECONDS} s between polls) follows at least ${n(status.requestsPerSecond)} × ${POLL_SECONDS} = ` +
        `${n(shoppers)} pages at once, on this machine with PostgreSQL beside it. ` +
        `A poll cost the API ${fixed(statusApiMs, 2)} ms of CPU and PostgreSQL ${fixed(cpuMsPerRequest(status, "postgres"), 2)} ms (four queries); ${cores(status)}.`,
      `- **Page views: ${n(page.requestsPerSecond)} per second** (at ${page.connections} connections, p99 ${fixed(page.p99)} ms), ${fixed(pageApiMs, 2)} ms of the API's CPU ` +
        `each, as much as ${fixed(pollsPerView, 1)} status polls (${fixed(pollsPerView * POLL_SECONDS, 0)} s of an open page); ${cores(page)}. ` +
        `A first view, which also draws the page's QR codes, ran at ${n(firstView.requestsPerSecond)} per second at ${firstView.connections} connections ` +
        `(${fixed(cpuMsPerRequest(firstView, "api"), 2)} ms of the API's CPU, ${fixed(cpuMsPerRequest(firstView, "postgres"), 2)} ms of PostgreSQL's).`,
      `- **A single shopper** (1 connection, nothing else asking): a page view takes ${fixed(single.p50)} ms at the median, ${fixed(single.p90)} ms at p90, ` +
        `${fixed(single.p99)} ms at p99 (${fixed(single.max)} ms at most), the client's own measure on 127.0.0.1.`,
      `- **Pay with browser wallet** (\`/wallet\`, once per wallet payment): ${n(best("checkout wallet").requestsPerSecond)} per second, ` +
        `${fixed(cpuMsPerRequest(best("checkout wallet"), "api"), 2)} ms of the API's CPU each.`,
      "",
      "## The QR codes",
      "",
      `Timed in the benchmark's process (its API idle) on ${timing.pages} of the same payments (${fixed(timing.qrPerPage, 1)} QR codes per page, the URIs of their ` +
        `options), the best of ${TIMING_ROUNDS} rounds, with the calls the route makes ` +
        '(`QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 })` per token, then `checkoutPage`):',
      "",
      markdownTable<{ what: string; cpu: string; wall: string; bytes: string }>(
        [
          { header: "per page view", cell: (row) => row.what },
          { header: "CPU (ms)", align: "right", cell: (row) => row.cpu },
          { header: "wall (ms)", align: "right", cell: (row) => row.wall },
          { header: "bytes", align: "right", cell: (row) => row.bytes },
        ],
        [
          { what: `${fixed(timing.qrPerPage, 0)} QR codes (SVG)`, cpu: fixed(timing.qr.cpuMs, 2), wall: fixed(timing.qr.wallMs, 2), bytes: n(timing.qrBytes) },
          {
            what: "the page's HTML around them (`checkoutPage`)",
            cpu: fixed(timing.html.cpuMs, 3),
            wall: fixed(timing.html.wallMs, 3),
            bytes: n(timing.pageBytes - timing.qrBytes),
          },
          ...pageRows.map((row) => ({
            what: `the whole view, API process under load (${row.connections} connections, from the table)`,
            cpu: fixed(cpuMsPerRequest(row, "api"), 2),
            wall: "–",
            bytes: n(timing.pageBytes),
          })),
        ],
      ).join("\n"),
      "",
      dominates
        ? `**The QR codes dominate a page view that draws them:** rendering them takes ${fixed(timing.qr.cpuMs, 2)} ms of CPU, ${fixed(qrShare * 100, 0)}% of the ` +
          `${fixed(drawingApiMs, 2)} ms a first view cost the API at ${firstView.connections} connections, against ${fixed(pageApiMs, 2)} ms for a view ` +
          `served from the cache and ${fixed(statusApiMs, 2)} ms for a status poll. ` +
          `For a single shopper drawing them takes ${fixed(timing.qr.wallMs, 2)} ms. They are also ${fixed((timing.qrBytes / timing.pageBytes) * 100, 0)}% of the page's bytes.`
        : `The QR codes take ${fixed(timing.qr.cpuMs, 2)} ms of CPU to draw, ${fixed(qrShare * 100, 0)}% of the ${fixed(drawingApiMs, 2)} ms a first view cost the API ` +
          `at ${firstView.connections} connections: they do not dominate it; a view served from the cache cost ${fixed(pageApiMs, 2)} ms. ` +
          `They are ${fixed((timing.qrBytes / timing.pageBytes) * 100, 0)}% of the page's bytes.`,
      "",
      "The API keeps the codes it drew by URI (indexer/src/checkout/qrCodes.ts, the 20,000 most recent): a URI changes only when the amount " +
        "to send does (a short deposit, or BNB's price moving), so a reload, or any view whose amounts have not moved, draws none. The first " +
        "view of a payment draws its codes; the views of payments already opened above are served from that cache.",
      "",
      "Ideas, not done:",
      "",
      "- **Render only the chosen token's code on the server.** The page shows one option at a time; the others could be fetched " +
        "when the shopper picks another token, or be drawn by the page's script (which is served by the API, so the no-other-origin rule holds).",
      `- **Status polls were the load that grew with the time shoppers keep the page open** (a page open longer than ` +
        `${fixed(pollsPerView * POLL_SECONDS, 0)} s cost more in polls than its view). Pages now get their status pushed (below) and poll ` +
        "only when their browser has no EventSource or the stream fails.",
      "",
      "## Pushed status: open checkouts per API process",
      "",
      streamLines(streams, n).join("\n"),
    ];
    const elapsed = (performance.now() - started) / 1000;
    console.log(`\n${lines.join("\n")}\n\n(the benchmark took ${elapsed.toFixed(0)} s)`);
    if (process.env.BENCH_WRITE === "1") {
      const file = path.join(ROOT, "docs/checkout-benchmark.md");
      writeFileSync(
        file,
        ["# Hosted checkout benchmark", "", "Generated by `BENCH_WRITE=1 npm run bench:checkout` (bench/checkout.ts).", "", ...lines, ""].join("\n"),
      );
      console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
    }
  } finally {
    load.stop();
    await stack.close();
    await close();
  }
}

runBenchmark(main);
