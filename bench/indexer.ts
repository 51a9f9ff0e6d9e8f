/**
 * Indexer benchmark: puts 20,000 payment events on a local chain at each density (2,000 payments of $10, each paid in
 * ten $1 deposits: 18,000 PaymentDeposited and 2,000 PaymentCompleted; 8 payments a block for 80 events per block, 25
 * for 250), then measures
 *
 * 1. a cold backfill of each density into PGlite and into PostgreSQL (events per second, wall clock from an empty
 *    database to the head, RPC included), the rows it wrote and PostgreSQL's CPU per 1,000 events, the process's own
 *    peak resident memory, with what it asked of the provider by purpose: the headers every block
 *    is read with (hash links to the checkpoint, blooms: the ancestor and bloom checks), the receipts a doubtful
 *    bloom costs, the escrow's record read before each settlement;
 * 2. a catch-up over blocks that hold no escrow log (BSC's usual case): blocks per second, headers being its cost;
 * 3. live latency: from the moment the block giving a payment its 12th confirmation is mined to the moment the
 *    indexer has committed `paid`, with new heads announced over WebSocket (eth_subscribe) and with polling.
 *
 * Every correctness guarantee of the indexer stays on in every run: it is the production Indexer with its
 * production settings (hash-linked blocks, bloom checks, one transaction per batch, the escrow's record read before
 * paid or expired), and each backfill must end with every payment paid.
 *
 * `npm run bench:indexer` prints the tables; BENCH_WRITE=1 also writes them to docs/indexer-benchmark.md (keeping
 * its hand-written part, from "## Notes" on). Shorter runs: BENCH_PAYMENTS (per density), BENCH_DENSITIES ("80,250"),
 * BENCH_STORES ("pglite,postgres"), BENCH_EMPTY_BLOCKS and BENCH_SAMPLES (0 leaves that part out).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { createPublicClient, getAddress, parseUnits, webSocket, zeroAddress, type Hex } from "viem";
import { watchBlockNumber } from "viem/actions";
import { IntentSigner } from "../indexer/src/api/intentSigner";
import { acceptedTokenMask, newPaymentId, paymentIntentDigest, type PaymentIntent } from "../indexer/src/payments/paymentIntent";
import { depositAddress } from "../indexer/src/chain/depositAddress";
import { registerPayment } from "../indexer/src/ledger/offChainEvents";
import type { Indexer } from "../indexer/src/indexing/indexer";
import { openStore, type Store } from "../indexer/src/store/database";
import { CHAIN_ID, INTENT_SIGNER_KEY, SETTINGS, localIndexer, mine, startLocalChain, type LocalChain } from "../indexer/test/support/localChain";
import { freshPostgresDatabase } from "../indexer/test/support/stores";
import { fixed as decimals, markdownTable } from "./markdownTable";
import { accountedProviders, type RpcAccount } from "./rpcAccounting";
import { countBackendCpu, rowsWritten, rowsWrittenAfterClose, totalRows, type RowsWritten } from "./databaseWork";
import { watchPeakMemory, type PeakMemory } from "./peakMemory";

const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? 2_000);
const DEPOSITS_PER_PAYMENT = 10;
/** Events per block: the escrow's logs of one BenchPayer transaction (ten per payment), one transaction a block. */
const DENSITIES = (process.env.BENCH_DENSITIES ?? "80,250").split(",").map(Number);
const STORES = (process.env.BENCH_STORES ?? "pglite,postgres").split(",") as Array<"pglite" | "postgres">;
const LATENCY_SAMPLES = Number(process.env.BENCH_SAMPLES ?? 60);
const EMPTY_BLOCKS = Number(process.env.BENCH_EMPTY_BLOCKS ?? 2_000);
/** The machine's load when the run began: other work on the machine moves every figure. */
const LOAD_BEFORE = loadavg();

interface Signed {
  intent: PaymentIntent;
  signature: Hex;
}

async function signedIntents(chain: LocalChain, count: number, usd: string): Promise<Signed[]> {
  const signer = new IntentSigner(INTENT_SIGNER_KEY, { chainId: CHAIN_ID, escrow: chain.record.escrow });
  const merchant = chain.record.demoMerchant!.merchant;
  const now = BigInt((await hre.ethers.provider.getBlock("latest"))!.timestamp);
  const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain.record.escrow);
  // Paid in USDT only, as payAll pays them.
  const acceptedTokens = acceptedTokenMask([Number((await escrow.tokenConfigOf(chain.record.tokens.USDT.address)).index)]);
  const result: Signed[] = [];
  for (let i = 0; i < count; i++) {
    const intent: PaymentIntent = {
      paymentId: newPaymentId(merchant),
      merchant,
      amountUsd: parseUnits(usd, 18),
      expiry: now + 86_400n,
      refundTo: zeroAddress,
      acceptedTokens,
    };
    result.push({ intent, signature: signer.sign(intent).signature });
  }
  return result;
}

async function registerAll(store: Store, chain: LocalChain, payments: readonly Signed[]) {
  for (const { intent, signature } of payments) {
    const digest = paymentIntentDigest({ chainId: CHAIN_ID, escrow: chain.record.escrow, intent });
    await registerPayment(store.db, SETTINGS, {
      chainId: CHAIN_ID,
      id: intent.paymentId,
      merchant: intent.merchant,
      amountUsd: intent.amountUsd,
      expiry: intent.expiry,
      refundTo: intent.refundTo,
      acceptedTokenMask: intent.acceptedTokens,
      acceptedTokens: [getAddress(chain.record.tokens.USDT.address)],
      signature,
      depositAddress: depositAddress({ escrow: chain.record.escrow, forwarderImplementation: chain.record.depositForwarder, digest }),
    });
  }
}

/** Deploys BenchPayer, funds it and pays every payment in ten deposits of 1 USDT, `perTx` payments per transaction. */
async function payAll(chain: LocalChain, payments: readonly Signed[], perTx: number) {
  const usdt = await hre.ethers.getContractAt("TestToken", chain.record.tokens.USDT.address);
  const payer = await (await hre.ethers.getContractFactory("BenchPayer")).deploy();
  await usdt.mint(await payer.getAddress(), parseUnits(String(payments.length * DEPOSITS_PER_PAYMENT), 18));
  await payer.approve(chain.record.escrow, chain.record.tokens.USDT.address);
  for (let i = 0; i < payments.length; i += perTx) {
    const chunk = payments.slice(i, i + perTx);
    await (
      await payer.payMany(
        chain.record.escrow,
        chunk.map((p) => p.intent),
        chunk.map((p) => p.signature),
        chain.record.tokens.USDT.address,
        parseUnits("1", 18),
        DEPOSITS_PER_PAYMENT,
        { gasLimit: 29_000_000 },
      )
    ).wait();
  }
}

async function withStore<T>(kind: "pglite" | "postgres", use: (store: Store) => Promise<T>): Promise<T> {
  if (kind === "pglite") {
    const dir = mkdtempSync(path.join(tmpdir(), "open-pay-bench-"));
    const store = await openStore({ dataDir: dir });
    try {
      return await use(store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const database = await freshPostgresDatabase();
  const store = await openStore({ url: database.url });
  try {
    return await use(store);
  } finally {
    await store.close();
    await database.drop();
  }
}

interface BackfillFigures {
  store: string;
  /** Events per block. */
  density: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  commitSeconds: number;
  batches: number;
  /** Rows the backfill inserted, updated and deleted, by table (registration's excluded). */
  rows: RowsWritten;
  /** CPU seconds of the PostgreSQL backends serving the run (PostgreSQL only: PGlite runs inside the process). */
  postgresCpuSeconds?: number;
  memory: PeakMemory;
  rpc: RpcAccount[];
  /** The catch-up over empty blocks that followed (PostgreSQL only). */
  empty?: { blocks: number; seconds: number; rpc: RpcAccount[] };
}

/** Opens a new database of `kind`; with `dataDir` a PGlite one in that folder, else a fresh PostgreSQL one at `url`. */
const openBenchStore = (kind: "pglite" | "postgres", place: string) => openStore(kind === "pglite" ? { dataDir: place } : { url: place });

const countPaid = async (store: Store) =>
  Number(
    (
      await store.db
        .selectFrom("payments")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("status", "=", "paid")
        .executeTakeFirstOrThrow()
    ).n,
  );

/**
 * Rows written so far: PGlite's one session flushes its statistics when asked; PostgreSQL's sessions flush theirs as
 * they end, so its store is closed first (and `reopen` gives a new one).
 */
async function rowsSoFar(kind: "pglite" | "postgres", store: Store, place: string): Promise<RowsWritten> {
  if (kind === "pglite") return rowsWritten(store.db, { flushOwn: true });
  await store.close();
  return rowsWrittenAfterClose(place);
}

const minus = (after: RowsWritten, before: RowsWritten): RowsWritten =>
  new Map([...after].map(([table, n]) => [table, n - (before.get(table) ?? 0)] as [string, number]).filter(([, n]) => n > 0));

async function backfill(
  chain: LocalChain,
  kind: "pglite" | "postgres",
  { payments, density, startBlock }: { payments: readonly Signed[]; density: number; startBlock: number },
  emptyBlocks = 0,
): Promise<BackfillFigures> {
  const dir = kind === "pglite" ? mkdtempSync(path.join(tmpdir(), "open-pay-bench-")) : undefined;
  const database = kind === "postgres" ? await freshPostgresDatabase() : undefined;
  const place = dir ?? database!.url;
  let store = await openBenchStore(kind, place);
  try {
    const providers = accountedProviders(chain.url);
    const registering = performance.now();
    await registerAll(store, chain, payments);
    console.log(`  ${kind}, ${density} events/block: registered ${payments.length} payments in ${((performance.now() - registering) / 1000).toFixed(1)} s`);
    const registered = await rowsSoFar(kind, store, place);
    if (kind === "postgres") store = await openBenchStore(kind, place);
    let events = 0;
    let commitMs = 0;
    let batches = 0;
    const options = {
      rpc: providers.pool,
      startBlock,
      // The benchmark's chain packs up to 250 events into each block: start at 20 blocks (~5,000 logs) so that
      // batches keep the size the adaptive range aims for and the next range is fetched while one commits.
      range: { initial: 20, max: 5_000, fastMs: 1_000 },
      observer: {
        committed: ({ logs, ms }: { logs: number; ms: number }) => {
          events += logs;
          commitMs += ms;
          batches += 1;
        },
      },
    };
    const indexer = localIndexer(chain, store.db, options);
    const postgresCpu = kind === "postgres" ? await countBackendCpu(place) : undefined;
    const memory = watchPeakMemory();
    const started = performance.now();
    while ((await indexer.step()) !== "idle");
    const seconds = (performance.now() - started) / 1000;
    const peak = memory();
    const postgresCpuSeconds = await postgresCpu?.();
    const paid = await countPaid(store);
    if (paid !== payments.length) throw new Error(`${kind}: ${paid} of ${payments.length} payments paid after the backfill`);
    const rows = minus(await rowsSoFar(kind, store, place), registered);
    const figures: BackfillFigures = {
      store: kind,
      density,
      events,
      seconds,
      eventsPerSecond: events / seconds,
      commitSeconds: commitMs / 1000,
      batches,
      rows,
      postgresCpuSeconds,
      memory: peak,
      rpc: providers.accounts(),
    };
    if (kind === "postgres") store = await openBenchStore(kind, place);
    if (emptyBlocks > 0) {
      // Blocks without a log of the escrow, as most of BSC's are: what catching up over them costs.
      const catchingUp = localIndexer(chain, store.db, { ...options, observer: undefined });
      await mine(emptyBlocks + SETTINGS.confirmations.depth);
      providers.reset();
      const from = Number((await store.db.selectFrom("checkpoints").select("block_number").executeTakeFirstOrThrow()).block_number);
      const emptyStarted = performance.now();
      while ((await catchingUp.step()) !== "idle");
      const to = Number((await store.db.selectFrom("checkpoints").select("block_number").executeTakeFirstOrThrow()).block_number);
      figures.empty = { blocks: to - from, seconds: (performance.now() - emptyStarted) / 1000, rpc: providers.accounts() };
    }
    return figures;
  } finally {
    await store.close().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    await database?.drop();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface LatencyFigures {
  store: string;
  heads: string;
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

/** Measures live latency with the indexer running: new heads by WebSocket subscription, or by polling. */
async function liveLatency(chain: LocalChain, kind: "pglite" | "postgres", heads: "websocket" | "polling 250 ms"): Promise<LatencyFigures> {
  return withStore(kind, async (store) => {
    const waiting = new Map<string, (at: number) => void>();
    let indexed = 0;
    const indexer: Indexer = localIndexer(chain, store.db, {
      pollIntervalMs: heads === "websocket" ? 1_000 : 250,
      observer: {
        committed: ({ to, result }) => {
          const at = performance.now();
          indexed = to;
          for (const change of result.changes) if (change.to === "paid") waiting.get(change.paymentId)?.(at);
        },
      },
    });
    const stop = new AbortController();
    let unwatch: (() => Promise<void>) | undefined;
    if (heads === "websocket") {
      const client = createPublicClient({ transport: webSocket(chain.url.replace("http", "ws"), { reconnect: false }) });
      const stopWatching = watchBlockNumber(client, { poll: false, onBlockNumber: () => indexer.notifyHead() });
      unwatch = async () => {
        stopWatching();
        (await client.transport.getRpcClient()).close();
      };
    }
    const running = indexer.run(stop.signal);
    const caughtUp = async () => {
      const head = await hre.ethers.provider.getBlockNumber();
      while (indexed < head) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const samples: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const [payment] = await signedIntents(chain, 1, "10");
      await registerAll(store, chain, [payment]);
      const usdt = await hre.ethers.getContractAt("TestToken", chain.record.tokens.USDT.address);
      const [customer] = await hre.ethers.getSigners();
      await usdt.mint(customer.address, parseUnits("10", 18));
      await usdt.approve(chain.record.escrow, parseUnits("10", 18));
      const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain.record.escrow);
      await (await escrow.pay(payment.intent, payment.signature, chain.record.tokens.USDT.address, parseUnits("10", 18), zeroAddress)).wait();
      await mine(SETTINGS.confirmations.depth - 2);
      await caughtUp();
      const paid = new Promise<number>((resolve) => waiting.set(payment.intent.paymentId, resolve));
      const minedAt = performance.now();
      await mine(1);
      samples.push((await paid) - minedAt);
    }
    await unwatch?.();
    stop.abort();
    await running;
    samples.sort((a, b) => a - b);
    return { store: kind, heads, samples: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples.at(-1)! };
  });
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);

/** Columns of an RPC account table; with `events`, calls per thousand events too. */
function rpcColumns(events?: number) {
  return [
    { header: "calls for", cell: (row: RpcAccount) => row.purpose },
    { header: "calls", align: "right" as const, cell: (row: RpcAccount) => String(row.calls) },
    ...(events ? [{ header: "per 1,000 events", align: "right" as const, cell: (row: RpcAccount) => decimals((row.calls * 1000) / events) }] : []),
    { header: "summed wait (s)", align: "right" as const, cell: (row: RpcAccount) => decimals(row.ms / 1000, 2) },
  ];
}

/** The target a backfill is held to (issue 17): events/s by store, and peak memory on PGlite. */
function backfillTarget(b: BackfillFigures): string {
  const floor = b.store === "postgres" ? 10_000 : 5_000;
  return `≥ ${floor.toLocaleString("en")} events/s — ${b.eventsPerSecond >= floor ? "met" : "missed"}`;
}

/** Keeps the hand-written part of the benchmark's doc (from "## Notes" on) when the tables are written again. */
function notesOf(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8");
  const at = text.indexOf("\n## Notes");
  return at < 0 ? [] : ["", text.slice(at + 1).trimEnd()];
}

async function main() {
  const chain = await startLocalChain();
  try {
    let started = performance.now();
    const lap = (what: string) => {
      console.log(`  ${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      started = performance.now();
    };
    const backfills: BackfillFigures[] = [];
    for (const [d, density] of DENSITIES.entries()) {
      const perTx = Math.max(1, Math.round(density / DEPOSITS_PER_PAYMENT));
      console.log(
        `creating ${PAYMENTS * DEPOSITS_PER_PAYMENT} payment events (${PAYMENTS} payments × ${DEPOSITS_PER_PAYMENT} deposits, ${perTx} payments a block)...`,
      );
      const payments = await signedIntents(chain, PAYMENTS, "10");
      lap(`signed ${PAYMENTS} intents`);
      // The backfill starts here: the blocks of another density before it are not this run's.
      const startBlock = (await hre.ethers.provider.getBlockNumber()) + 1;
      await payAll(chain, payments, perTx);
      await mine(SETTINGS.confirmations.depth);
      lap(`paid them in ${Math.ceil(PAYMENTS / perTx)} transactions`);
      for (const kind of STORES) {
        const last = d === DENSITIES.length - 1 && kind === "postgres";
        backfills.push(await backfill(chain, kind, { payments, density: perTx * DEPOSITS_PER_PAYMENT, startBlock }, last ? EMPTY_BLOCKS : 0));
        console.log(`  ${kind}, ${density} events/block: ${Math.round(backfills.at(-1)!.eventsPerSecond)} events/s`);
      }
    }
    const lastPostgres = backfills.filter((b) => b.store === "postgres").at(-1);
    const empty = lastPostgres?.empty;
    const latencies = [];
    if (LATENCY_SAMPLES > 0) {
      for (const kind of STORES) {
        for (const heads of ["websocket", "polling 250 ms"] as const) latencies.push(await liveLatency(chain, kind, heads));
      }
    }
    const perThousand = (value: number, events: number) => (value * 1000) / events;

    const lines = [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, Node ${process.version}, ` +
        "Hardhat's in-process chain over JSON-RPC on 127.0.0.1, PostgreSQL 15 on 127.0.0.1, PGlite in a data folder. " +
        `Load average before the run: ${LOAD_BEFORE.map((n) => n.toFixed(2)).join(", ")}; after: ${loadavg()
          .map((n) => n.toFixed(2))
          .join(", ")}.`,
      "",
      "Every correctness guarantee of the indexer stayed on in every run: the production Indexer and settings (each block's hash linked to the " +
        "checkpoint, bloom checks with receipts on doubt, one transaction per batch, the escrow's record read before `paid`), and each backfill " +
        "ended with every payment paid.",
      "",
      "### Cold backfill (empty database → head, RPC included)",
      "",
      "Rows written: inserted, updated and deleted, all tables (PostgreSQL's statistics), the payments' registration excluded. " +
        "PostgreSQL CPU: the backends serving the run (/proc), not the server's shared WAL writer and checkpointer; PGlite runs inside the process. " +
        "Peak RSS: the benchmark process's own (VmHWM) during the backfill; the Hardhat chain lives in the same process, its share in the RSS at the start.",
      "",
      "| events/block | store | events | seconds | events/s | of which commits (s) | batches | rows written | rows / 1,000 events | PostgreSQL CPU s / 1,000 events | peak RSS MiB (at start) | target |",
      "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
      ...backfills.map(
        (b) =>
          `| ${b.density} | ${b.store} | ${b.events} | ${fixed(b.seconds, 2)} | ${Math.round(b.eventsPerSecond)} | ${fixed(b.commitSeconds, 2)} | ${b.batches} | ` +
          `${totalRows(b.rows)} | ${Math.round(perThousand(totalRows(b.rows), b.events))} | ` +
          `${b.postgresCpuSeconds === undefined ? "in process" : fixed(perThousand(b.postgresCpuSeconds, b.events), 3)} | ` +
          `${Math.round(b.memory.peakMiB)} (${Math.round(b.memory.startMiB)}) | ${backfillTarget(b)} |`,
      ),
      "",
      "Rows written per 1,000 events, by table:",
      "",
      ...markdownTable(
        [
          { header: "events/block", align: "right" as const, cell: (b: BackfillFigures) => String(b.density) },
          { header: "store", cell: (b: BackfillFigures) => b.store },
          ...[...new Set(backfills.flatMap((b) => [...b.rows.keys()]))].sort().map((table) => ({
            header: table,
            align: "right" as const,
            cell: (b: BackfillFigures) => fixed(perThousand(b.rows.get(table) ?? 0, b.events), 0),
          })),
        ],
        backfills,
      ),
      ...(lastPostgres
        ? [
            "",
            `### What the backfill asked of the provider (PostgreSQL run, ${lastPostgres.density} events/block)`,
            "",
            "Every block's header is read (in JSON-RPC batches of 100): the hash links to the checkpoint are the ancestor check, and the blooms the bloom check. " +
              "Receipts are read only for a block whose bloom allows an escrow log the answer lacks. Summed waits overlap (calls run concurrently).",
            "",
            ...markdownTable(rpcColumns(lastPostgres.events), lastPostgres.rpc),
          ]
        : []),
      ...(empty
        ? [
            "",
            `### Catch-up over ${empty.blocks} blocks without escrow logs (PostgreSQL)`,
            "",
            `${empty.blocks} blocks in ${fixed(empty.seconds, 2)} s: ${Math.round(empty.blocks / empty.seconds)} blocks/s, the headers being most of it.`,
            "",
            ...markdownTable(rpcColumns(), empty.rpc),
          ]
        : []),
      ...(latencies.length > 0
        ? [
            "",
            "### Live latency (12th confirmation mined → `paid` committed)",
            "",
            "| store | new heads by | samples | p50 (ms) | p99 (ms) | max (ms) | target p50 ≤ 50, p99 ≤ 250 |",
            "|---|---|---:|---:|---:|---:|---|",
            ...latencies.map(
              (l) =>
                `| ${l.store} | ${l.heads} | ${l.samples} | ${fixed(l.p50)} | ${fixed(l.p99)} | ${fixed(l.max)} | ${l.p50 <= 50 && l.p99 <= 250 ? "met" : "missed"} |`,
            ),
          ]
        : []),
    ];
    console.log(`\n${lines.join("\n")}`);
    if (process.env.BENCH_WRITE === "1") {
      const file = path.join(__dirname, "../docs/indexer-benchmark.md");
      writeFileSync(
        file,
        ["# Indexer benchmark", "", "Generated by `BENCH_WRITE=1 npm run bench:indexer` (bench/indexer.ts).", "", ...lines, ...notesOf(file), ""].join("\n"),
      );
      console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
    }
  } finally {
    await chain.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
