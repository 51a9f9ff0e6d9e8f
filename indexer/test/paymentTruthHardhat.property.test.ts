import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import {
  concat,
  createPublicClient,
  custom,
  encodeFunctionData,
  erc20Abi,
  getAddress,
  maxUint256,
  numberToHex,
  parseAbi,
  parseEther,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { hardhatAccountKey, LOCAL_ACCOUNTS } from "../../scripts/stack/hardhatAccounts";
import { IntentSigner } from "../src/api/intentSigner";
import { depositAddress } from "../src/chain/depositAddress";
import { openPayEscrowAbi } from "../src/chain/escrowAbi";
import { createProviderPool } from "../src/chain/providerPool";
import type { MachineSettings } from "../src/payments/statusMachine";
import type { Store } from "../src/store/database";
import type { Db } from "../src/store/paymentStore";
import { escrowOutcome, modelRecord } from "./support/paymentTruth/escrowOutcome";
import { HardhatTruthChain } from "./support/paymentTruth/hardhatChain";
import { FOUND_HISTORIES } from "./support/paymentTruth/foundHistories";
import { describeHistory, histories, type History } from "./support/paymentTruth/histories";
import { HistoryRunner, registerPayments } from "./support/paymentTruth/historyRunner";
import { acceptedTokenMaskOf, acceptedTokensOf, depositorsOf, type PaymentSetup, type TokenBook } from "./support/paymentTruth/planActions";
import { describePlan } from "./support/paymentTruth/paymentPlans";
import { indexReference, ONE_BLOCK_AT_A_TIME } from "./support/paymentTruth/referenceIndexing";
import { truthViolations } from "./support/paymentTruth/truthViolations";
import { storedTruth } from "./support/paymentTruth/storedTruth";
import { paymentOf, type Intent } from "./support/simulatedChain/modelEscrow";
import { SimulatedChain } from "./support/simulatedChain/simulatedChain";
import { CHAIN_ID, localIndexer, useLocalChain, type LocalChain } from "./support/localChain";
import { openTestStore, STORE_KINDS } from "./support/stores";

/**
 * The payment-truth property of paymentTruth.property.test.ts, on a few random histories played on Hardhat's real
 * chain and the real OpenPayEscrow: reorganisations are snapshots reverted and another branch mined at other times,
 * restarts are new indexers over the same store; the provider is Hardhat itself (no faults). A simulated chain mined
 * alongside (its shadow) tells the history when each step may happen; it must agree with the real escrow on every
 * transaction, and the final outcome is checked against the real escrow's record.
 *
 * TRUTH_SEED replays a run (with TRUTH_PATH, the failing history), TRUTH_HARDHAT_RUNS sets the histories per store (5
 * by default), TRUTH_SHRINK=1 shrinks a failure, TRUTH_VERBOSE=1 prints what each history did.
 */

const RUNS = Number(process.env.TRUTH_HARDHAT_RUNS ?? 5);
const SEED = process.env.TRUTH_SEED ? Number(process.env.TRUTH_SEED) : Math.floor(Math.random() * 2 ** 31);
const PATH = process.env.TRUTH_PATH;
const SHRINK = process.env.TRUTH_SHRINK === "1";
/** OpenPayEscrow.LATE_COLLECT_WINDOW. */
const LATE_COLLECT_WINDOW = 3_600;
/** Hardhat accounts that pay (two per payment, in turn): 0–5 have roles in the local deployment, 6 is the faucet. */
const PAYER_ACCOUNTS = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];

/** What the history's indexers reported (TRUTH_VERBOSE=1 prints it per history). */
const reported = { steps: 0, reorganisations: 0 };
const observer = { committed: () => void reported.steps++, reorganised: () => void reported.reorganisations++ };

/** Each history keeps its payments apart from the others' in the stores under a chain id of its own. */
let nextChainId = 80_000;

interface Deployment {
  book: TokenBook;
  accounts: Address[];
}

async function send(from: Address, to: Address, data: Hex): Promise<void> {
  await hre.network.provider.send("eth_sendTransaction", [{ from, to, data }]);
}

/** A token's index in the escrow (`tokenAt`): its bit in an intent's `acceptedTokens`. */
async function tokenIndex(local: LocalChain, token: Address): Promise<number> {
  const client = createPublicClient({ transport: custom(hre.network.provider) });
  const config = await client.readContract({ address: local.record.escrow, abi: openPayEscrowAbi, functionName: "tokenConfigOf", args: [token] });
  return config.index;
}

/** A token the escrow does not accept, and every payer funded with and approving the test tokens. */
async function prepare(local: LocalChain): Promise<Deployment> {
  const accounts = (await hre.ethers.getSigners()).map((signer) => getAddress(signer.address));
  const cake = getAddress(await (await hre.ethers.deployContract("TestToken", ["PancakeSwap Token", "CAKE", 18])).getAddress());
  const usdt = local.record.tokens.USDT.address;
  const usdc = local.record.tokens.USDC.address;
  const mint = parseAbi(["function mint(address to, uint256 amount)"]);
  for (const payer of PAYER_ACCOUNTS.map((n) => accounts[n])) {
    for (const token of [usdt, usdc, cake]) {
      await send(payer, token, encodeFunctionData({ abi: mint, functionName: "mint", args: [payer, parseEther("1000000")] }));
      await send(payer, token, encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [local.record.escrow, maxUint256] }));
    }
  }
  return {
    accounts,
    book: {
      USDT: usdt,
      USDC: usdc,
      CAKE: cake,
      // The local deployment's Chainlink mocks.
      prices: new Map([
        [usdt.toLowerCase(), parseEther("1")],
        [usdc.toLowerCase(), parseEther("0.9998")],
        [zeroAddress, parseEther("600")],
      ]),
      indexes: new Map(
        await Promise.all([usdt, usdc, zeroAddress].map(async (token) => [token.toLowerCase() as Address, await tokenIndex(local, token)] as const)),
      ),
    },
  };
}

/** Plays `history` on Hardhat's chain, indexed into `main`; returns every way the indexer failed the truth. */
async function play(local: LocalChain, deployment: Deployment, history: History, main: Db, reference: Db): Promise<string[]> {
  const chainId = nextChainId++;
  Object.assign(reported, { steps: 0, reorganisations: 0 });
  const { book, accounts } = deployment;
  const { escrow } = local.record;
  const merchant = local.record.demoMerchant!.merchant;
  const settings: MachineSettings = { confirmations: { depth: history.depth, mode: "depth" }, lateCollectWindow: BigInt(LATE_COLLECT_WINDOW) };
  const latest = await hre.ethers.provider.getBlock("latest");
  const model = SimulatedChain.create({
    chainId: CHAIN_ID,
    escrow,
    tokens: [book.USDT, book.USDC, book.CAKE],
    prices: new Map([...book.prices].map(([token, price]) => [getAddress(token), price])),
    tokenIndexes: book.indexes,
    lateCollectWindow: settings.lateCollectWindow,
    genesisTimestamp: BigInt(latest!.timestamp),
    operator: local.record.roles.operator,
  });
  const signatures = new Map<string, Hex>();
  const chain = await HardhatTruthChain.start(
    model,
    escrow,
    { operator: local.record.roles.operator, anyone: accounts[7], faucet: accounts[LOCAL_ACCOUNTS.customer] },
    (intent: Intent) => signatures.get(intent.paymentId)!,
  );
  try {
    // Blocks before the history, so that no reorganisation reaches the block the indexer starts from.
    for (let i = 0; i <= history.depth; i++) await chain.mine([], model.head.timestamp + model.blockTime);
    const start = model.head.timestamp;
    const signer = new IntentSigner(hardhatAccountKey(LOCAL_ACCOUNTS.intentSigner), { chainId: CHAIN_ID, escrow });
    const payments: PaymentSetup[] = history.payments.map((plan, i) => {
      const terms = {
        paymentId: concat([merchant.toLowerCase() as Hex, numberToHex(chainId * 16 + i + 1, { size: 12 })]),
        merchant,
        amountUsd: parseEther(String(plan.usd)),
        expiry: start + BigInt(plan.ttl),
        refundTo: plan.refundTo ? getAddress(numberToHex(0x9000 + i, { size: 20 })) : zeroAddress,
        acceptedTokens: acceptedTokenMaskOf(book, plan),
      };
      const { digest, signature } = signer.sign(terms);
      signatures.set(terms.paymentId, signature);
      // Three funded accounts in turn: the customer, the second customer, the third party.
      const payer = (k: number) => accounts[PAYER_ACCOUNTS[(3 * i + k) % PAYER_ACCOUNTS.length]];
      return {
        plan,
        intent: { ...terms, depositAddress: depositAddress({ escrow, forwarderImplementation: local.record.depositForwarder, digest }) },
        acceptedTokens: acceptedTokensOf(book, plan),
        payers: [payer(0), payer(1), payer(2)] as const,
        beneficiary: getAddress(numberToHex(0xbe00 + i, { size: 20 })),
      };
    });
    const startBlock = chain.base + 1;
    await registerPayments(main, chainId, settings, payments);
    const { checkouts, reorganised } = await new HistoryRunner({
      history,
      chain,
      providers: { urls: () => [local.url], fault: () => undefined, heal: () => undefined },
      book,
      payments,
      db: main,
      chainId,
      settings,
      indexer: (urls) => localIndexer(local, main, { rpc: createProviderPool(urls), chainId, startBlock, settings, observer }),
    }).run();

    await indexReference({
      db: reference,
      chainId,
      settings,
      payments,
      checkouts,
      indexer: localIndexer(local, reference, { chainId, startBlock, settings, range: ONE_BLOCK_AT_A_TIME }),
      startBlock,
    });
    const checked = [];
    for (const [i, { plan, intent }] of payments.entries()) {
      const record = await chain.recordOf(intent.paymentId as Hex, [book.USDT, book.USDC, zeroAddress], depositorsOf(payments[i]));
      // The shadow guided the history: it must have ended where the escrow did.
      expect(modelRecord(paymentOf(model.head.state, intent.paymentId)), `the shadow model's record of payment #${i}`).to.deep.equal({
        ...record,
        token: record.token.toLowerCase(),
      });
      checked.push({
        id: intent.paymentId,
        label: `#${i} (${describePlan(plan)})`,
        escrow: escrowOutcome(record, intent.amountUsd),
        reorganised: reorganised.has(i),
      });
    }
    if (process.env.TRUTH_VERBOSE) console.log(`      chain ${chainId}: ${model.head.number} blocks; the indexer under test: ${JSON.stringify(reported)}`);
    return truthViolations(checked, await storedTruth(main, chainId), await storedTruth(reference, chainId));
  } finally {
    await chain.end();
  }
}

describe("payment truth: random histories on Hardhat's chain", function () {
  this.timeout(3_600_000);
  const local = useLocalChain();
  let deployment: Deployment | undefined;
  before(async function () {
    console.log(`      payment truth seed (Hardhat): ${SEED} (TRUTH_SEED=${SEED} replays it)`);
    deployment = await prepare(local());
  });

  for (const kind of STORE_KINDS) {
    describe(kind, function () {
      let main: Store | undefined;
      let reference: Store | undefined;
      before(async function () {
        main = await openTestStore(kind);
        reference = await openTestStore(kind);
      });
      after(async function () {
        await main?.close();
        await reference?.close();
      });

      it("the histories found failing before that need no provider fault, with the escrow's late-collect window", async function () {
        const failures: string[] = [];
        for (const { found, history } of FOUND_HISTORIES) {
          if (history.faultyFirst || history.steps.some((step) => step.kind === "fault")) continue;
          const real = { ...history, lateCollectWindow: LATE_COLLECT_WINDOW };
          const violations = await play(local(), deployment!, real, main!.db, reference!.db);
          if (violations.length > 0) failures.push(`${found}:${describeHistory(real)}\n    ${violations.join("\n    ")}`);
        }
        expect(failures.length, `${failures.length} failed again:\n${failures.join("\n\n")}\n`).to.equal(0);
      });

      it(`${RUNS} random histories with reorganisations and restarts: every payment ends as the escrow and a block-by-block reference say`, async function () {
        await fc.assert(
          fc.asyncProperty(
            histories({ faults: false, lateCollectWindow: LATE_COLLECT_WINDOW, maxSteps: 30, weights: { reorg: 6, catchUp: 4, restart: 3 } }),
            async (history) => {
              const violations = await play(local(), deployment!, history, main!.db, reference!.db);
              expect(violations, `${violations.length} violation(s)`).to.deep.equal([]);
            },
          ),
          { numRuns: RUNS, seed: SEED, ...(PATH ? { path: PATH } : {}), endOnFailure: !SHRINK },
        );
      });
    });
  }
});
