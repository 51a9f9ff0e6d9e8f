import { expect } from "chai";
import fc from "fast-check";
import pino from "pino";
import { concat, getAddress, numberToHex, parseEther, zeroAddress, type Address, type Hex } from "viem";
import { createProviderPool } from "../src/chain/providerPool";
import { Indexer, type IndexerObserver, type IndexerOptions } from "../src/indexing/indexer";
import type { MachineSettings } from "../src/payments/statusMachine";
import type { Db } from "../src/store/paymentStore";
import { escrowOutcome, modelRecord } from "./support/paymentTruth/escrowOutcome";
import { FOUND_HISTORIES } from "./support/paymentTruth/foundHistories";
import { describeHistory, histories, type History } from "./support/paymentTruth/histories";
import { describePlan } from "./support/paymentTruth/paymentPlans";
import { HistoryRunner, registerPayments, type TruthChain } from "./support/paymentTruth/historyRunner";
import { acceptedTokenMaskOf, acceptedTokensOf, type PaymentSetup, type TokenBook } from "./support/paymentTruth/planActions";
import { indexReference, ONE_BLOCK_AT_A_TIME } from "./support/paymentTruth/referenceIndexing";
import { SimulatedProviders } from "./support/paymentTruth/simulatedProviders";
import { storedTruth } from "./support/paymentTruth/storedTruth";
import { truthViolations } from "./support/paymentTruth/truthViolations";
import { paymentOf } from "./support/simulatedChain/modelEscrow";
import { SimulatedChain } from "./support/simulatedChain/simulatedChain";
import { openTestStore, STORE_KINDS, type StoreKind } from "./support/stores";

/**
 * The indexer's central promise, over random histories on a simulated chain: whatever reorganisations, restarts,
 * lagging or lying providers it lived through, once the chain settles every payment ends where the escrow's own
 * record says (paid, refunded, expired, pending) with the escrow's amounts, exactly as an indexer that read the final
 * chain once block by block says; its announcements run 1, 2, 3… with one outbox event each, in step with its
 * status; no merchant was ever told `paid` or `expired` for a payment the chain did not settle so, nor had one taken
 * back; and where no reorganisation touched a payment, its announcements are the reference's exactly.
 *
 * A history (`histories.ts`) is a few payments (`paymentPlans.ts`: full, partial, topped up, overpaid, in BNB, through
 * the deposit address by transfer or BNB and collected, refunded, expired with and without deposits, strays, paid in
 * another accepted token than the first deposit's; each intent accepting a random set of tokens, and sometimes a third
 * party's small deposit in another token before or after the customer's, which the keeper sends back) and a
 * schedule interleaving blocks, reorganisations within depth − 1, indexer steps and restarts, provider faults (a
 * second RPC_URLS entry that lags, lets its log index lag, answers logs with nothing, a subset or another branch's,
 * or fails) and checkouts opened (`historyRunner.ts`).
 *
 * The histories found failing before (`foundHistories.ts`) are played each run, then TRUTH_RUNS random ones per store
 * (100 by default). TRUTH_SEED replays a run, TRUTH_PATH (printed with a failure) the failing history alone;
 * TRUTH_SHRINK=1 shrinks a failure to a smallest history; TRUTH_VERBOSE=1 prints what each history did.
 */

const RUNS = Number(process.env.TRUTH_RUNS ?? 100);
const SEED = process.env.TRUTH_SEED ? Number(process.env.TRUTH_SEED) : Math.floor(Math.random() * 2 ** 31);
const PATH = process.env.TRUTH_PATH;
const SHRINK = process.env.TRUTH_SHRINK === "1";

const ESCROW = getAddress("0x00000000000000000000000000000000000e5c40");
const USDT = getAddress("0x55d398326f99059ff775485246999027b3197955");
const USDC = getAddress("0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d");
const CAKE = getAddress("0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82");
const GENESIS = 1_700_000_000n;
const BOOK: TokenBook = {
  USDT,
  USDC,
  CAKE,
  prices: new Map([
    [USDT.toLowerCase(), parseEther("1")],
    [USDC.toLowerCase(), parseEther("0.9998")],
    [zeroAddress, parseEther("600")],
  ]),
  // As in the shipped deployments: USDT, USDC and BNB at indexes 1, 2 and 3.
  indexes: new Map([
    [USDT.toLowerCase() as Address, 1],
    [USDC.toLowerCase() as Address, 2],
    [zeroAddress, 3],
  ]),
};

const account = (n: number): Address => getAddress(numberToHex(0x1000 + n, { size: 20 }));
const MERCHANT = account(1);

/** Each history has a chain id of its own: its payments, events and checkpoint are apart from every other's in a store. */
let nextChainId = 70_000;

/** What a history's indexer under test reported (TRUTH_VERBOSE=1 prints it per history). */
interface Reported {
  steps: number;
  faults: number;
  rpcErrors: number;
  failovers: number;
  reorganisations: number;
}

const counting = (reported: Reported): IndexerObserver => ({
  committed: () => void reported.steps++,
  providerFault: () => void reported.faults++,
  rpcError: () => void reported.rpcErrors++,
  failover: () => void reported.failovers++,
  reorganised: () => void reported.reorganisations++,
});

function indexerFor(db: Db, chainId: number, settings: MachineSettings, urls: string[], overrides: Partial<IndexerOptions> = {}): Indexer {
  return new Indexer({
    rpc: createProviderPool(urls, { timeoutMs: 5_000 }),
    db,
    chainId,
    escrow: ESCROW,
    tokens: [USDT, USDC],
    startBlock: 1,
    settings,
    logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }),
    pollIntervalMs: 10,
    ...overrides,
  });
}

/** The final chain's transactions by kind (and revert, if they reverted): what a history did, for TRUTH_VERBOSE. */
function transactionTally(chain: SimulatedChain): Record<string, number> {
  const tally: Record<string, number> = {};
  for (let n = 1; n <= chain.head.number; n++) {
    for (const { action, revertReason } of chain.block(n)!.transactions) {
      const key = revertReason ? `${action.kind}:${revertReason}` : action.kind;
      tally[key] = (tally[key] ?? 0) + 1;
    }
  }
  return tally;
}

/** Plays `history` on a fresh simulated chain, indexed into `main`; returns every way the indexer failed the truth. */
async function play(history: History, main: Db, reference: Db): Promise<string[]> {
  const chainId = nextChainId++;
  const started = performance.now();
  const reported: Reported = { steps: 0, faults: 0, rpcErrors: 0, failovers: 0, reorganisations: 0 };
  const settings: MachineSettings = { confirmations: { depth: history.depth, mode: "depth" }, lateCollectWindow: BigInt(history.lateCollectWindow) };
  const chain = SimulatedChain.create({
    chainId,
    escrow: ESCROW,
    tokens: [USDT, USDC, CAKE],
    prices: new Map([
      [USDT, parseEther("1")],
      [USDC, parseEther("0.9998")],
      [zeroAddress, parseEther("600")],
    ]),
    tokenIndexes: BOOK.indexes,
    lateCollectWindow: settings.lateCollectWindow,
    genesisTimestamp: GENESIS,
  });
  try {
    // Blocks before the history, so that no reorganisation reaches the block the indexer starts from (it keeps no hash of it).
    chain.mineEmpty(history.depth + 1);
    const start = chain.head.timestamp;
    const payments: PaymentSetup[] = history.payments.map((plan, i) => ({
      plan,
      intent: {
        paymentId: concat([MERCHANT.toLowerCase() as Hex, numberToHex(i + 1, { size: 12 })]),
        merchant: MERCHANT,
        amountUsd: parseEther(String(plan.usd)),
        expiry: start + BigInt(plan.ttl),
        refundTo: plan.refundTo ? account(900 + i) : zeroAddress,
        acceptedTokens: acceptedTokenMaskOf(BOOK, plan),
        depositAddress: account(500 + i),
      },
      acceptedTokens: acceptedTokensOf(BOOK, plan),
      payers: [account(40 + 3 * i), account(41 + 3 * i), account(42 + 3 * i)],
      beneficiary: account(700 + i),
    }));
    const providers = new SimulatedProviders(await chain.serve({ seed: history.seed }), await chain.serve({ seed: history.seed + 1 }));
    const simulated: TruthChain = {
      model: chain,
      base: 0,
      mine: async (transactions, timestamp) => void chain.mine(transactions, { timestamp }),
      reorg: async (depth, transactions, timestamp) => void chain.reorg(depth, [{ txs: transactions, timestamp }]),
    };
    await registerPayments(main, chainId, settings, payments);
    const { checkouts, reorganised } = await new HistoryRunner({
      history,
      chain: simulated,
      providers,
      book: BOOK,
      payments,
      db: main,
      chainId,
      settings,
      indexer: (urls) => indexerFor(main, chainId, settings, urls, { observer: counting(reported) }),
    }).run();

    const played = performance.now();
    const final = await chain.serve();
    const indexer = indexerFor(reference, chainId, settings, [final.url], { range: ONE_BLOCK_AT_A_TIME });
    await indexReference({ db: reference, chainId, settings, payments, checkouts, indexer, startBlock: 1 });
    if (process.env.TRUTH_VERBOSE) {
      const ms = (t: number) => Math.round(t);
      console.log(
        `      chain ${chainId}: ${chain.head.number} blocks, history ${ms(played - started)} ms, reference ${ms(
          performance.now() - played,
        )} ms; reported ${JSON.stringify(reported)}, injected ${JSON.stringify(providers.injected)}; transactions ${JSON.stringify(transactionTally(chain))}`,
      );
    }
    return truthViolations(
      payments.map(({ plan, intent }, i) => ({
        id: intent.paymentId,
        label: `#${i} (${describePlan(plan)})`,
        escrow: escrowOutcome(modelRecord(paymentOf(chain.head.state, intent.paymentId)), intent.amountUsd),
        reorganised: reorganised.has(i),
      })),
      await storedTruth(main, chainId),
      await storedTruth(reference, chainId),
    );
  } finally {
    await chain.close();
  }
}

/** Runs `check` with a store of `kind` for the indexer under test and one for the reference, closing both after. */
async function withStores(kind: StoreKind, check: (main: Db, reference: Db) => Promise<void>): Promise<void> {
  const main = await openTestStore(kind);
  const reference = await openTestStore(kind);
  try {
    await check(main.db, reference.db);
  } finally {
    await main.close();
    await reference.close();
  }
}

/**
 * Runs `check` on PGlite and on PostgreSQL side by side (a history spends much of its time idle, in the indexer's
 * backoff after a provider fault) and fails with what each store's run found.
 */
async function onEachStore(check: (main: Db, reference: Db) => Promise<void>): Promise<void> {
  const outcomes = await Promise.allSettled(STORE_KINDS.map((kind) => withStores(kind, check)));
  const failures = outcomes.flatMap((outcome, i) => {
    if (outcome.status === "fulfilled") return [];
    const error = outcome.reason as Error;
    // fast-check's error names the seed, path and history; its cause, the violations.
    return [`on ${STORE_KINDS[i]}: ${error.message}${error.cause instanceof Error ? `\nCaused by: ${error.cause.message}` : ""}`];
  });
  if (failures.length > 0) throw new Error(failures.join("\n\n"));
}

describe("payment truth: random histories on a simulated chain", function () {
  // Generous: a shrinking failure replays many histories; the assertions never depend on time.
  this.timeout(3_600_000);

  it("the histories found failing before: every payment ends as the escrow and the reference say, announced alike", async function () {
    await onEachStore(async (main, reference) => {
      const failures: string[] = [];
      for (const { found, history } of FOUND_HISTORIES) {
        const violations = await play(history, main, reference);
        if (violations.length > 0) failures.push(`${found}:${describeHistory(history)}\n    ${violations.join("\n    ")}`);
      }
      expect(failures.length, `${failures.length} of ${FOUND_HISTORIES.length} failed again:\n${failures.join("\n\n")}\n`).to.equal(0);
    });
  });

  it(`${RUNS} random histories on PGlite and ${RUNS} on PostgreSQL: every payment ends as the escrow and a block-by-block reference say, announced 1..n, never a false paid or expired`, async function () {
    console.log(`      payment truth seed: ${SEED} (TRUTH_SEED=${SEED} replays it)`);
    await onEachStore(async (main, reference) => {
      await fc.assert(
        fc.asyncProperty(histories(), async (history) => {
          const violations = await play(history, main, reference);
          expect(violations, `${violations.length} violation(s)`).to.deep.equal([]);
        }),
        { numRuns: RUNS, seed: SEED, ...(PATH ? { path: PATH } : {}), endOnFailure: !SHRINK },
      );
    });
  });
});
