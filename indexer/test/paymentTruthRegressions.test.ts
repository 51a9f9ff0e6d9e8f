import { expect } from "chai";
import hre from "hardhat";
import { parseUnits, zeroAddress, type Hex } from "viem";
import { simulate } from "../../scripts/operator/simulate";
import { createProviderPool } from "../src/chain/providerPool";
import type { ProviderFaultKind } from "../src/chain/providerFault";
import type { IndexerObserver } from "../src/indexing/indexer";
import { recordOffChainEvent } from "../src/ledger/offChainEvents";
import { readEscrowPayments } from "../src/chain/escrowReadings";
import { FaultyRpcProxy } from "./support/faultyRpcProxy";
import { setAutomine } from "./support/manualMining";
import {
  CHAIN_ID,
  catchUp,
  latestTimestamp,
  localIndexer,
  mine,
  mineAt,
  register,
  revertTo,
  SETTINGS,
  signedPayment,
  snapshot,
  useLocalChain,
} from "./support/localChain";
import { historyOf, outboxTypes, storedPayment, waitingAnnouncements } from "./support/paymentRecords";
import { describeEachStore } from "./support/stores";

const quiet = () => undefined;
const USD = (amount: string) => parseUnits(amount, 18);
const DEPTH = SETTINGS.confirmations.depth;

/** Another branch from the snapshot `fork`: it starts at another time (so its blocks hash differently), `blocks` long. */
async function reorganise(fork: string, blocks: number) {
  await revertTo(fork);
  await mineAt((await latestTimestamp()) + 7n);
  await mine(blocks - 1);
}

/** What the escrow itself records of a payment now. */
async function onChain(chainUrl: string, escrow: Hex, id: Hex) {
  const pool = createProviderPool([chainUrl]);
  const block = await pool.current.getBlock({ blockTag: "latest" });
  return (await readEscrowPayments(pool.current, escrow, [id], { blockHash: block.hash }))[0];
}

/** Counts what the indexer reports of its providers. */
function faultCounter() {
  const faults: ProviderFaultKind[] = [];
  const observer: IndexerObserver = { providerFault: (kind) => faults.push(kind) };
  return { faults, observer };
}

/**
 * The five ways issue 13 found the statuses wrong, each reproduced as it was found (against the real indexer on
 * Hardhat's chain, on PGlite and PostgreSQL), and each now held.
 */
describe("payment truth: the failures issue 13 reproduced", function () {
  const chain = useLocalChain();

  describeEachStore("regressions", (store) => {
    it("paid without the money: an indexer more than CONFIRMATIONS behind checks its checkpoint before catching up, and a pay() a reorganisation removed is never paid", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "25");
      await register(db, chain(), payment);
      await catchUp(localIndexer(chain(), db));
      const fork = await snapshot();
      await simulate(hre, { intent: payment.file, scenario: "full", token: "USDT" }, quiet);
      await mine(2);
      await catchUp(localIndexer(chain(), db));
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("confirming");

      // The indexer stops (a restart, an RPC outage); meanwhile a reorganisation takes the pay() away and the chain
      // moves more than CONFIRMATIONS blocks on. A new process catches up by ranges from its checkpoint.
      await reorganise(fork, DEPTH + 8);
      await catchUp(localIndexer(chain(), db));
      const back = await storedPayment(db, payment.intent.paymentId);
      expect(back).to.include({ status: "initiated", previousStatus: "confirming", completedBlock: null });
      expect(back.receivedUsd).to.equal(0n);
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "confirming", "full_value_received"],
        ["confirming", "initiated", "chain_reorganised"],
      ]);

      // However long it runs on, the buyer still holds the tokens and the escrow knows no such payment: never paid.
      await mine(DEPTH + 2);
      await catchUp(localIndexer(chain(), db));
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("initiated");
      expect(await outboxTypes(db, payment.intent.paymentId)).to.not.include("payment.paid");
      expect((await onChain(chain().url, chain().record.escrow, payment.intent.paymentId)).status).to.equal("none");
    });

    it("expired although paid: an empty eth_getLogs answer for a block whose bloom names the escrow is never believed, by block hash or by range", async function () {
      const { db } = store();
      const followed = await signedPayment(chain(), "25", 120n);
      const caughtUp = await signedPayment(chain(), "40", 120n);
      await register(db, chain(), followed);
      await register(db, chain(), caughtUp);
      const proxy = await FaultyRpcProxy.start({ upstream: chain().url });
      try {
        const counter = faultCounter();
        const indexer = localIndexer(chain(), db, { rpc: createProviderPool([proxy.url]), observer: counter.observer });
        await catchUp(indexer);

        // Following the head: the provider's log index lags its headers, so the pay()'s block comes back empty by hash twice.
        proxy.configure({ lies: [{ lie: { kind: "empty-logs" }, queries: "blockHash", when: { next: 2 } }] });
        await simulate(hre, { intent: followed.file, scenario: "full", token: "USDT" }, quiet);
        await catchUp(indexer);
        expect((await storedPayment(db, followed.intent.paymentId)).status).to.equal("confirming");
        expect(proxy.stats.emptiedLogQueries).to.equal(2);

        // Catching up: the same lie for a range that holds the other payment.
        proxy.configure({ lies: [{ lie: { kind: "empty-logs" }, queries: "range", when: { next: 2 } }] });
        await simulate(hre, { intent: caughtUp.file, scenario: "full", token: "USDC" }, quiet);
        await mine(DEPTH + 3);
        await catchUp(indexer);
        expect(proxy.stats.emptiedLogQueries).to.equal(4);
        expect(counter.faults.filter((kind) => kind === "missing_logs").length).to.be.at.least(4);

        // Past both expiries and the late-collect window: both paid, neither ever expired.
        await mineAt(followed.intent.expiry + SETTINGS.lateCollectWindow + 10n);
        await mine(DEPTH);
        await catchUp(indexer);
        for (const payment of [followed, caughtUp]) {
          expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("paid");
          expect(await outboxTypes(db, payment.intent.paymentId)).to.deep.equal(["payment.confirming", "payment.paid"]);
        }
      } finally {
        await proxy.close();
      }
    });

    it("expired although paid: a block's logs answered in part (one payment's or one deposit address's kept, another's left out) are never believed", async function () {
      const { db } = store();
      const payments = await Promise.all(["11", "12", "13", "14"].map((usd) => signedPayment(chain(), usd, 600n)));
      for (const payment of payments) await register(db, chain(), payment);
      const [viaAddress, alsoViaAddress, paid, alsoPaid] = payments;
      const proxy = await FaultyRpcProxy.start({ upstream: chain().url, seed: 3 });
      try {
        const counter = faultCounter();
        const indexer = localIndexer(chain(), db, { rpc: createProviderPool([proxy.url]), observer: counter.observer });
        await catchUp(indexer);
        const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
        const usdt = await hre.ethers.getContractAt("TestToken", chain().record.tokens.USDT.address);
        const [buyer] = await hre.ethers.getSigners();
        await (await usdt.mint(buyer.address, USD("100"))).wait();
        await (await usdt.approve(chain().record.escrow, USD("100"))).wait();

        // One block with a transfer into each of two deposit addresses, then one with two payments in full; the
        // provider answers each block's logs by hash with one of its two logs.
        await setAutomine(false);
        for (const payment of [viaAddress, alsoViaAddress]) {
          const { depositAddress } = await storedPayment(db, payment.intent.paymentId);
          await usdt.transfer(depositAddress, USD("5"));
        }
        await mine(1);
        await setAutomine(true);
        proxy.configure({ lies: [{ lie: { kind: "subset-logs" }, queries: "blockHash", when: { next: 1 } }] });
        await catchUp(indexer);
        await setAutomine(false);
        await escrow.pay(paid.intent, paid.signature, chain().record.tokens.USDT.address, USD("13"), zeroAddress);
        await escrow.pay(alsoPaid.intent, alsoPaid.signature, chain().record.tokens.USDT.address, USD("14"), zeroAddress);
        await mine(1);
        await setAutomine(true);
        proxy.configure({ lies: [{ lie: { kind: "subset-logs" }, queries: "blockHash", when: { next: 1 } }] });
        await catchUp(indexer);

        expect(proxy.stats.subsetLogQueries).to.equal(2);
        expect(counter.faults.filter((kind) => kind === "missing_logs").length).to.equal(2);
        // Each payment announced as a node that told the whole truth would have it: nothing late, nothing lost.
        for (const payment of [viaAddress, alsoViaAddress]) {
          expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([["initiated", "pending", "deposit_address_funded"]]);
        }
        for (const payment of [paid, alsoPaid]) {
          expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([["initiated", "confirming", "full_value_received"]]);
        }
      } finally {
        await setAutomine(true);
        await proxy.close();
      }
    });

    it("a one-block reorg stops the whole chain: a payment whose refund request was recorded is rebuilt without throwing, and every other payment moves on", async function () {
      const { db } = store();
      const refunded = await signedPayment(chain(), "50");
      const other = await signedPayment(chain(), "20");
      await register(db, chain(), refunded);
      await register(db, chain(), other);
      const indexer = localIndexer(chain(), db);
      await simulate(hre, { intent: refunded.file, scenario: "full", token: "USDT" }, quiet);
      await mine(DEPTH);
      await catchUp(indexer);
      expect((await storedPayment(db, refunded.intent.paymentId)).status).to.equal("paid");

      // The merchant asks for a refund through the API, then sends it: partially refunded.
      await recordOffChainEvent(db, CHAIN_ID, SETTINGS, refunded.intent.paymentId, { kind: "refund_requested", amount: USD("20") });
      const fork = await snapshot();
      const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
      const merchant = await hre.ethers.getSigner(refunded.intent.merchant);
      await (await escrow.connect(merchant).refund(refunded.intent.paymentId, merchant.address, USD("20"))).wait();
      await catchUp(indexer);
      expect((await storedPayment(db, refunded.intent.paymentId)).status).to.equal("partially_refunded");

      // A one-block reorganisation takes the refund's block; the other payment is paid on the new branch.
      await reorganise(fork, 2);
      await simulate(hre, { intent: other.file, scenario: "full", token: "USDC" }, quiet);
      await catchUp(indexer);
      const rebuilt = await storedPayment(db, refunded.intent.paymentId);
      // The request stands (it was made of a paid payment): refunding again, the money back to what the chain holds.
      expect(rebuilt).to.include({ status: "refunding" });
      expect(rebuilt.refundedAmount).to.equal(0n);
      expect(rebuilt.refundRequested).to.equal(USD("20"));
      expect((await historyOf(db, refunded.intent.paymentId)).at(-1)).to.deep.equal(["partially_refunded", "refunding", "chain_reorganised"]);
      await mine(DEPTH);
      await catchUp(indexer);
      expect((await storedPayment(db, other.intent.paymentId)).status).to.equal("paid");
    });

    it("a one-block reorg stops the whole chain: an off-chain event that no longer applies is recorded as superseded, never thrown", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "100");
      await register(db, chain(), payment);
      const indexer = localIndexer(chain(), db);
      await simulate(hre, { intent: payment.file, scenario: "full", token: "USDT" }, quiet);
      await mine(DEPTH);
      await catchUp(indexer);
      const fork = await snapshot();
      await mine(1);
      await catchUp(indexer);
      // Asked of the whole payment while nothing was refunded…
      await recordOffChainEvent(db, CHAIN_ID, SETTINGS, payment.intent.paymentId, { kind: "refund_requested", amount: USD("60") });

      // …but on the branch that wins, the merchant refunded 80 directly in that very block: 60 is more than is left.
      await revertTo(fork);
      const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
      const merchant = await hre.ethers.getSigner(payment.intent.merchant);
      await hre.network.provider.send("evm_setNextBlockTimestamp", [Number((await latestTimestamp()) + 9n)]);
      await (await escrow.connect(merchant).refund(payment.intent.paymentId, merchant.address, USD("80"))).wait();
      await mine(2);
      await catchUp(indexer);
      const rebuilt = await storedPayment(db, payment.intent.paymentId);
      expect(rebuilt).to.include({ status: "partially_refunded" });
      expect(rebuilt.refundedAmount).to.equal(USD("80"));
      expect(rebuilt.refundRequested).to.equal(0n);
      const superseded = await db
        .selectFrom("payment_events")
        .select(["kind", "superseded_reason"])
        .where("payment_id", "=", payment.intent.paymentId)
        .where("superseded_at", "is not", null)
        .execute();
      expect(superseded).to.deep.equal([{ kind: "refund_requested", superseded_reason: `a refund of ${USD("60")} exceeds the ${USD("20")} still refundable` }]);
      // It stays superseded: later rebuilds skip it.
      await mine(1);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("partially_refunded");
    });

    it("silent amount changes: a reorganisation that takes back a partial deposit, or a refund, is announced with the money as it now stands", async function () {
      const { db } = store();
      const underpaid = await signedPayment(chain(), "40");
      const refunded = await signedPayment(chain(), "100");
      await register(db, chain(), underpaid);
      await register(db, chain(), refunded);
      const indexer = localIndexer(chain(), db);
      await simulate(hre, { intent: underpaid.file, scenario: "partial", token: "USDT" }, quiet);
      await simulate(hre, { intent: refunded.file, scenario: "full", token: "USDT" }, quiet);
      await mine(DEPTH);
      await catchUp(indexer);
      const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
      const merchant = await hre.ethers.getSigner(refunded.intent.merchant);
      await (await escrow.connect(merchant).refund(refunded.intent.paymentId, merchant.address, USD("30"))).wait();
      await catchUp(indexer);
      const firstDeposit = (await storedPayment(db, underpaid.intent.paymentId)).receivedUsd;

      const fork = await snapshot();
      await simulate(hre, { intent: underpaid.file, scenario: "partial", token: "USDT" }, quiet);
      await (await escrow.connect(merchant).refund(refunded.intent.paymentId, merchant.address, USD("20"))).wait();
      await catchUp(indexer);
      expect((await storedPayment(db, underpaid.intent.paymentId)).receivedUsd > firstDeposit).to.equal(true);
      expect((await storedPayment(db, refunded.intent.paymentId)).refundedAmount).to.equal(USD("50"));

      // The branch that wins has neither the second deposit nor the second refund: the statuses stay, the money moves back.
      await reorganise(fork, 3);
      await catchUp(indexer);
      const stillUnderpaid = await storedPayment(db, underpaid.intent.paymentId);
      expect(stillUnderpaid).to.include({ status: "pending", sequence: 3 });
      expect(stillUnderpaid.receivedUsd).to.equal(firstDeposit);
      expect((await historyOf(db, underpaid.intent.paymentId)).at(-1)).to.deep.equal(["pending", "pending", "chain_reorganised"]);
      const stillRefunded = await storedPayment(db, refunded.intent.paymentId);
      expect(stillRefunded).to.include({ status: "partially_refunded" });
      expect(stillRefunded.refundedAmount).to.equal(USD("30"));
      expect((await historyOf(db, refunded.intent.paymentId)).at(-1)).to.deep.equal(["partially_refunded", "partially_refunded", "chain_reorganised"]);

      // Each announcement carries the money as it stands after it, under its own sequence number.
      const announced = (await waitingAnnouncements(db)).filter((row) => row.payment_id === underpaid.intent.paymentId);
      const last = announced.at(-1)!.data as { change: { sequence: number; reason: string }; payment: { receivedUsd: string } };
      expect(last.change).to.include({ sequence: 3, reason: "chain_reorganised" });
      expect(BigInt(last.payment.receivedUsd)).to.equal(firstDeposit);
    });

    it("unpaid payments expire an hour late: nothing received and nothing at the deposit address, expired as soon as a block after the expiry is confirmed", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "10", 60n);
      await register(db, chain(), payment);
      const indexer = localIndexer(chain(), db);
      await mineAt(payment.intent.expiry + 1n);
      await mine(DEPTH - 2);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("initiated");
      await mine(1);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("expired");
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([["initiated", "expired", "time_elapsed"]]);
      // Seconds after the expiry (12 blocks), not the hour of the escrow's late-collect window.
      expect(Number((await latestTimestamp()) - payment.intent.expiry)).to.be.below(Number(SETTINGS.lateCollectWindow) / 10);
    });

    it("unpaid payments expire an hour late: only a payment whose deposit address received funds by the expiry waits for the late-collect window", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "10", 60n);
      await register(db, chain(), payment);
      const indexer = localIndexer(chain(), db);
      // The customer's transfer reaches the deposit address in time; nobody collects it.
      await simulate(hre, { intent: payment.file, scenario: "partial", token: "USDT", via: "deposit-address" }, quiet);
      await mineAt(payment.intent.expiry + 1n);
      await mine(DEPTH);
      await catchUp(indexer);
      const waiting = await storedPayment(db, payment.intent.paymentId);
      expect(waiting).to.include({ status: "pending", fundedByExpiry: true });
      await mineAt(payment.intent.expiry + SETTINGS.lateCollectWindow + 1n);
      await mine(DEPTH - 1);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("expired");
    });
  });
});
