import { expect } from "chai";
import hre from "hardhat";
import pino from "pino";
import { Registry } from "prom-client";
import { createWalletClient, getAddress, http, parseUnits, zeroAddress, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { simulate } from "../../scripts/operator/simulate";
import { createRpcClient } from "../src/chain/rpcClient";
import { Keeper, type KeeperOptions } from "../src/keeper/keeper";
import { TransactionSender } from "../src/keeper/transactionSender";
import { keeperMetrics } from "../src/keeper/keeperMetrics";
import { eventsOf, LATE_FUNDS_WINDOW, type Db } from "../src/store/paymentStore";
import {
  catchUp,
  CHAIN_ID,
  localIndexer,
  mine,
  mineAt,
  register,
  revertTo,
  SETTINGS,
  signedPayment,
  snapshot,
  useLocalChain,
  type LocalChain,
} from "./support/localChain";
import { headNumber } from "./support/manualMining";
import { historyOf, outboxTypes, storedPayment } from "./support/paymentRecords";
import { describeEachStore } from "./support/stores";
import { hardhatAccountKey, LOCAL_ACCOUNTS } from "../../scripts/stack/hardhatAccounts";

/** Hardhat's account 1, the local deployment's operator (deploy/parameters/local.json5). */
const OPERATOR_KEY = hardhatAccountKey(LOCAL_ACCOUNTS.operator);
const quiet = () => undefined;

function localKeeper(chain: LocalChain, db: Db, stuckAfterMs = 60_000, options: Partial<KeeperOptions> = {}) {
  const client = createRpcClient([chain.url]);
  const account = privateKeyToAccount(OPERATOR_KEY);
  const sender = new TransactionSender(client, createWalletClient({ account, transport: http(chain.url) }), account);
  return new Keeper({
    client,
    sender,
    db,
    chainId: CHAIN_ID,
    escrow: chain.record.escrow,
    lateCollectWindow: SETTINGS.lateCollectWindow,
    finalityDepth: SETTINGS.confirmations.depth,
    logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }),
    stuckAfterMs,
    ...options,
  });
}

/** A keeper whose warnings and metrics the test reads: its log lines as objects, and a metric's value for a reason. */
function watchedKeeper(chain: LocalChain, db: Db) {
  const warnings: Array<Record<string, unknown>> = [];
  const registry = new Registry();
  const keeper = localKeeper(chain, db, 60_000, {
    observer: keeperMetrics(registry),
    logger: pino({ level: "warn" }, { write: (line: string) => warnings.push(JSON.parse(line)) }),
  });
  const metric = async (name: string, reason: string) =>
    (await registry.getSingleMetric(name)!.get()).values.find((value) => value.labels.reason === reason)?.value;
  return { keeper, warnings, metric };
}

async function actions(db: Db) {
  return db.selectFrom("keeper_actions").select(["payment_id", "action", "state_key", "status", "attempts", "nonce"]).execute();
}

async function tokenBalance(chain: LocalChain, symbol: "USDT" | "USDC", account: string): Promise<bigint> {
  const token = await hre.ethers.getContractAt("TestToken", chain.record.tokens[symbol].address);
  return token.balanceOf(account);
}

/** Hardhat's accounts 10 and up: customers no role of the local deployment uses. */
async function customer(index: number) {
  return (await hre.ethers.getSigners())[10 + index];
}

/** Mints test tokens to a customer and sends them by plain transfer to `to` (mined when automine is on). */
async function transferTo(chain: LocalChain, symbol: "USDT" | "USDC", from: Awaited<ReturnType<typeof customer>>, to: string, amount: bigint) {
  const token = await hre.ethers.getContractAt("TestToken", chain.record.tokens[symbol].address);
  await (await token.mint(from.address, amount)).wait();
  return token.connect(from).transfer(to, amount);
}

async function merchantBalance(chain: LocalChain, symbol: "USDT" | "USDC" | "BNB"): Promise<bigint> {
  const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain.record.escrow);
  return escrow.balanceOf(chain.record.demoMerchant!.merchant, symbol === "BNB" ? zeroAddress : chain.record.tokens[symbol].address);
}

/** What `account` holds of a token, or of BNB. */
async function holding(chain: LocalChain, symbol: "USDT" | "BNB", account: string): Promise<bigint> {
  return symbol === "BNB" ? hre.ethers.provider.getBalance(account) : tokenBalance(chain, symbol, account);
}

/**
 * Reorganises the chain back to the snapshot `fork` (taken at block `forkHead`) and mines a branch one block longer
 * than the one it replaces, block by block. Transactions sent after the snapshot are gone from the pool too: no
 * node puts them back.
 */
async function reorganise(fork: string, forkHead: number) {
  const oldHead = await headNumber();
  await revertTo(fork);
  await mine(oldHead - forkHead + 1);
}

/** A $30 payment registered, then paid in full in `token` by a plain transfer to its deposit address (not indexed yet). */
async function paidAtDepositAddress(chain: LocalChain, db: Db, token: "USDT" | "BNB") {
  const payment = await signedPayment(chain, "30");
  await register(db, chain, payment);
  await simulate(hre, { intent: payment.file, scenario: "full", token, via: "deposit-address" }, quiet);
  return payment;
}

/**
 * A $20 payment registered and expired with nothing paid, as indexed, with the indexer and keeper that follow it.
 * Nothing paid by the expiry: the payment is expired once a block after it is confirmed; whatever arrives is a stray.
 */
async function expiredUnpaid(chain: LocalChain, db: Db) {
  const payment = await signedPayment(chain, "20");
  await register(db, chain, payment);
  const indexer = localIndexer(chain, db);
  const keeper = localKeeper(chain, db);
  await mineAt(payment.intent.expiry + 1n);
  await mine(SETTINGS.confirmations.depth - 1);
  await catchUp(indexer);
  expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("expired");
  return { payment, indexer, keeper };
}

const kindsOf = (sent: Array<{ kind: string }>) => sent.map((action) => action.kind);

describe("keeper: deposit addresses collected, unpaid payments expired, strays returned", function () {
  const chain = useLocalChain();

  describeEachStore("keeper", (store) => {
    for (const token of ["USDT", "BNB"] as const) {
      it(`collects ${token} sent to a deposit address, once`, async function () {
        const { db } = store();
        const payment = await signedPayment(chain(), "30");
        await register(db, chain(), payment);
        await simulate(hre, { intent: payment.file, scenario: "full", token, via: "deposit-address" }, quiet);
        const indexer = localIndexer(chain(), db);
        const keeper = localKeeper(chain(), db);
        await catchUp(indexer);
        // The indexer read what reached the deposit address: the payment is pending, and announced so, before any collect.
        expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([["initiated", "pending", "deposit_address_funded"]]);
        expect(await outboxTypes(db, payment.intent.paymentId)).to.deep.equal(["payment.pending"]);

        const sent = await keeper.tick();
        expect(sent.map((action) => action.kind)).to.deep.equal(["collect"]);
        await catchUp(indexer);
        const collected = await storedPayment(db, payment.intent.paymentId);
        expect(collected.status).to.equal("confirming");
        expect(collected.receivedUsd).to.equal(parseUnits("30", 18));
        expect((await historyOf(db, payment.intent.paymentId)).at(-1)).to.deep.equal(["pending", "confirming", "full_value_received"]);

        expect(await keeper.tick()).to.deep.equal([]);
        expect(await actions(db)).to.have.length(1);
        expect((await actions(db))[0]).to.include({ action: "collect", status: "mined" });
      });
    }

    it("expires a partly paid payment once its time is up, refunding the customer", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "50");
      await register(db, chain(), payment);
      const customer = (await hre.ethers.getSigners())[6].address;
      await simulate(hre, { intent: payment.file, scenario: "partial", token: "USDC" }, quiet);
      const afterDeposit = await tokenBalance(chain(), "USDC", customer);
      const indexer = localIndexer(chain(), db);
      const keeper = localKeeper(chain(), db);
      await catchUp(indexer);
      expect(await keeper.tick()).to.deep.equal([]);

      await mineAt(payment.intent.expiry + 1n);
      await catchUp(indexer);
      expect((await keeper.tick()).map((action) => action.kind)).to.deep.equal(["expire"]);
      await catchUp(indexer);
      // The escrow's expiry is on chain, but not yet confirmed: the payment waits, pending; only the refund the
      // expiry sent is announced.
      const expiring = await storedPayment(db, payment.intent.paymentId);
      expect(expiring.status).to.equal("pending");
      expect(expiring.expiredBlock).to.equal(await headNumber());
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "pending", "deposit"],
        ["pending", "pending", "deposit_refunded"],
      ]);
      expect(await keeper.tick()).to.deep.equal([]);
      // Expired once the expire's block has 12 confirmations, not one block before.
      await mine(SETTINGS.confirmations.depth - 2);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("pending");
      await mine();
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("expired");
      expect(await tokenBalance(chain(), "USDC", customer)).to.be.greaterThan(afterDeposit);
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "pending", "deposit"],
        ["pending", "pending", "deposit_refunded"],
        ["pending", "expired", "expired_on_chain"],
      ]);
    });

    it("returns a transfer that came after the late-collect window to its sender", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "20");
      await register(db, chain(), payment);
      const customer = (await hre.ethers.getSigners())[6].address;
      const late = await simulate(hre, { intent: payment.file, scenario: "late", token: "USDT", via: "deposit-address" }, quiet);
      const beforeReturn = await tokenBalance(chain(), "USDT", customer);
      const indexer = localIndexer(chain(), db);
      const keeper = localKeeper(chain(), db);
      await catchUp(indexer);
      // Too late to count: the transfer changed no status.
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([]);
      expect((await keeper.tick()).map((action) => action.kind)).to.deep.equal(["returnStray"]);
      expect(await tokenBalance(chain(), "USDT", customer)).to.equal(beforeReturn + parseUnits(late.amount, 18));
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(0n);
    });

    it("never sends the same action twice for one state, and replaces a stuck transaction at a higher gas price", async function () {
      const { db } = store();
      const payment = await paidAtDepositAddress(chain(), db, "USDT");
      const indexer = localIndexer(chain(), db);
      await catchUp(indexer);

      await hre.network.provider.send("evm_setAutomine", [false]);
      const keeper = localKeeper(chain(), db, 0);
      expect((await keeper.tick()).map((action) => action.kind)).to.deep.equal(["collect"]);
      const [first] = await db.selectFrom("keeper_actions").select(["tx_hash", "gas_price", "nonce"]).execute();
      // Still unmined: the next round claims nothing new and replaces the stuck transaction instead.
      expect(await keeper.tick()).to.deep.equal([]);
      const [second] = await db.selectFrom("keeper_actions").select(["tx_hash", "gas_price", "nonce", "attempts"]).execute();
      expect(second.nonce).to.equal(first.nonce);
      expect(second.tx_hash).to.not.equal(first.tx_hash);
      expect(BigInt(second.gas_price!) >= (BigInt(first.gas_price!) * 125n) / 100n).to.equal(true);
      expect(Number(second.attempts)).to.equal(2);

      await mine();
      await hre.network.provider.send("evm_setAutomine", [true]);
      await keeper.tick();
      expect((await actions(db)).map((row) => [row.action, row.status])).to.deep.equal([["collect", "mined"]]);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("confirming");
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(0n);
      // Final once as deep as the indexer's confirmations (12 blocks), not before.
      await mine(SETTINGS.confirmations.depth - 2);
      await keeper.tick();
      expect((await actions(db)).map((row) => [row.action, row.status])).to.deep.equal([["collect", "mined"]]);
      await mine();
      await keeper.tick();
      expect((await actions(db)).map((row) => [row.action, row.status])).to.deep.equal([["collect", "done"]]);
    });

    it("plans again an action claimed but never broadcast (a crash between claim and send)", async function () {
      const { db } = store();
      const payment = await paidAtDepositAddress(chain(), db, "BNB");
      await catchUp(localIndexer(chain(), db));
      const operator = privateKeyToAccount(OPERATOR_KEY).address as Address;
      const nonce = await hre.ethers.provider.getTransactionCount(operator, "pending");
      await db
        .insertInto("keeper_actions")
        .values({ chain_id: CHAIN_ID, payment_id: payment.intent.paymentId, action: "collect", state_key: `${zeroAddress}:stale`, status: "planned", nonce })
        .execute();
      const sent = await localKeeper(chain(), db).tick();
      expect(sent.map((action) => action.kind)).to.deep.equal(["collect"]);
      const rows = await actions(db);
      expect(rows.map((row) => row.state_key)).to.not.include(`${zeroAddress}:stale`);
      expect(rows).to.have.length(1);
    });

    it("broadcasts again its collect when a reorganisation drops it and no node puts it back; later transactions are mined", async function () {
      const { db } = store();
      const merchantBefore = await merchantBalance(chain(), "USDT");
      const first = await signedPayment(chain(), "25");
      await register(db, chain(), first);
      await simulate(hre, { intent: first.file, scenario: "full", token: "USDT", via: "deposit-address" }, quiet);
      const firstUnits = await tokenBalance(chain(), "USDT", first.depositAddress);
      const indexer = localIndexer(chain(), db);
      const keeper = localKeeper(chain(), db, 0);
      await catchUp(indexer);

      const fork = await snapshot();
      const forkHead = await headNumber();
      expect(kindsOf(await keeper.tick())).to.deep.equal(["collect"]);
      await mine(2);
      await catchUp(indexer);
      expect((await storedPayment(db, first.intent.paymentId)).status).to.equal("confirming");
      expect(await keeper.tick()).to.deep.equal([]);

      // A longer branch without the collect's block; the collect is in no pool.
      await reorganise(fork, forkHead);
      expect(await tokenBalance(chain(), "USDT", first.depositAddress)).to.equal(firstUnits);
      // Meanwhile a second payment is paid at its deposit address.
      const second = await signedPayment(chain(), "10");
      await register(db, chain(), second);
      await simulate(hre, { intent: second.file, scenario: "full", token: "USDT", via: "deposit-address" }, quiet);
      const secondUnits = await tokenBalance(chain(), "USDT", second.depositAddress);
      await catchUp(indexer);
      // The collect is gone, the transfer that funded the deposit address is still there: pending again, announced.
      expect((await storedPayment(db, first.intent.paymentId)).status).to.equal("pending");
      expect(await historyOf(db, first.intent.paymentId)).to.deep.equal([
        ["initiated", "pending", "deposit_address_funded"],
        ["pending", "confirming", "full_value_received"],
        ["confirming", "pending", "chain_reorganised"],
      ]);

      // The same signed collect goes out again with its nonce, and the second payment's collect is mined after it.
      expect(kindsOf(await keeper.tick())).to.deep.equal(["collect"]);
      await catchUp(indexer);
      expect(await tokenBalance(chain(), "USDT", first.depositAddress)).to.equal(0n);
      expect(await tokenBalance(chain(), "USDT", second.depositAddress)).to.equal(0n);
      expect((await storedPayment(db, first.intent.paymentId)).status).to.equal("confirming");
      expect((await storedPayment(db, second.intent.paymentId)).status).to.equal("confirming");
      expect((await merchantBalance(chain(), "USDT")) - merchantBefore).to.equal(firstUnits + secondUnits);
      // One collect per payment, each on chain once.
      expect(await keeper.tick()).to.deep.equal([]);
      expect((await actions(db)).map((row) => [row.action, row.status])).to.deep.equal([
        ["collect", "mined"],
        ["collect", "mined"],
      ]);
    });

    it("takes with a no-op the nonce of a collect a reorganisation made unwanted, and releases the claim once the no-op is final", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "25");
      await register(db, chain(), payment);
      const indexer = localIndexer(chain(), db);
      const keeper = localKeeper(chain(), db, 0);
      await catchUp(indexer);
      const operator = privateKeyToAccount(OPERATOR_KEY).address as Address;

      // A branch without the customer's transfer: there, the collect it asked for is no longer wanted.
      const fork = await snapshot();
      const forkHead = await headNumber();
      await simulate(hre, { intent: payment.file, scenario: "full", token: "USDT", via: "deposit-address" }, quiet);
      await catchUp(indexer);
      expect(kindsOf(await keeper.tick())).to.deep.equal(["collect"]);
      const [{ nonce }] = await actions(db);
      await reorganise(fork, forkHead);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("initiated");

      // The collect's block is gone and nothing plans it again: a no-op takes its nonce, and is mined.
      expect(await keeper.tick()).to.deep.equal([]);
      const statuses = async () => (await actions(db)).map((row) => [row.action, row.status, row.nonce]);
      expect(await statuses()).to.deep.equal([["collect", "cancelling", nonce]]);
      expect(await hre.ethers.provider.getTransactionCount(operator, "latest")).to.equal(nonce! + 1);
      // Its receipt is recorded; the claim goes once the no-op is as deep as the indexer's confirmations.
      await keeper.tick();
      await mine(SETTINGS.confirmations.depth - 2);
      await keeper.tick();
      expect(await statuses()).to.deep.equal([["collect", "cancelling", nonce]]);
      await mine();
      await keeper.tick();
      expect(await actions(db)).to.deep.equal([]);
    });

    it("releases a collect whose nonce another transaction of the operator took once that is final, then collects again", async function () {
      const { db } = store();
      const payment = await paidAtDepositAddress(chain(), db, "USDT");
      const indexer = localIndexer(chain(), db);
      await catchUp(indexer);
      const keeper = localKeeper(chain(), db);

      await hre.network.provider.send("evm_setAutomine", [false]);
      expect(kindsOf(await keeper.tick())).to.deep.equal(["collect"]);
      const [{ nonce }] = await actions(db);
      // Someone else using the operator key replaces the collect in the pool with a transfer of the same nonce.
      const operator = (await hre.ethers.getSigners())[LOCAL_ACCOUNTS.operator];
      await operator.sendTransaction({ to: operator.address, value: 0n, nonce: nonce!, gasPrice: 1_000n * 10n ** 9n });
      await mine();
      await hre.network.provider.send("evm_setAutomine", [true]);
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.not.equal(0n);

      // Until that transfer is final the claim stays, and the payment gets nothing new.
      await mine(SETTINGS.confirmations.depth - 2);
      expect(await keeper.tick()).to.deep.equal([]);
      expect((await actions(db)).map((row) => [row.status, row.nonce])).to.deep.equal([["sent", nonce]]);
      // Final: the claim goes, and the funds still waiting, the same collect is sent again with the next nonce.
      await mine();
      expect(kindsOf(await keeper.tick())).to.deep.equal(["collect"]);
      expect((await actions(db)).map((row) => [row.status, row.nonce])).to.deep.equal([["sent", nonce! + 1]]);
      await catchUp(indexer);
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(0n);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("confirming");
    });

    it("refunds each sender of an expired payment's deposit address what it sent", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "20");
      await register(db, chain(), payment);
      const indexer = localIndexer(chain(), db);
      const keeper = localKeeper(chain(), db);
      const [a, b] = [await customer(0), await customer(1)];
      const six = parseUnits("6", 18);
      const three = parseUnits("3", 18);
      const aBefore = await tokenBalance(chain(), "USDT", a.address);
      const bBefore = await tokenBalance(chain(), "USDT", b.address);

      for (const [from, amount] of [
        [a, six],
        [b, three],
      ] as const) {
        await (await transferTo(chain(), "USDT", from, payment.depositAddress, amount)).wait();
        await catchUp(indexer);
        expect(kindsOf(await keeper.tick())).to.deep.equal(["collect"]);
        await catchUp(indexer);
      }
      expect((await storedPayment(db, payment.intent.paymentId)).paidAmount).to.equal(six + three);

      await mineAt(payment.intent.expiry + 1n);
      await catchUp(indexer);
      expect(kindsOf(await keeper.tick())).to.deep.equal(["expire"]);
      await catchUp(indexer);
      // No refund before the expiry is confirmed: the payment is still pending.
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("pending");
      expect(await keeper.tick()).to.deep.equal([]);
      await mine(SETTINGS.confirmations.depth - 1);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("expired");
      expect(kindsOf(await keeper.tick())).to.deep.equal(["refundDepositAddress", "refundDepositAddress"]);
      await catchUp(indexer);

      expect(await tokenBalance(chain(), "USDT", a.address)).to.equal(aBefore + six);
      expect(await tokenBalance(chain(), "USDT", b.address)).to.equal(bBefore + three);
      const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
      expect(await escrow.depositOf(payment.intent.paymentId, chain().record.tokens.USDT.address, payment.depositAddress)).to.equal(0n);
      expect(await keeper.tick()).to.deep.equal([]);
      // Each collect and each refund changed the money, not the status: each is a change of its own.
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "pending", "deposit_address_funded"],
        ["pending", "pending", "deposit"],
        ["pending", "pending", "deposit"],
        ["pending", "expired", "expired_on_chain"],
        ["expired", "expired", "deposit_refunded"],
        ["expired", "expired", "deposit_refunded"],
      ]);
    });

    it("collects a third party's 1 wei of USDC and the customer's full USDT, completes in USDT, then refunds the USDC to its sender", async function () {
      const { db } = store();
      const usdt = getAddress(chain().record.tokens.USDT.address);
      const usdc = getAddress(chain().record.tokens.USDC.address);
      const payment = await signedPayment(chain(), "30");
      await register(db, chain(), payment);
      const indexer = localIndexer(chain(), db);
      const keeper = localKeeper(chain(), db);
      const merchantBefore = await merchantBalance(chain(), "USDT");
      // Someone who saw the checkout sends 1 wei of USDC (the intent accepts it) before the customer's transfer.
      const third = await customer(8);
      const thirdBefore = await tokenBalance(chain(), "USDC", third.address);
      await (await transferTo(chain(), "USDC", third, payment.depositAddress, 1n)).wait();
      expect(await tokenBalance(chain(), "USDC", third.address)).to.equal(thirdBefore);
      await simulate(hre, { intent: payment.file, scenario: "full", token: "USDT", via: "deposit-address" }, quiet);
      const units = await tokenBalance(chain(), "USDT", payment.depositAddress);
      await catchUp(indexer);

      // Both are collected in one round: the dust first (the escrow's record is in USDC), the USDT apart, which
      // reaches the amount on its own and pays the payment.
      expect(kindsOf(await keeper.tick())).to.deep.equal(["collect", "collect"]);
      await catchUp(indexer);
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(0n);
      expect(await tokenBalance(chain(), "USDC", payment.depositAddress)).to.equal(0n);
      const paid = await storedPayment(db, payment.intent.paymentId);
      expect(paid.status).to.equal("confirming");
      expect(getAddress(paid.token!)).to.equal(usdt);
      expect(paid.paidAmount).to.equal(units);
      expect(paid.otherDeposits.map(({ token, amount }) => [getAddress(token), amount])).to.deep.equal([[usdc, 1n]]);
      expect((await merchantBalance(chain(), "USDT")) - merchantBefore).to.equal(units);
      const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
      expect(await escrow.depositOf(payment.intent.paymentId, usdc, payment.depositAddress)).to.equal(1n);

      // The USDC did not pay it: it goes back to whoever sent it (the intent names no refund address).
      const refunds = await keeper.tick();
      expect(refunds).to.deep.equal([
        {
          kind: "refundDepositAddress",
          paymentId: payment.intent.paymentId,
          token: usdc,
          to: getAddress(third.address),
          amount: 1n,
          stateKey: `refund:${usdc.toLowerCase()}:${third.address.toLowerCase()}:0`,
        },
      ]);
      await catchUp(indexer);
      expect(await tokenBalance(chain(), "USDC", third.address)).to.equal(thirdBefore + 1n);
      expect(await escrow.depositOf(payment.intent.paymentId, usdc, payment.depositAddress)).to.equal(0n);
      const settled = await storedPayment(db, payment.intent.paymentId);
      expect(settled.otherDeposits).to.deep.equal([]);
      expect(settled.paidAmount).to.equal(units);
      expect((await merchantBalance(chain(), "USDT")) - merchantBefore).to.equal(units);
      // Nothing more to do, now or once the payment is paid.
      expect(await keeper.tick()).to.deep.equal([]);
      await mine(SETTINGS.confirmations.depth);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("paid");
      expect(await keeper.tick()).to.deep.equal([]);
    });

    it("returns a second stray of the same amount too", async function () {
      const { db } = store();
      const { payment, indexer, keeper } = await expiredUnpaid(chain(), db);
      const sender = await customer(2);
      const five = parseUnits("5", 18);
      const before = await tokenBalance(chain(), "USDT", sender.address);

      for (const round of [1, 2]) {
        await (await transferTo(chain(), "USDT", sender, payment.depositAddress, five)).wait();
        await catchUp(indexer);
        expect(kindsOf(await keeper.tick()), `stray ${round}`).to.deep.equal(["returnStray"]);
        await catchUp(indexer);
        expect(await tokenBalance(chain(), "USDT", payment.depositAddress), `stray ${round}`).to.equal(0n);
      }
      // Minted twice, both came back, each announced as a returned transfer; the status stayed.
      expect(await tokenBalance(chain(), "USDT", sender.address)).to.equal(before + 2n * five);
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "expired", "time_elapsed"],
        ["expired", "expired", "stray_returned"],
        ["expired", "expired", "stray_returned"],
      ]);
      expect((await storedPayment(db, payment.intent.paymentId)).returnedTransfers.map((returned) => [returned.reason, returned.amount])).to.deep.equal([
        ["after_expiry", five],
        ["after_expiry", five],
      ]);
    });

    it("returns a transfer sent just after the expiry that the indexer reads only days later by the clock (down meanwhile)", async function () {
      const { db } = store();
      const { payment, indexer, keeper } = await expiredUnpaid(chain(), db);
      // Seconds after the expiry by the chain; the indexer then stays down for two days by the clock.
      const sender = await customer(3);
      const five = parseUnits("5", 18);
      const before = await tokenBalance(chain(), "USDT", sender.address);
      await (await transferTo(chain(), "USDT", sender, payment.depositAddress, five)).wait();
      await db
        .updateTable("payments")
        .set({ updated_at: new Date(Date.now() - 2 * 86_400_000) })
        .where("id", "=", payment.intent.paymentId)
        .execute();

      await catchUp(indexer);
      expect(kindsOf(await keeper.tick())).to.deep.equal(["returnStray"]);
      await catchUp(indexer);
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(0n);
      expect(await tokenBalance(chain(), "USDT", sender.address)).to.equal(before + five);
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "expired", "time_elapsed"],
        ["expired", "expired", "stray_returned"],
      ]);
    });

    it("after a reorganisation back inside the late-funds window, reads a transfer the replaced branch had left the window before", async function () {
      const { db } = store();
      const { payment, indexer, keeper } = await expiredUnpaid(chain(), db);
      const windowEnd = payment.intent.expiry + LATE_FUNDS_WINDOW;
      // The indexer holds a block seconds before the window ends, then one of a branch already past it.
      await mineAt(windowEnd - 10n);
      await catchUp(indexer);
      const fork = await snapshot();
      await mineAt(windowEnd + 5n);
      await catchUp(indexer);

      // The longer branch that replaces it holds, inside the window, a transfer to the deposit address. Judging the
      // watched set at the replaced checkpoint's time would not read it: the funds would stay at the address.
      await revertTo(fork);
      const sender = await customer(5);
      const five = parseUnits("5", 18);
      const before = await tokenBalance(chain(), "USDT", sender.address);
      const sent = await (await transferTo(chain(), "USDT", sender, payment.depositAddress, five)).wait();
      expect(BigInt((await hre.ethers.provider.getBlock(sent!.blockNumber))!.timestamp) < windowEnd).to.equal(true);
      await mine();
      await catchUp(indexer);

      const funded = (await eventsOf(db, CHAIN_ID, payment.intent.paymentId)).filter((event) => event.kind === "deposit_address_funded");
      expect(funded.map((event) => [getAddress(event.sender), event.amount])).to.deep.equal([[sender.address, five]]);
      expect(kindsOf(await keeper.tick())).to.deep.equal(["returnStray"]);
      await catchUp(indexer);
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(0n);
      expect(await tokenBalance(chain(), "USDT", sender.address)).to.equal(before + five);
    });

    it("stops watching an ended payment's deposit address once the chain is a day past its expiry, however recent its change by the clock", async function () {
      const { db } = store();
      const { payment, indexer, keeper } = await expiredUnpaid(chain(), db);
      // The indexer follows the chain to a day past the expiry; only then does a transfer arrive.
      await mineAt(payment.intent.expiry + LATE_FUNDS_WINDOW);
      await catchUp(indexer);
      const sender = await customer(4);
      const five = parseUnits("5", 18);
      await (await transferTo(chain(), "USDT", sender, payment.depositAddress, five)).wait();
      await mine(SETTINGS.confirmations.depth);
      await catchUp(indexer);

      // Not read, so not the keeper's: it stays at the deposit address, for the operator.
      expect(await keeper.tick()).to.deep.equal([]);
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(five);
      expect((await storedPayment(db, payment.intent.paymentId)).depositAddressFunded).to.equal(false);
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([["initiated", "expired", "time_elapsed"]]);
    });

    it("after a reorganisation replaces who sent a stray, returns it to the new sender, never to the old", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "20");
      await register(db, chain(), payment);
      const indexer = localIndexer(chain(), db);
      const keeper = localKeeper(chain(), db, 0);
      await mineAt(payment.intent.expiry + SETTINGS.lateCollectWindow + 1n);
      await catchUp(indexer);
      const [a, b] = [await customer(3), await customer(4)];
      const five = parseUnits("5", 18);
      const aBefore = await tokenBalance(chain(), "USDT", a.address);
      const bBefore = await tokenBalance(chain(), "USDT", b.address);

      // A's transfer is mined; the indexer reads it, the keeper sends its return, which waits in the pool.
      const fork = await snapshot();
      await (await transferTo(chain(), "USDT", a, payment.depositAddress, five)).wait();
      await catchUp(indexer);
      await hre.network.provider.send("evm_setAutomine", [false]);
      expect(kindsOf(await keeper.tick())).to.deep.equal(["returnStray"]);

      // A reorganisation: on the longer branch B sent the same amount in the same place (block and log), A nothing.
      const aTransferBlock = await headNumber();
      await revertTo(fork);
      await hre.network.provider.send("evm_setAutomine", [true]);
      const sent = await (await transferTo(chain(), "USDT", b, payment.depositAddress, five)).wait();
      expect(sent!.blockNumber).to.equal(aTransferBlock);
      await mine();
      await catchUp(indexer);

      // The return to A is no longer wanted: a no-op takes its nonce, and once that is final (as deep as the
      // indexer's confirmations) the stray goes to B.
      expect(await keeper.tick()).to.deep.equal([]);
      expect(await tokenBalance(chain(), "USDT", a.address)).to.equal(aBefore);
      await mine(SETTINGS.confirmations.depth - 2);
      await catchUp(indexer);
      expect(await keeper.tick()).to.deep.equal([]);
      await mine();
      await catchUp(indexer);
      expect(kindsOf(await keeper.tick())).to.deep.equal(["returnStray"]);
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(0n);
      expect(await tokenBalance(chain(), "USDT", b.address)).to.equal(bBefore + five);
      expect(await tokenBalance(chain(), "USDT", a.address)).to.equal(aBefore);
    });

    for (const token of ["USDT", "BNB"] as const) {
      it(`collects within the late-collect window ${token} that reached the deposit address before the expiry`, async function () {
        const { db } = store();
        const payment = await signedPayment(chain(), "30");
        await register(db, chain(), payment);
        await simulate(hre, { intent: payment.file, scenario: "full", token, via: "deposit-address" }, quiet);
        const units = await holding(chain(), token, payment.depositAddress);
        const merchantBefore = await merchantBalance(chain(), token);
        // The keeper was away until after the expiry.
        await mineAt(payment.intent.expiry + 60n);
        const indexer = localIndexer(chain(), db);
        await catchUp(indexer);

        expect(kindsOf(await localKeeper(chain(), db).tick())).to.deep.equal(["collect"]);
        await catchUp(indexer);
        const collected = await storedPayment(db, payment.intent.paymentId);
        expect(collected.status).to.equal("confirming");
        expect(collected.paidAmount).to.equal(units);
        expect(await holding(chain(), token, payment.depositAddress)).to.equal(0n);
        expect((await merchantBalance(chain(), token)) - merchantBefore).to.equal(units);
      });
    }

    it("does not collect a transfer that came after the expiry: returns it to its sender, and the payment expires on time as if nothing came", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "20");
      await register(db, chain(), payment);
      const indexer = localIndexer(chain(), db);
      const keeper = localKeeper(chain(), db);
      const sender = await customer(5);
      const five = parseUnits("5", 18);
      const before = await tokenBalance(chain(), "USDT", sender.address);
      const merchantBefore = await merchantBalance(chain(), "USDT");

      await mineAt(payment.intent.expiry + 1n);
      const expiryBlock = await headNumber();
      await (await transferTo(chain(), "USDT", sender, payment.depositAddress, five)).wait();
      await catchUp(indexer);
      // After the expiry it changes no status.
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("initiated");
      // Within the window (the operator could still collect): a stray, back to its sender.
      expect(kindsOf(await keeper.tick())).to.deep.equal(["returnStray"]);
      await catchUp(indexer);
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(0n);
      expect(await tokenBalance(chain(), "USDT", sender.address)).to.equal(before + five);
      expect(await merchantBalance(chain(), "USDT")).to.equal(merchantBefore);
      const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
      expect(await escrow.depositOf(payment.intent.paymentId, chain().record.tokens.USDT.address, payment.depositAddress)).to.equal(0n);
      expect((await storedPayment(db, payment.intent.paymentId)).paidAmount).to.equal(0n);

      // Nothing reached the deposit address by the expiry: expired as soon as the first block after it is confirmed,
      // not once the late-collect window is over.
      await mine(expiryBlock + SETTINGS.confirmations.depth - 2 - (await headNumber()));
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("initiated");
      await mine();
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("expired");
      // The return was announced when it was seen, before the payment expired.
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "initiated", "stray_returned"],
        ["initiated", "expired", "time_elapsed"],
      ]);
      expect(await keeper.tick()).to.deep.equal([]);
    });

    it("leaves on-time and late funds waiting together to the operator: one warning, the metric, then a stray once the window is over", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "20");
      await register(db, chain(), payment);
      const indexer = localIndexer(chain(), db);
      const { keeper, warnings, metric } = watchedKeeper(chain(), db);
      const sender = await customer(6);
      const [five, three] = [parseUnits("5", 18), parseUnits("3", 18)];
      const before = await tokenBalance(chain(), "USDT", sender.address);

      await (await transferTo(chain(), "USDT", sender, payment.depositAddress, five)).wait();
      await mineAt(payment.intent.expiry + 1n);
      await (await transferTo(chain(), "USDT", sender, payment.depositAddress, three)).wait();
      await catchUp(indexer);

      // Collect would take the late 3 with the 5, returnStray the 5 with the 3: the keeper does neither, twice.
      expect(await keeper.tick()).to.deep.equal([]);
      expect(await keeper.tick()).to.deep.equal([]);
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(five + three);
      const mixed = warnings.filter((line) => line.reason === "late_and_on_time");
      expect(mixed).to.have.length(1);
      expect(mixed[0]).to.include({ paymentId: payment.intent.paymentId, token: chain().record.tokens.USDT.address, amount: (five + three).toString() });
      expect(await metric("openpay_keeper_left_to_operator_total", "late_and_on_time")).to.equal(1);
      expect(await metric("openpay_keeper_left_to_operator", "late_and_on_time")).to.equal(1);
      // Funds it could take reached the deposit address by the expiry: the payment waits for the window, pending.
      await mine(SETTINGS.confirmations.depth);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("pending");

      // Nobody decided before the window closed: the payment expires once that is confirmed, and all of it is a
      // stray, back to its one sender.
      await mineAt(payment.intent.expiry + SETTINGS.lateCollectWindow + 1n);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("pending");
      await mine(SETTINGS.confirmations.depth - 1);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("expired");
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "pending", "deposit_address_funded"],
        ["pending", "expired", "time_elapsed"],
      ]);
      expect(kindsOf(await keeper.tick())).to.deep.equal(["returnStray"]);
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(0n);
      expect(await tokenBalance(chain(), "USDT", sender.address)).to.equal(before + five + three);
      expect(await metric("openpay_keeper_left_to_operator", "late_and_on_time")).to.equal(0);
      expect(await metric("openpay_keeper_left_to_operator_total", "late_and_on_time")).to.equal(1);
    });

    it("names a reverted collect that blocks its state, once, while the chain still asks for it", async function () {
      const { db } = store();
      const payment = await paidAtDepositAddress(chain(), db, "USDT");
      const units = await tokenBalance(chain(), "USDT", payment.depositAddress);
      await catchUp(localIndexer(chain(), db));
      const { keeper, warnings, metric } = watchedKeeper(chain(), db);

      // The collect waits in the pool; a pause mined before it in the same block makes it revert.
      await hre.network.provider.send("evm_setAutomine", [false]);
      expect(kindsOf(await keeper.tick())).to.deep.equal(["collect"]);
      const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
      await escrow.pause({ gasPrice: 1_000n * 10n ** 9n });
      await mine();
      await hre.network.provider.send("evm_setAutomine", [true]);
      await (await escrow.unpause()).wait();
      // The revert is final once as deep as the indexer's confirmations.
      await mine(SETTINGS.confirmations.depth - 2);

      // The same deposit waits, in the same state: the keeper never sends that collect again.
      expect(await keeper.tick()).to.deep.equal([]);
      expect(await keeper.tick()).to.deep.equal([]);
      expect((await actions(db)).map((row) => [row.action, row.status])).to.deep.equal([["collect", "failed"]]);
      expect(await tokenBalance(chain(), "USDT", payment.depositAddress)).to.equal(units);
      const reverted = warnings.filter((line) => line.reason === "transaction_reverted");
      expect(reverted).to.have.length(1);
      expect(reverted[0]).to.include({ paymentId: payment.intent.paymentId, token: chain().record.tokens.USDT.address, amount: units.toString() });
      expect(await metric("openpay_keeper_left_to_operator_total", "transaction_reverted")).to.equal(1);
      expect(await metric("openpay_keeper_left_to_operator", "transaction_reverted")).to.equal(1);
    });

    it("takes BNB that came after a collect within the window for late, even of the same amount: left to the operator, the payment expired", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "50");
      await register(db, chain(), payment);
      await simulate(hre, { intent: payment.file, scenario: "partial", token: "BNB", via: "deposit-address" }, quiet);
      const part = await holding(chain(), "BNB", payment.depositAddress);
      await mineAt(payment.intent.expiry + 60n);
      const indexer = localIndexer(chain(), db);
      await catchUp(indexer);
      const { keeper, warnings, metric } = watchedKeeper(chain(), db);
      expect(kindsOf(await keeper.tick())).to.deep.equal(["collect"]);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).paidAmount).to.equal(part);

      // The same amount again, after the expiry: what the address held at the expiry left it since, so this is late.
      await (await (await customer(7)).sendTransaction({ to: payment.depositAddress, value: part })).wait();
      await catchUp(indexer);
      expect(kindsOf(await keeper.tick())).to.deep.equal(["expire"]);
      await catchUp(indexer);
      await mine(SETTINGS.confirmations.depth - 1);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("expired");
      expect((await storedPayment(db, payment.intent.paymentId)).paidAmount).to.equal(part);
      expect(await holding(chain(), "BNB", payment.depositAddress)).to.equal(part);
      // No refund address, and BNB names no sender: both the stray and the collected part wait for the operator.
      expect(await keeper.tick()).to.deep.equal([]);
      const left = warnings.filter((line) => line.reason === "bnb_without_refund_address");
      expect(left.map((line) => [line.token, line.amount])).to.deep.equal([
        [zeroAddress, part.toString()],
        [zeroAddress, part.toString()],
      ]);
      expect(await metric("openpay_keeper_left_to_operator", "bnb_without_refund_address")).to.equal(2);
    });
  });
});
