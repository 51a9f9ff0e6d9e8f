import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import pg from "pg";
import { expire } from "../../scripts/operator/expire";
import { simulate } from "../../scripts/operator/simulate";
import { openPayEscrowAbi } from "../src/chain/escrowAbi";
import { createRpcClient } from "../src/chain/rpcClient";
import { createProviderPool } from "../src/chain/providerPool";
import type { Indexer } from "../src/indexing/indexer";
import type { MachineSettings } from "../src/payments/statusMachine";
import { openStore, type Store } from "../src/store/database";
import type { Db } from "../src/store/paymentStore";
import {
  killIndexerProcesses,
  logRangeLimit,
  startIndexerProcess,
  startRpcLink,
  type IndexerProcess,
  type RpcCall,
  type RpcLink,
} from "./support/indexerProcess";
import {
  catchUp,
  CHAIN_ID,
  latestTimestamp,
  localIndexer,
  mine,
  mineAt,
  register,
  revertTo,
  signedPayment,
  snapshot,
  startLocalChain,
  type LocalChain,
  type SignedPayment,
} from "./support/localChain";
import { freshPostgresDatabase, TEST_POSTGRES_URL } from "./support/stores";
import { waitingAnnouncements } from "./support/paymentRecords";

/**
 * Killing the indexer process at any moment (SIGKILL) and restarting it gives exactly the statuses, history, outbox,
 * events and checkpoint of an uninterrupted run: every batch commits with its checkpoint, so a batch is either all
 * there or redone, and nothing is applied twice.
 *
 * The indexer processes reach the chain through an RPC link that refuses eth_getLogs over more than 10 blocks (as
 * public BSC endpoints refuse large ranges), so a backfill takes many small batches; CONFIRMATIONS is 32, so the
 * last 32 blocks are followed one by one. The uninterrupted reference is an in-process Indexer (on a PostgreSQL
 * database of its own) behind a link with the same limit. A restarted process adapts its range afresh, so its
 * backfill batches may end elsewhere than the reference's: what is stored must not depend on that. During live
 * following every store stays within 16 blocks of the head, so there every block is one batch for all of them.
 */

const CONFIRMATIONS = 32;
const LOG_RANGE_LIMIT = 10;
const SHORT_TTL = 900n;
/** OpenPayEscrow.LATE_COLLECT_WINDOW: a payment with nothing received expires by time only once it has passed too. */
const LATE_COLLECT_WINDOW = 3600n;
const LONG_TTL = 6n * 3600n;

const SEED = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) : Math.floor(Math.random() * 2 ** 31);

/** mulberry32: a small seeded generator, so that a failing plan of payments and kills can be run again. */
function seeded(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    shuffle: <T>(items: T[]): T[] => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j], items[i]];
      }
      return items;
    },
  };
}
const random = seeded(SEED);

const quiet = () => undefined;
/** When the suite began (its before hook), for the times in the kill reports. */
let started = Date.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// The payments: what each one goes through, in the chain's history before the indexers start or while they follow.

type Kind = "full" | "over" | "partial" | "topUp" | "viaDepositAddress" | "expiredWithRefund" | "expiredByTime" | "untouched";
type Phase = "history" | "live";

interface Planned {
  kind: Kind;
  phase: Phase;
  token: "USDT" | "USDC" | "BNB";
  usd: string;
  ttl: bigint;
  payment: SignedPayment;
}

const HISTORY: Partial<Record<Kind, number>> = {
  full: 6,
  over: 3,
  partial: 3,
  topUp: 3,
  viaDepositAddress: 2,
  expiredWithRefund: 3,
  expiredByTime: 3,
  untouched: 2,
};
const LIVE: Partial<Record<Kind, number>> = { full: 3, over: 1, partial: 2, topUp: 2, viaDepositAddress: 1, expiredWithRefund: 1 };
/** Expires after the history's jump in time, before the live phase needs it to. */
const LIVE_EXPIRY_TTL = SHORT_TTL + LATE_COLLECT_WINDOW + 60n + 1800n;

function plannedKinds(counts: Partial<Record<Kind, number>>, phase: Phase) {
  const list: Array<Omit<Planned, "payment">> = [];
  for (const [kind, count] of Object.entries(counts) as Array<[Kind, number]>) {
    for (let i = 0; i < count; i++) {
      const token = kind === "viaDepositAddress" ? random.pick(["USDT", "USDC"] as const) : random.pick(["USDT", "USDC", "BNB"] as const);
      const ttl =
        kind === "expiredByTime" || (kind === "expiredWithRefund" && phase === "history")
          ? SHORT_TTL
          : kind === "expiredWithRefund"
            ? LIVE_EXPIRY_TTL
            : LONG_TTL;
      list.push({ kind, phase, token, usd: random.pick(["10", "25", "40", "120", "300"]), ttl });
    }
  }
  return list;
}

async function pay(planned: Planned, scenario: "full" | "partial" | "over") {
  const result = await simulate(
    hre,
    {
      intent: planned.payment.file,
      scenario,
      token: planned.token,
      ...(planned.kind === "viaDepositAddress" && { via: "deposit-address", collect: true }),
    },
    quiet,
  );
  if (result.refused) throw new Error(`${planned.kind} payment ${planned.payment.intent.paymentId}: ${scenario} refused: ${result.refused}`);
}

/** The chain steps of a phase, in a random order; a payment's second step always after its first. */
function chainSteps(plan: Planned[], phase: Phase): Array<{ what: string; run: () => Promise<void> }> {
  const own = plan.filter((p) => p.phase === phase);
  const first: Array<{ what: string; run: () => Promise<void> }> = [];
  const later: Array<{ what: string; run: () => Promise<void> }> = [];
  for (const p of own) {
    const id = `…${p.payment.intent.paymentId.slice(-8)}`;
    switch (p.kind) {
      case "full":
      case "viaDepositAddress":
        first.push({ what: `${p.kind} ${id}`, run: () => pay(p, "full") });
        break;
      case "over":
        first.push({ what: `over ${id}`, run: () => pay(p, "over") });
        break;
      case "partial":
        first.push({ what: `partial ${id}`, run: () => pay(p, "partial") });
        break;
      case "topUp":
        first.push({ what: `partial ${id}`, run: () => pay(p, "partial") });
        later.push({ what: `top-up ${id}`, run: () => pay(p, "full") });
        break;
      case "expiredWithRefund":
        first.push({ what: `partial ${id}`, run: () => pay(p, "partial") });
        break;
      default:
        break;
    }
  }
  random.shuffle(first);
  // A top-up goes anywhere after its payment's first step; expiries come after the jump in time.
  const steps = [...first];
  for (const step of later) {
    const after = steps.findIndex((other) => other.what === step.what.replace("top-up", "partial"));
    steps.splice(random.int(after + 1, steps.length), 0, step);
  }
  const refunds = own.filter((p) => p.kind === "expiredWithRefund");
  if (refunds.length > 0) {
    const deadline = refunds.reduce((max, p) => (p.payment.intent.expiry > max ? p.payment.intent.expiry : max), 0n);
    const expiring = plan.filter((p) => p.kind === "expiredByTime" && p.phase === phase);
    const until =
      expiring.length > 0
        ? expiring.reduce((max, p) => (p.payment.intent.expiry > max ? p.payment.intent.expiry : max), 0n) + LATE_COLLECT_WINDOW + 60n
        : deadline + 1n;
    steps.push({
      what: `clock to ${until}`,
      run: async () => {
        const now = await latestTimestamp();
        await mineAt(until > now ? until : now + 1n);
      },
    });
    // Payments with nothing received expire once a block after their expiry is confirmed (the history's are).
    if (phase === "history") steps.push({ what: "confirm the expiries", run: () => mine(CONFIRMATIONS) });
    for (const p of random.shuffle([...refunds])) {
      steps.push({ what: `expire …${p.payment.intent.paymentId.slice(-8)}`, run: async () => void (await expire(hre, { intent: p.payment.file }, quiet)) });
    }
  }
  return steps;
}

async function runStep(step: { what: string; run: () => Promise<void> }) {
  try {
    await step.run();
  } catch (error) {
    throw new Error(`chain step "${step.what}" failed (seed ${SEED}): ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// What a store holds, without ids and timestamps.

type Row = Record<string, unknown>;

const normalise = (row: Row, drop: readonly string[] = []): Row => {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) {
    if (drop.includes(key)) continue;
    out[key] = typeof value === "number" || typeof value === "bigint" ? String(value) : value;
  }
  return out;
};

interface StoreState {
  payments: Row[];
  statusChanges: Row[];
  outbox: Row[];
  events: Row[];
  blocks: Row[];
  checkpoint: Row | undefined;
}

async function readState(db: Db): Promise<StoreState> {
  const payments = await db.selectFrom("payments").selectAll().where("chain_id", "=", CHAIN_ID).orderBy("id").execute();
  const statusChanges = await db
    .selectFrom("status_changes")
    .select(["payment_id", "sequence", "from_status", "to_status", "reason", "transaction_hash", "block_number"])
    .where("chain_id", "=", CHAIN_ID)
    .orderBy("payment_id")
    .orderBy("sequence")
    .execute();
  // What the webhook dispatcher will announce (outbox rows and status changes not announced yet), a payment's in order.
  const outbox = (await waitingAnnouncements(db, CHAIN_ID))
    .map(({ payment_id, type, data }) => ({ payment_id, type, data }))
    .sort((a, b) => (a.payment_id < b.payment_id ? -1 : a.payment_id > b.payment_id ? 1 : 0));
  const events = await db
    .selectFrom("payment_events")
    .select(["payment_id", "kind", "block_number", "log_index", "block_hash", "transaction_hash", "data"])
    .where("chain_id", "=", CHAIN_ID)
    .orderBy("block_number")
    .orderBy("log_index")
    .orderBy("payment_id")
    .execute();
  const blocks = await db.selectFrom("blocks").selectAll().where("chain_id", "=", CHAIN_ID).orderBy("number").execute();
  const checkpoint = await db
    .selectFrom("checkpoints")
    .select(["block_number", "block_hash", "block_timestamp"])
    .where("chain_id", "=", CHAIN_ID)
    .executeTakeFirst();
  return {
    payments: payments.map((row) => normalise(row, ["created_at", "updated_at"])),
    statusChanges: statusChanges.map((row) => normalise(row)),
    outbox: outbox.map((row) => normalise(row)),
    events: events.map((row) => normalise(row)),
    blocks: blocks.map((row) => normalise(row)),
    checkpoint: checkpoint && normalise(checkpoint),
  };
}

/** Nothing applied twice: one event per log and payment, consecutive sequences, one announcement per change. */
function expectNoDuplicates(label: string, state: StoreState) {
  const logs = state.events.map((e) => `${e.block_number}/${e.log_index}/${e.payment_id}`);
  expect(new Set(logs).size, `${label}: payment events recorded twice`).to.equal(logs.length);
  const perPayment = new Map<string, number[]>();
  for (const change of state.statusChanges)
    perPayment.set(String(change.payment_id), [...(perPayment.get(String(change.payment_id)) ?? []), Number(change.sequence)]);
  for (const [id, sequences] of perPayment) {
    expect(sequences, `${label}: sequences of ${id}`).to.deep.equal(sequences.map((_, i) => i + 1));
  }
  expect(state.outbox.length, `${label}: announcements per status change`).to.equal(state.statusChanges.length);
}

/** Rows equal one by one: a difference names the table, how many rows differ, and shows the first of them. */
function expectSameRows(label: string, actual: Row[], expected: Row[]) {
  const differing: number[] = [];
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    if (JSON.stringify(actual[i]) !== JSON.stringify(expected[i])) differing.push(i);
  }
  if (differing.length === 0) return;
  const first = differing[0];
  expect(actual[first], `${label}: ${differing.length} of ${expected.length} rows differ (${actual.length} there), the first is row ${first}`).to.deep.equal(
    expected[first],
  );
  expect(actual, label).to.deep.equal(expected);
}

function expectSameState(label: string, actual: StoreState, reference: StoreState) {
  expectNoDuplicates(label, actual);
  expect(actual.checkpoint, `${label}: checkpoint`).to.deep.equal(reference.checkpoint);
  expectSameRows(`${label}: payments`, actual.payments, reference.payments);
  expectSameRows(`${label}: status_changes`, actual.statusChanges, reference.statusChanges);
  expectSameRows(`${label}: outbox`, actual.outbox, reference.outbox);
  expectSameRows(`${label}: payment_events`, actual.events, reference.events);
  expectSameRows(`${label}: kept blocks`, actual.blocks, reference.blocks);
}

/** Waits for every promise; then throws the first failure, so that none runs on unobserved. */
async function settled(promises: Array<Promise<unknown>>): Promise<void> {
  const outcomes = await Promise.allSettled(promises);
  for (const outcome of outcomes) if (outcome.status === "rejected") throw outcome.reason;
}

/** The timestamp of the newest block confirmed at `head`. */
async function confirmedTimestamp(head: number): Promise<bigint> {
  return BigInt((await hre.ethers.provider.getBlock(head - CONFIRMATIONS + 1))!.timestamp);
}

/** The reference itself says what the plan implies, so that a comparison of two wrong runs cannot pass. */
function expectPlannedStatuses(state: StoreState, plan: Planned[], phases: Phase[], head: number, confirmedTimestamp: bigint) {
  // Nothing received, nothing at the deposit address: expired once a block after the expiry is confirmed.
  const byTime = (p: Planned) => (p.payment.intent.expiry < confirmedTimestamp ? "expired" : "initiated");
  const byId = new Map(state.payments.map((row) => [String(row.id), row]));
  const seen = new Set<string>();
  for (const p of plan) {
    const row = byId.get(p.payment.intent.paymentId)!;
    const what = `${p.phase} ${p.kind} payment ${p.payment.intent.paymentId}`;
    if (!phases.includes(p.phase)) {
      expect(row.status, what).to.equal(p.kind === "expiredByTime" ? byTime(p) : "initiated");
      continue;
    }
    seen.add(String(row.status));
    switch (p.kind) {
      case "full":
      case "over":
      case "topUp":
      case "viaDepositAddress": {
        const confirmations = head - Number(row.completed_block) + 1;
        expect(row.status, what).to.equal(confirmations >= CONFIRMATIONS ? "paid" : "confirming");
        expect(row.remaining_usd, what).to.equal("0");
        if (p.kind === "over") expect(BigInt(String(row.excess_usd)) > 0n, what).to.equal(true);
        break;
      }
      case "partial":
        expect(row.status, what).to.equal("pending");
        expect(BigInt(String(row.remaining_usd)) > 0n, what).to.equal(true);
        break;
      case "expiredWithRefund": {
        // Expired on chain: the merchant hears of it once the expire block is confirmed.
        const confirmations = head - Number(row.expired_block) + 1;
        expect(row.status, what).to.equal(confirmations >= CONFIRMATIONS ? "expired" : "pending");
        expect(row.deposits_returned, what).to.equal(row.paid_amount);
        expect(BigInt(String(row.paid_amount)) > 0n, what).to.equal(true);
        break;
      }
      case "expiredByTime":
        expect(row.status, what).to.equal(byTime(p));
        expect(row.received_usd, what).to.equal("0");
        break;
      case "untouched":
        expect(row.status, what).to.equal("initiated");
        break;
    }
  }
  return seen;
}

// ---------------------------------------------------------------------------------------------------------------
// Running and killing an indexer process on one store.

/**
 * A block to kill at: the next one the process asks for, or one ahead of where it got to, a `fraction` of the way
 * to `upTo` (the end of the backfill, or the head).
 */
type Moment = "next" | { fraction: number; upTo: number };

type KillSpec =
  | { afterMs: number }
  | { at: Moment; delayMs: number }
  /** PostgreSQL: at the block, then as soon as one of its sessions is inside a transaction. */
  | { at: Moment; inTransaction: true };

interface KillRecord {
  spec: string;
  landed: string;
  resumedAfter?: number;
}

/** The block a call is about, if it names one by number (eth_getBlockByNumber, or eth_getLogs over a range). */
function blockOf(call: RpcCall): number | undefined {
  if (call.method === "eth_getBlockByNumber" && typeof call.params[0] === "string" && call.params[0].startsWith("0x")) return Number(call.params[0]);
  if (call.method === "eth_getLogs") {
    const filter = call.params[0] as { toBlock?: string };
    if (filter?.toBlock?.startsWith("0x")) return Number(filter.toBlock);
  }
  return undefined;
}

/** Where a freshly started process resumed: the first block it asks for at or after the escrow's block, minus one. */
function resumePoint(calls: RpcCall[], startBlock: number): number | undefined {
  for (const call of calls) {
    let n: number | undefined;
    if (call.method === "eth_getBlockByNumber") n = blockOf(call);
    if (call.method === "eth_getLogs") {
      const from = (call.params[0] as { fromBlock?: string }).fromBlock;
      if (from?.startsWith("0x")) n = Number(from);
    }
    if (n !== undefined && n >= startBlock) return n - 1;
  }
  return undefined;
}

class StoreRun {
  process?: IndexerProcess;
  /** Index in link.calls where the current process's calls begin. */
  private firstCall = 0;
  readonly kills: KillRecord[] = [];
  readonly finished: IndexerProcess[] = [];
  private starts = 0;

  constructor(
    readonly label: string,
    readonly link: RpcLink,
    private readonly chain: LocalChain,
    private readonly database: { url?: string; dataDir?: string; name?: string },
    private readonly admin: pg.Client,
  ) {}

  start() {
    const pending = this.kills.filter((kill) => kill.resumedAfter === undefined);
    this.firstCall = this.link.calls.length;
    this.starts += 1;
    this.process = startIndexerProcess(`${this.label} #${this.starts}`, {
      rpcUrl: this.link.url,
      deploymentsDir: this.chain.deploymentsDir,
      databaseUrl: this.database.url,
      dataDir: this.database.dataDir,
      env: { CONFIRMATIONS: String(CONFIRMATIONS), POLL_INTERVAL_MS: "20" },
    });
    if (pending.length > 0) {
      const link = this.link;
      const from = this.firstCall;
      const startBlock = this.chain.record.blockNumber;
      // Filled in once the new process shows where it resumed.
      const check = setInterval(() => {
        const at = resumePoint(link.calls.slice(from), startBlock);
        if (at !== undefined) {
          for (const kill of pending) kill.resumedAfter = at;
          clearInterval(check);
        }
      }, 20);
      void this.process.exited.then(() => clearInterval(check));
    }
  }

  /** The highest block any process of this run asked for: at most one above its checkpoint. */
  get progress(): number {
    let highest = 0;
    for (const call of this.link.calls) {
      if (call.method !== "eth_getBlockByNumber") continue;
      const n = blockOf(call);
      if (n !== undefined && n > highest) highest = n;
    }
    return highest;
  }

  private get calls() {
    return this.link.calls.slice(this.firstCall);
  }

  /** Arms `spec`, waits for the kill and the exit, and starts the process again. */
  async killAndRestart(spec: KillSpec, index: string): Promise<void> {
    const process = this.process!;
    // A kill at a block waits for the process to be at work (starting takes seconds, longer on a busy machine).
    if ("at" in spec) await process.log("indexing", { timeoutMs: 120_000 });
    let threshold: number | "next" = "next";
    if ("at" in spec && spec.at !== "next") {
      const from = this.progress;
      threshold = from + 1 + Math.floor(spec.at.fraction * Math.max(0, spec.at.upTo - from - 1));
    }
    const description =
      "afterMs" in spec
        ? `${spec.afterMs} ms after start`
        : `at ${threshold === "next" ? "the next block" : `block ${threshold}`}${"delayMs" in spec ? ` +${spec.delayMs} ms` : ", inside a transaction"}`;
    const landed = await new Promise<string>((resolve) => {
      let fired = false;
      const fire = async (what: string) => {
        if (fired) return;
        fired = true;
        this.link.onCall(undefined);
        clearTimeout(fallback);
        let note = what;
        if ("inTransaction" in spec) note += (await this.openTransaction()) ? ", a transaction open" : ", no transaction seen open";
        else if ("delayMs" in spec) await sleep(spec.delayMs);
        const indexing = process.logs.some((line) => line.msg === "indexing");
        const last = this.calls.filter((call) => blockOf(call) !== undefined).at(-1);
        process.child.kill("SIGKILL");
        await process.exited;
        if (!indexing) note += " (still starting)";
        else if (last) note += `, last asked for ${last.method} ${blockOf(last)}`;
        resolve(note);
      };
      // A kill that never found its moment still happens, so that the test goes on.
      const fallback = setTimeout(() => void fire("after 20 s without its moment"), 20_000);
      void process.exited.then(() => {
        if (!fired) {
          fired = true;
          clearTimeout(fallback);
          this.link.onCall(undefined);
          resolve(`the process had exited by itself (${JSON.stringify(process.exit)}):\n${process.tail()}`);
        }
      });
      if ("afterMs" in spec) {
        setTimeout(() => void fire(`${spec.afterMs} ms after start`), spec.afterMs);
        return;
      }
      const armedAt = this.link.calls.length;
      const armedTime = Date.now();
      this.link.onCall((call) => {
        if (this.link.calls.length <= armedAt) return;
        const n = blockOf(call);
        // Blocks asked for by number: each batch's last block once its logs are in, and each block followed.
        if (call.method === "eth_getBlockByNumber" && n !== undefined && (threshold === "next" || n >= threshold)) {
          void fire(`at ${call.method} ${n}`);
        } else if (threshold === "next" && Date.now() - armedTime > 3_000) {
          // No new block for a while (the chain waits for a slower indexer): any moment will do.
          void fire(`at ${call.method}, idle`);
        }
      });
    });
    this.finished.push(process);
    this.kills.push({ spec: `kill ${index} ${description}`, landed: `${landed} [${((Date.now() - started) / 1000).toFixed(1)} s]` });
    if (process.exit?.signal !== "SIGKILL") throw new Error(`${this.label}: ${landed}`);
    this.start();
  }

  /** PostgreSQL: waits (up to 300 ms) until a session of this database other than the lock's is in a transaction. */
  private async openTransaction(): Promise<boolean> {
    const deadline = Date.now() + 300;
    while (Date.now() < deadline) {
      const { rows } = await this.admin.query<{ open: number }>(
        `select count(*)::int as open from pg_stat_activity
         where datname = $1 and xact_start is not null and pid <> pg_backend_pid() and application_name not like 'openpay-indexer-%'`,
        [this.database.name],
      );
      if (rows[0].open > 0) return true;
    }
    return false;
  }

  /** Waits until the process idles at `head` (only eth_blockNumber calls: its checkpoint is the head), then stops it. */
  async finishAt(head: number): Promise<void> {
    const process = this.process!;
    await process.log("indexing", { timeoutMs: 60_000 });
    await process.until(
      `idle at block ${head}`,
      () => {
        const calls = this.calls;
        const asked = calls.some((call) => call.method === "eth_blockNumber");
        const last = calls.slice(-3);
        return asked && last.length === 3 && last.every((call) => call.method === "eth_blockNumber") ? true : undefined;
      },
      { timeoutMs: 90_000, pollMs: 50 },
    );
    const exit = await process.stop();
    this.finished.push(process);
    expect(exit, `${this.label}: exit on SIGTERM\n${process.tail()}`).to.deep.equal({ code: 0, signal: null });
  }

  /** No process of this run refused a chain event or failed a step. */
  expectQuietLogs() {
    for (const process of this.finished) {
      const bad = process.logs.filter((line) => Number(line.level) >= 50 || line.msg === "status machine refused a chain event");
      expect(
        bad.map((line) => JSON.stringify(line)),
        `${process.name}: errors logged`,
      ).to.deep.equal([]);
    }
  }

  report(phase: string) {
    for (const kill of this.kills.splice(0)) {
      console.log(`      ${this.label} ${phase}: ${kill.spec}: landed ${kill.landed}; resumed after block ${kill.resumedAfter ?? "?"}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe("crash safety: kill -9 at any moment, restart, and the result is the same", function () {
  this.timeout(240_000);

  let chain: LocalChain;
  let clean: string;
  let settings: MachineSettings;
  let plan: Planned[];
  let referenceStore: Store;
  let referenceDatabase: { url: string; drop: () => Promise<void> } | undefined;
  let referenceLink: RpcLink;
  let reference: Indexer;
  let dataDir: string;
  let postgres: { url: string; drop: () => Promise<void> } | undefined;
  let admin: pg.Client;
  const links: RpcLink[] = [];
  let pglite: StoreRun;
  let postgresRun: StoreRun;

  const head = async () => hre.ethers.provider.getBlockNumber();
  const readDir = async () => {
    const store = await openStore({ dataDir });
    try {
      return await readState(store.db);
    } finally {
      await store.close();
    }
  };
  const readPostgres = async () => {
    const store = await openStore({ url: postgres!.url });
    try {
      return await readState(store.db);
    } finally {
      await store.close();
    }
  };

  before(async function () {
    started = Date.now();
    console.log(`      crash safety seed ${SEED} (run again with CRASH_SEED=${SEED})`);
    clean = await snapshot();
    chain = await startLocalChain();
    const window = (await createRpcClient([chain.url]).readContract({
      address: chain.record.escrow,
      abi: openPayEscrowAbi,
      functionName: "LATE_COLLECT_WINDOW",
    })) as bigint;
    expect(window).to.equal(LATE_COLLECT_WINDOW);
    settings = { confirmations: { depth: CONFIRMATIONS, mode: "depth" }, lateCollectWindow: window };

    admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    postgres = await freshPostgresDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), "open-pay-crash-"));
    referenceDatabase = await freshPostgresDatabase();
    referenceStore = await openStore({ url: referenceDatabase.url });
    const directory = await openStore({ dataDir });
    const server = await openStore({ url: postgres.url });

    // Every payment is registered before any indexer runs (PGlite's folder is one process's at a time).
    const kinds = [...plannedKinds(HISTORY, "history"), ...plannedKinds(LIVE, "live")];
    plan = [];
    for (const planned of kinds) {
      const payment = await signedPayment(chain, planned.usd, planned.ttl);
      for (const store of [referenceStore, directory, server]) await register(store.db, chain, payment);
      plan.push({ ...planned, payment });
    }
    await directory.close();
    await server.close();

    for (const step of chainSteps(plan, "history")) {
      await runStep(step);
      await mine(random.int(0, 2));
    }
    // Half the depth: the history's early payments are paid by the end of it, its last ones while indexers follow.
    await mine(CONFIRMATIONS / 2);

    referenceLink = await startRpcLink(chain.url);
    referenceLink.setRule(logRangeLimit(LOG_RANGE_LIMIT));
    links.push(referenceLink);
    reference = localIndexer(chain, referenceStore.db, { rpc: createProviderPool([referenceLink.url]), settings });
    await catchUp(reference);
    const history = await readState(referenceStore.db);
    console.log(
      `      history: ${plan.length} payments, ${history.events.length} payment events, head ${await head()} ` +
        `[${((Date.now() - started) / 1000).toFixed(1)} s]`,
    );

    const pgliteLink = await startRpcLink(chain.url);
    const postgresLink = await startRpcLink(chain.url);
    links.push(pgliteLink, postgresLink);
    pgliteLink.setRule(logRangeLimit(LOG_RANGE_LIMIT));
    postgresLink.setRule(logRangeLimit(LOG_RANGE_LIMIT));
    pglite = new StoreRun("pglite", pgliteLink, chain, { dataDir }, admin);
    postgresRun = new StoreRun("postgres", postgresLink, chain, { url: postgres.url, name: new URL(postgres.url).pathname.slice(1) }, admin);
  });

  after(async function () {
    await killIndexerProcesses();
    for (const link of links) await link.close();
    await referenceStore?.close();
    await referenceDatabase?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    await postgres?.drop();
    await admin?.end();
    await chain?.close();
    if (clean) await revertTo(clean);
  });

  /** Kill moments over the catch-up from the escrow's block to `top`: some in the backfill, some following. */
  function catchUpKills(top: number, postgresKills: boolean): KillSpec[] {
    const backfilled = top - CONFIRMATIONS;
    const moments: Moment[] = [
      { fraction: random.next(), upTo: backfilled },
      { fraction: random.next(), upTo: backfilled },
      { fraction: random.next(), upTo: top },
    ];
    const specs: KillSpec[] = [{ afterMs: random.int(500, 4_000) }];
    for (const [i, at] of moments.entries()) specs.push(postgresKills && i === 1 ? { at, inTransaction: true } : { at, delayMs: random.int(0, 40) });
    return specs;
  }

  async function catchUpWithKills(run: StoreRun, kills: KillSpec[], top: number, expected: StoreState, read: () => Promise<StoreState>) {
    run.start();
    for (const [i, spec] of kills.entries()) await run.killAndRestart(spec, `${i + 1}/${kills.length}`);
    await run.finishAt(top);
    run.report("catch-up");
    run.expectQuietLogs();
    expectSameState(run.label, await read(), expected);
  }

  it("catching up from the escrow's block: PGlite and PostgreSQL indexers killed at 4 random moments each end exactly like an uninterrupted run", async function () {
    const top = await head();
    const expected = await readState(referenceStore.db);
    expect(Number(expected.checkpoint?.block_number)).to.equal(top);
    const statuses = expectPlannedStatuses(expected, plan, ["history"], top, await confirmedTimestamp(top));
    expect([...statuses]).to.include.members(["paid", "pending", "expired", "initiated"]);
    expect(expected.events.length).to.be.greaterThan(plan.filter((p) => p.phase === "history").length);
    // Both at once, each with its own kills (drawn now, so that the seed gives the same ones).
    const pgliteKills = catchUpKills(top, false);
    const postgresKills = catchUpKills(top, true);
    // Both run to the end even when one fails, so that nothing of this test runs on into the next.
    await settled([catchUpWithKills(pglite, pgliteKills, top, expected, readDir), catchUpWithKills(postgresRun, postgresKills, top, expected, readPostgres)]);
  });

  it("following live payments: PGlite and PostgreSQL indexers killed 3 times each while customers pay end like an uninterrupted run", async function () {
    const runs = [pglite, postgresRun];
    const steps = chainSteps(plan, "live");
    // Drawn before anything runs concurrently, so that the seed gives the same kills.
    const plans = runs.map((run) =>
      random
        .shuffle<KillSpec>([
          { afterMs: random.int(300, 5_000) },
          run.label === "postgres" ? { at: "next", inTransaction: true } : { at: "next", delayMs: random.int(0, 40) },
          { at: "next", delayMs: random.int(0, 40) },
        ])
        .map((spec) => ({ spec, pause: random.int(0, 800) })),
    );
    for (const run of runs) run.start();
    let killing = true;
    const killLoop = async (run: StoreRun, kills: Array<{ spec: KillSpec; pause: number }>) => {
      for (const [i, { spec, pause }] of kills.entries()) {
        // Timed kills count from the start; the others come once the process is at work again, a while later.
        if (!("afterMs" in spec)) {
          await run.process!.log("indexing", { timeoutMs: 120_000 });
          await sleep(pause);
        }
        await run.killAndRestart(spec, `${i + 1}/${kills.length}`);
      }
    };
    const activity = async () => {
      // Customers pay while the indexers are killed; the reference follows every block uninterrupted.
      for (let i = 0; killing || i < steps.length; i++) {
        // Never more than half the depth ahead of an indexer: following stays block by block for all of them.
        const waitUntil = Date.now() + 60_000;
        for (;;) {
          const top = await head();
          if (Date.now() > waitUntil || runs.every((run) => run.progress >= top - CONFIRMATIONS / 2)) break;
          await sleep(50);
        }
        if (i < steps.length) await runStep(steps[i]);
        else await mine(1);
        await mine(random.int(0, 1));
        await catchUp(reference);
        await sleep(random.int(100, 500));
      }
    };
    const done = activity();
    try {
      await settled(runs.map((run, i) => killLoop(run, plans[i])));
    } finally {
      killing = false;
      await done;
    }
    await catchUp(reference);
    const top = await head();
    const expected = await readState(referenceStore.db);
    expect(Number(expected.checkpoint?.block_number)).to.equal(top);
    const statuses = expectPlannedStatuses(expected, plan, ["history", "live"], top, await confirmedTimestamp(top));
    expect([...statuses]).to.include.members(["paid", "confirming", "pending", "expired", "initiated"]);

    await settled(runs.map((run) => run.finishAt(top)));
    for (const run of runs) {
      run.report("live");
      run.expectQuietLogs();
    }
    expectSameState("pglite", await readDir(), expected);
    expectSameState("postgres", await readPostgres(), expected);
  });
});
