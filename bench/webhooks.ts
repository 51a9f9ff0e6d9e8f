/**
 * Webhook benchmark, against PostgreSQL with a receiver on 127.0.0.1 in a process of its own that verifies each
 * delivery's signature as a merchant's would:
 *
 * 1. throughput: BENCH_EVENTS `payment.created` events wait in the outbox; one worker (then two, sharing the
 *    database; BENCH_WORKERS lists the runs, "1,2" by default) dispatches and delivers them all, signed, each worker
 *    in a process of its own. Deliveries per second from the workers' start to the last delivery received, with the
 *    CPU per delivery of the workers, PostgreSQL's backends and the receiver, and the workers' statements per
 *    delivery (round trips). BENCH_CPU_PROF=<dir> writes each worker's CPU profile there.
 * 2. latency: a status change is committed (the checkout is opened: initiated → pending) and the time until the
 *    receiver has the `payment.pending` webhook is measured, one change at a time, BENCH_SAMPLES times.
 *
 * `npm run bench:webhooks` prints the tables (BENCH_SAMPLES=0 skips the latency run); BENCH_WRITE=1 also writes docs/webhooks-benchmark.md. BENCH_CONCURRENCY
 * sets the deliveries each worker has in flight (WEBHOOK_CONCURRENCY; the worker's default otherwise).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { benchWebhookWorker, type BenchWorkerSettings } from "./benchWebhookWorker";
import { writeBenchmarkDoc } from "./benchmarkDoc";
import { processSeconds } from "./cpuAccounting";
import { countBackendCpu } from "./databaseWork";
import { performance } from "node:perf_hooks";
import { parseUnits, zeroAddress, type Address, type Hex } from "viem";
import { recordOffChainEvent } from "../indexer/src/ledger/offChainEvents";
import { newPaymentId } from "../indexer/src/payments/paymentIntent";
import { openStore, type Store } from "../indexer/src/store/database";
import { createMerchant } from "../indexer/src/store/merchantStore";
import { insertApiPayment } from "../indexer/src/store/paymentRequestStore";
import { createEndpoint } from "../indexer/src/store/webhookEndpointStore";
import { DEFAULT_CONCURRENCY } from "../indexer/src/webhooks/deliveryWorker";
import { CHAIN_ID, SETTINGS } from "../indexer/test/support/localChain";
import { freshPostgresDatabase } from "../indexer/test/support/stores";
import { runBenchmark } from "./benchmarkRun";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
/** Deliveries in flight per worker (WEBHOOK_CONCURRENCY); the worker's default when unset. */
const CONCURRENCY = process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined;
/** Issue 17: two workers sharing one database deliver at least this many a second. */
const TARGET_PER_SECOND = 5_000;
const MERCHANT: Address = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

/**
 * The receiver, as a merchant's: verifies each delivery's Standard Webhooks signature (with the endpoint's secret, told
 * once it exists) and timestamp before answering 204, a bad one 401; reports each verified delivery's arrival time (ms
 * since the epoch, sub-ms) and any it refused. Verified with Node's HMAC, as a merchant's server that cares for its CPU
 * would.
 */
const RECEIVER = `
const http = require("node:http");
const { createHmac, timingSafeEqual } = require("node:crypto");
const { performance } = require("node:perf_hooks");
const TOLERANCE_S = 5 * 60;
let key;
let pending = [];
let refused = 0;
function verified(headers, body) {
  const id = headers["webhook-id"], timestamp = headers["webhook-timestamp"], signatures = headers["webhook-signature"];
  if (!key || !id || !timestamp || !signatures) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_S) return false;
  const expected = createHmac("sha256", key).update(id + "." + timestamp + ".").update(body).digest();
  return signatures.split(" ").some((signature) => {
    const given = Buffer.from(signature.slice(3), "base64");
    return signature.startsWith("v1,") && given.length === expected.length && timingSafeEqual(given, expected);
  });
}
const server = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const at = performance.timeOrigin + performance.now();
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (!verified(request.headers, body)) {
      refused++;
      response.writeHead(401).end();
      return;
    }
    response.writeHead(204).end();
    const parsed = JSON.parse(body);
    pending.push([parsed.data.id, parsed.type, at]);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
process.on("message", ({ secret }) => (key = Buffer.from(secret.replace(/^whsec_/, ""), "base64")));
setInterval(() => {
  if (pending.length || refused) {
    process.send({ received: pending, refused });
    pending = [];
    refused = 0;
  }
}, 5);
process.on("disconnect", () => process.exit(0));
`;

interface Receiver {
  url: string;
  child: ChildProcess;
  received: Array<[string, string, number]>;
  /** Tells the receiver the endpoint's signing secret. */
  trust(secret: string): void;
  waitFor(check: () => boolean, timeoutMs?: number): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const child = spawn(process.execPath, ["-e", RECEIVER], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const received: Array<[string, string, number]> = [];
  const waiters = new Set<() => void>();
  let refused = 0;
  const port = await new Promise<number>((resolve) => {
    child.on("message", (message: { port?: number; received?: Array<[string, string, number]>; refused?: number }) => {
      if (message.port) resolve(message.port);
      refused += message.refused ?? 0;
      if (message.received) {
        received.push(...message.received);
        for (const wake of [...waiters]) wake();
      }
    });
  });
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    child,
    received,
    trust: (secret) => child.send({ secret }),
    waitFor: (check, timeoutMs = 300_000) =>
      new Promise<void>((resolve, reject) => {
        if (check()) return resolve();
        const timer = setTimeout(() => reject(new Error(`receiver: not done within ${timeoutMs} ms (${received.length} received)`)), timeoutMs);
        const wake = () => {
          // A signature the receiver cannot verify is a broken benchmark, not a slow one.
          if (refused > 0) {
            clearTimeout(timer);
            waiters.delete(wake);
            reject(new Error(`receiver: refused ${refused} deliveries whose signatures it could not verify`));
            return;
          }
          if (!check()) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
      }),
  };
}

/** The worker's settings, in the benchmark's process or a worker process's. */
const WORKER_SETTINGS: BenchWorkerSettings = { chainId: CHAIN_ID, confirmations: SETTINGS.confirmations, concurrency: CONCURRENCY };

async function createPayments(store: Store, merchantId: string, count: number): Promise<Hex[]> {
  const ids: Hex[] = [];
  for (let i = 0; i < count; i++) {
    const id = newPaymentId(MERCHANT);
    await insertApiPayment(
      store.db,
      {
        chainId: CHAIN_ID,
        id,
        merchant: MERCHANT,
        amountUsd: parseUnits("10", 18),
        expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400),
        refundTo: zeroAddress,
        acceptedTokenMask: 0b1000n,
        acceptedTokens: [zeroAddress],
        signature: `0x${"11".repeat(65)}`,
        depositAddress: MERCHANT,
      },
      {
        chainId: CHAIN_ID,
        paymentId: id,
        merchantId,
        mode: "test",
        description: `order ${i}`,
        orderId: `order-${i}`,
        metadata: {},
        options: [],
        successUrl: null,
        cancelUrl: null,
      },
      new Date(),
    );
    ids.push(id);
  }
  return ids;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
const fixed = (value: number) => value.toFixed(1);

interface ThroughputRun {
  workers: number;
  events: number;
  seconds: number;
  perSecond: number;
  /** The machine's 1-minute load average before the run. */
  load: number;
  /** CPU milliseconds per delivery: the worker processes together, PostgreSQL's backends of the database, the receiver. */
  cpuMs: { workers: number; postgres: number; receiver: number };
  /** Statements the workers sent to PostgreSQL per delivery (dispatch included). */
  roundTrips: number;
}

interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the worker's statements once it has stopped, and its CPU seconds read then. */
  report: Promise<{ statements: number; cpuSeconds: number }>;
}

/**
 * bench/webhookWorkerProcess.ts compiled to JavaScript, as npm run build compiles the programs (packages left out), once
 * per benchmark; under dist/, so that it finds node_modules as they do.
 */
let workerScript: string | undefined;
async function compiledWorkerScript(): Promise<string> {
  if (!workerScript) {
    const outfile = path.join(__dirname, "../dist/bench/webhookWorkerProcess.js");
    await build({
      entryPoints: [path.join(__dirname, "webhookWorkerProcess.ts")],
      bundle: true,
      packages: "external",
      platform: "node",
      outfile,
      logLevel: "warning",
    });
    workerScript = outfile;
  }
  return workerScript;
}

/** Starts a worker in a process of its own (bench/webhookWorkerProcess.ts) and waits until it is ready to run. */
async function startWorkerProcess(url: string, index: number): Promise<WorkerProcess> {
  const profile = process.env.BENCH_CPU_PROF
    ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, `--cpu-prof-name=worker-${index}-${Date.now()}.cpuprofile`]
    : [];
  const child = spawn(process.execPath, [...profile, await compiledWorkerScript()], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const report = new Promise<{ statements: number; cpuSeconds: number }>((resolve, reject) => {
    child.on("message", (message: { statements?: number }) => {
      if (message.statements !== undefined) resolve({ statements: message.statements, cpuSeconds: processSeconds(child.pid!) });
    });
    child.on("exit", (code) => reject(new Error(`worker process ${index} exited with ${code} before reporting`)));
  });
  report.catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    child.on("message", (message) => message === "ready" && resolve());
    child.on("exit", (code) => reject(new Error(`worker process ${index} exited with ${code} before it was ready`)));
    child.send({ url, settings: WORKER_SETTINGS });
  });
  return { child, report };
}

async function throughput(workers: number): Promise<ThroughputRun> {
  const database = await freshPostgresDatabase({ empty: true });
  const receiver = await startReceiver();
  const processes: WorkerProcess[] = [];
  let store: Store | undefined;
  try {
    store = await openStore({ url: database.url });
    const merchant = await createMerchant(store.db, { name: "Bench shop", address: MERCHANT });
    const endpoint = await createEndpoint(store.db, { merchantId: merchant.id, mode: "test", url: receiver.url, description: null, eventTypes: null });
    receiver.trust(endpoint.secret);
    await createPayments(store, merchant.id, EVENTS);
    for (let i = 0; i < workers; i++) processes.push(await startWorkerProcess(database.url, i));
    const load = loadavg()[0];
    const postgresSeconds = await countBackendCpu(database.url);
    const workerSeconds = processes.map(({ child }) => processSeconds(child.pid!));
    const receiverSeconds = processSeconds(receiver.child.pid!);
    const started = performance.now();
    for (const { child } of processes) child.send("go");
    await receiver.waitFor(() => receiver.received.length >= EVENTS);
    const seconds = (performance.now() - started) / 1000;
    const receiverUsed = processSeconds(receiver.child.pid!) - receiverSeconds;
    for (const { child } of processes) child.send("stop");
    const reports = await Promise.all(processes.map(({ report }) => report));
    // Let them exit on their own (a CPU profile is written at exit).
    await Promise.all(processes.map(({ child }) => child.exitCode === null && new Promise((resolve) => child.once("exit", resolve))));
    const postgresUsed = await postgresSeconds();
    const unique = new Set(receiver.received.map(([id]) => id)).size;
    if (unique !== EVENTS) throw new Error(`${unique} distinct payments announced, expected ${EVENTS}`);
    const perDelivery = (cpuSeconds: number) => (cpuSeconds * 1000) / EVENTS;
    return {
      workers,
      events: EVENTS,
      seconds,
      perSecond: EVENTS / seconds,
      load,
      cpuMs: {
        workers: perDelivery(reports.reduce((sum, report, i) => sum + report.cpuSeconds - workerSeconds[i], 0)),
        postgres: perDelivery(postgresUsed),
        receiver: perDelivery(receiverUsed),
      },
      roundTrips: reports.reduce((sum, report) => sum + report.statements, 0) / EVENTS,
    };
  } finally {
    for (const { child } of processes) child.kill();
    receiver.child.kill();
    await store?.close();
    await database.drop();
  }
}

async function latency(): Promise<{ samples: number; p50: number; p90: number; p99: number; max: number }> {
  const database = await freshPostgresDatabase({ empty: true });
  const receiver = await startReceiver();
  const store = await openStore({ url: database.url });
  const stop = new AbortController();
  try {
    const merchant = await createMerchant(store.db, { name: "Bench shop", address: MERCHANT });
    const endpoint = await createEndpoint(store.db, {
      merchantId: merchant.id,
      mode: "test",
      url: receiver.url,
      description: null,
      eventTypes: ["payment.pending"],
    });
    receiver.trust(endpoint.secret);
    const ids = await createPayments(store, merchant.id, SAMPLES + 20);
    const running = benchWebhookWorker(store, WORKER_SETTINGS).run(stop.signal);
    const latencies: number[] = [];
    for (const [i, id] of ids.entries()) {
      await recordOffChainEvent(store.db, CHAIN_ID, SETTINGS, id, { kind: "checkout_opened" });
      const committed = performance.timeOrigin + performance.now();
      await receiver.waitFor(() => receiver.received.some(([paymentId, type]) => paymentId === id && type === "payment.pending"), 30_000);
      const arrived = receiver.received.find(([paymentId]) => paymentId === id)![2];
      // The first 20 warm up the connection pools and the JIT.
      if (i >= 20) latencies.push(arrived - committed);
    }
    stop.abort();
    await running;
    latencies.sort((a, b) => a - b);
    return { samples: latencies.length, p50: quantile(latencies, 0.5), p90: quantile(latencies, 0.9), p99: quantile(latencies, 0.99), max: latencies.at(-1)! };
  } finally {
    stop.abort();
    receiver.child.kill();
    await store.close();
    await database.drop();
  }
}

async function main() {
  const loadBefore = loadavg()[0];
  const runs = [];
  for (const workers of (process.env.BENCH_WORKERS ?? "1,2").split(",").map(Number)) runs.push(await throughput(workers));
  const timing = SAMPLES > 0 ? await latency() : undefined;
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, PostgreSQL on 127.0.0.1;`,
    `the receiver is a separate Node process on 127.0.0.1 that verifies each signature and answers 204; each worker runs in a process of its own (bench/webhookWorkerProcess.ts), with ${CONCURRENCY ?? DEFAULT_CONCURRENCY} deliveries in flight at most. The machine's 1-minute load average was ${loadBefore.toFixed(2)} before the runs.`,
    "",
    "## Throughput: events waiting in the outbox, dispatched, signed and delivered",
    "",
    "| workers | events | seconds | deliveries/s | CPU ms per delivery: workers / PostgreSQL / receiver | statements per delivery | load before | target ≥ 5,000/s with two workers |",
    "|---:|---:|---:|---:|---|---:|---:|---|",
    ...runs.map(
      (r) =>
        `| ${r.workers} | ${r.events} | ${r.seconds.toFixed(2)} | ${Math.round(r.perSecond)} | ${r.cpuMs.workers.toFixed(3)} / ${r.cpuMs.postgres.toFixed(3)} / ${r.cpuMs.receiver.toFixed(3)} | ${r.roundTrips.toFixed(3)} | ${r.load.toFixed(2)} | ${r.workers < 2 ? "—" : r.perSecond >= TARGET_PER_SECOND ? "met" : "missed"} |`,
    ),
    "",
    "## Latency: status change committed → webhook received",
    "",
    "| samples | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | target p50 ≤ 20 |",
    "|---:|---:|---:|---:|---:|---|",
    timing
      ? `| ${timing.samples} | ${fixed(timing.p50)} | ${fixed(timing.p90)} | ${fixed(timing.p99)} | ${fixed(timing.max)} | ${timing.p50 <= 20 ? "met" : "missed"} |`
      : "| (BENCH_SAMPLES=0) | | | | | |",
  ];
  console.log(`\n${lines.join("\n")}`);
  if (process.env.BENCH_WRITE === "1") {
    const file = path.join(__dirname, "../docs/webhooks-benchmark.md");
    writeBenchmarkDoc(file, ["# Webhook benchmark", "", "Generated by `BENCH_WRITE=1 npm run bench:webhooks` (bench/webhooks.ts).", "", ...lines]);
    console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
  }
}

runBenchmark(main);
