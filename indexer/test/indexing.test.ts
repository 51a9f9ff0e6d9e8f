import { expect } from "chai";
import hre from "hardhat";
import { simulate } from "../../scripts/operator/simulate";
import { expire } from "../../scripts/operator/expire";
import { confirmationsOf } from "../src/payments/confirmations";
import { DeepReorgError } from "../src/indexing/reorg";
import { readCheckpoint } from "../src/store/checkpointStore";
import { describeEachStore } from "./support/stores";
import {
  CHAIN_ID,
  catchUp,
  latestTimestamp,
  localIndexer,
  mine,
  mineAt,
  register,
  revertTo,
  signedPayment,
  snapshot,
  useLocalChain,
} from "./support/localChain";
import { historyOf, merchantBalances, outboxTypes, storedPayment } from "./support/paymentRecords";

const quiet = () => undefined;
const USD = (amount: string) => hre.ethers.parseUnits(amount, 18);

describe("indexer: contract events become payment statuses", function () {
  const chain = useLocalChain();

  describeEachStore("paying", (store) => {
    it("full: initiated → confirming, counting confirmations from the completing block → paid at 12", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "25");
      await register(db, chain(), payment);
      await simulate(hre, { intent: payment.file, scenario: "full", token: "USDT" }, quiet);
      const indexer = localIndexer(chain(), db);
      await catchUp(indexer);
      const confirming = await storedPayment(db, payment.intent.paymentId);
      const checkpoint = await readCheckpoint(db, CHAIN_ID);
      expect(confirming.status).to.equal("confirming");
      expect(confirmationsOf(confirming.completedBlock!, checkpoint!.blockNumber)).to.equal(1);

      await mine(10);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("confirming");
      expect(confirmationsOf(confirming.completedBlock!, (await readCheckpoint(db, CHAIN_ID))!.blockNumber)).to.equal(11);

      await mine(1);
      await catchUp(indexer);
      const paid = await storedPayment(db, payment.intent.paymentId);
      expect(paid).to.include({ status: "paid", previousStatus: "confirming" });
      expect(confirmationsOf(paid.completedBlock!, (await readCheckpoint(db, CHAIN_ID))!.blockNumber)).to.equal(12);
      expect(paid.receivedUsd).to.equal(USD("25"));
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "confirming", "full_value_received"],
        ["confirming", "paid", "confirmed"],
      ]);
      expect(await outboxTypes(db, payment.intent.paymentId)).to.deep.equal(["payment.confirming", "payment.paid"]);
    });

    it("partial, partial again, then a top-up: pending with the remainder, each deposit announced, then confirming", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "40");
      await register(db, chain(), payment);
      await simulate(hre, { intent: payment.file, scenario: "partial", token: "USDC" }, quiet);
      const indexer = localIndexer(chain(), db);
      await catchUp(indexer);
      const pending = await storedPayment(db, payment.intent.paymentId);
      expect(pending.status).to.equal("pending");
      expect(pending.remainingUsd > 0n && pending.remainingUsd < USD("40")).to.equal(true);

      // A second partial deposit: the status stays pending, the merchant still hears of it (payment.underpaid).
      await simulate(hre, { intent: payment.file, scenario: "partial", token: "USDC" }, quiet);
      await catchUp(indexer);
      const second = await storedPayment(db, payment.intent.paymentId);
      expect(second.status).to.equal("pending");
      expect(second.remainingUsd > 0n && second.remainingUsd < pending.remainingUsd).to.equal(true);

      await simulate(hre, { intent: payment.file, scenario: "full", token: "USDC" }, quiet);
      await catchUp(indexer);
      const topped = await storedPayment(db, payment.intent.paymentId);
      expect(topped.status).to.equal("confirming");
      expect(topped.remainingUsd).to.equal(0n);
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "pending", "deposit"],
        ["pending", "pending", "deposit"],
        ["pending", "confirming", "full_value_received"],
      ]);
      expect(await outboxTypes(db, payment.intent.paymentId)).to.deep.equal(["payment.pending", "payment.pending", "payment.confirming"]);
    });

    it("over: the excess is recorded, in BNB", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "300");
      await register(db, chain(), payment);
      await simulate(hre, { intent: payment.file, scenario: "over", token: "BNB" }, quiet);
      await catchUp(localIndexer(chain(), db));
      const over = await storedPayment(db, payment.intent.paymentId);
      expect(over.status).to.equal("confirming");
      expect(over.excessUsd).to.equal(USD("150"));
      expect(over.token).to.equal("0x0000000000000000000000000000000000000000");
    });

    it("expired with a refund: pending, then expired by the escrow once its block is confirmed, its deposit returned", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "80");
      await register(db, chain(), payment);
      await simulate(hre, { intent: payment.file, scenario: "partial", token: "USDT" }, quiet);
      const indexer = localIndexer(chain(), db);
      await catchUp(indexer);
      await mineAt(payment.intent.expiry + 1n);
      await catchUp(indexer);
      // Time alone does not expire a payment holding deposits: the escrow must refund them.
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("pending");

      await expire(hre, { intent: payment.file }, quiet);
      await catchUp(indexer);
      // On chain, but a reorganisation could still take it back: the merchant hears of it at 12 confirmations.
      const expiring = await storedPayment(db, payment.intent.paymentId);
      expect(expiring).to.include({ status: "pending" });
      expect(expiring.expiredBlock).to.be.a("number");
      await mine(10);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("pending");
      await mine(1);
      await catchUp(indexer);
      const expired = await storedPayment(db, payment.intent.paymentId);
      expect(expired.status).to.equal("expired");
      expect(expired.depositsReturned).to.equal(expired.paidAmount);
      expect(expired.refunds.map((refund) => [refund.kind, refund.amount])).to.deep.equal([["expiry", expired.paidAmount]]);
      // The refund is announced when it is seen; the expiry once its block is confirmed.
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "pending", "deposit"],
        ["pending", "pending", "deposit_refunded"],
        ["pending", "expired", "expired_on_chain"],
      ]);
    });

    it("a late deposit: expired on time (nothing received, nothing at its deposit address), the late transfer changes nothing", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "10");
      await register(db, chain(), payment);
      const indexer = localIndexer(chain(), db);
      // The first block after the expiry must be confirmed: until then a deposit in time could still appear.
      await mineAt(payment.intent.expiry + 1n);
      await mine(10);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("initiated");
      await mine(1);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("expired");

      const late = await simulate(hre, { intent: payment.file, scenario: "late", token: "USDT", via: "deposit-address" }, quiet);
      expect(late.transaction).to.not.equal(undefined);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("expired");
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([["initiated", "expired", "time_elapsed"]]);
    });

    it("a payment registered after it was paid takes the chain's events at once, and is settled paid at the next block", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "25");
      await simulate(hre, { intent: payment.file, scenario: "full", token: "USDT" }, quiet);
      await mine(12);
      const indexer = localIndexer(chain(), db);
      await catchUp(indexer);
      await register(db, chain(), payment);
      expect(await storedPayment(db, payment.intent.paymentId)).to.include({ status: "confirming" });
      await mine(1);
      await catchUp(indexer);
      expect(await storedPayment(db, payment.intent.paymentId)).to.include({ status: "paid" });
    });

    it("never expires a payment completed before its expiry, however late the confirmations", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "25", 60n);
      await register(db, chain(), payment);
      await simulate(hre, { intent: payment.file, scenario: "full", token: "USDT" }, quiet);
      const indexer = localIndexer(chain(), db);
      await catchUp(indexer);
      await mineAt(payment.intent.expiry + 3_600n);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("confirming");
      await mine(11);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("paid");
    });
  });

  describeEachStore("reorganisations", (store) => {
    it("takes a confirming payment back when its deposit leaves the chain, and tells the merchant; the merchant's balance rolls back with it", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "25");
      await register(db, chain(), payment);
      const indexer = localIndexer(chain(), db);
      await catchUp(indexer);
      const before = await merchantBalances(db, chain(), "USDT");
      expect(before.indexed).to.equal(before.onChain);
      const fork = await snapshot();
      await simulate(hre, { intent: payment.file, scenario: "full", token: "USDT" }, quiet);
      // The merchant withdraws half of it on this branch.
      const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
      const merchant = await hre.ethers.getSigner(chain().record.demoMerchant!.merchant);
      const credited = (await escrow.balanceOf(merchant.address, chain().record.tokens.USDT.address)) - before.onChain;
      await (await escrow.connect(merchant).withdraw(chain().record.tokens.USDT.address, credited / 2n)).wait();
      await mine(3);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("confirming");
      const onBranch = await merchantBalances(db, chain(), "USDT");
      expect(onBranch.indexed).to.equal(onBranch.onChain);
      expect(onBranch.indexed).to.equal(before.onChain + credited - credited / 2n);

      // Another branch, longer than the one the indexer saw, without the payment.
      await revertTo(fork);
      await mine(8);
      await catchUp(indexer);
      const back = await storedPayment(db, payment.intent.paymentId);
      expect(back).to.include({ status: "initiated", previousStatus: "confirming", completedBlock: null });
      expect(back.receivedUsd).to.equal(0n);
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([
        ["initiated", "confirming", "full_value_received"],
        ["confirming", "initiated", "chain_reorganised"],
      ]);
      expect(await outboxTypes(db, payment.intent.paymentId)).to.deep.equal(["payment.confirming", "payment.initiated"]);
      const rolledBack = await merchantBalances(db, chain(), "USDT");
      expect(rolledBack).to.deep.equal({ indexed: before.onChain, onChain: before.onChain });
      expect(await db.selectFrom("merchant_ledger").select("kind").where("kind", "=", "withdrawn").execute()).to.deep.equal([]);

      // Paid again on the new branch, it confirms as usual.
      await simulate(hre, { intent: payment.file, scenario: "full", token: "USDT" }, quiet);
      await mine(11);
      await catchUp(indexer);
      expect((await storedPayment(db, payment.intent.paymentId)).status).to.equal("paid");
      const paidAgain = await merchantBalances(db, chain(), "USDT");
      expect(paidAgain).to.deep.equal({ indexed: before.onChain + credited, onChain: before.onChain + credited });
    });

    it("reads again a segment read ahead from a branch replaced before it was applied: the new branch is what is applied", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "25");
      await register(db, chain(), payment);
      const reorganised: number[] = [];
      // Four blocks a segment, never more: each catch-up step commits one and reads the next ahead meanwhile.
      const indexer = localIndexer(chain(), db, { range: { initial: 4, max: 4, fastMs: 0 }, observer: { reorganised: (depth) => reorganised.push(depth) } });
      await catchUp(indexer);
      const from = (await readCheckpoint(db, CHAIN_ID))!.blockNumber;
      await mine(4);
      const fork = await snapshot();
      await simulate(hre, { intent: payment.file, scenario: "full", token: "USDT" }, quiet);
      await mine(30);
      expect(await indexer.step()).to.equal("backfilled");
      expect((await readCheckpoint(db, CHAIN_ID))!.blockNumber).to.equal(from + 4);
      // The next four blocks, with the payment, were read ahead from this branch; then the chain replaces them.
      const ahead = indexer["prefetched"];
      expect(ahead).to.include({ from: from + 5, to: from + 8 });
      await ahead!.read;
      await revertTo(fork);
      await mineAt((await latestTimestamp()) + 7n);
      await mine(30);

      await catchUp(indexer);
      // Checked against the chain before it was applied, found replaced and read again: never applied, nothing rolled back.
      expect(reorganised).to.deep.equal([]);
      expect(await storedPayment(db, payment.intent.paymentId)).to.include({ status: "initiated", completedBlock: null });
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([]);
      expect((await readCheckpoint(db, CHAIN_ID))!.blockHash).to.equal((await hre.ethers.provider.getBlock("latest"))!.hash);
    });

    it("judges BNB in a segment read ahead by the payments as the last commit left them: an arrival is recorded once, not again in the next segment", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "50");
      await register(db, chain(), payment);
      // Four blocks a segment: the next is read ahead (for the payments watched then) while the one with the BNB commits.
      const indexer = localIndexer(chain(), db, { range: { initial: 4, max: 4, fastMs: 0 } });
      await catchUp(indexer);
      await simulate(hre, { intent: payment.file, scenario: "partial", token: "BNB", via: "deposit-address" }, quiet);
      await mine(30);
      await catchUp(indexer);
      const pending = await storedPayment(db, payment.intent.paymentId);
      expect(pending.status).to.equal("pending");
      expect(await historyOf(db, payment.intent.paymentId)).to.deep.equal([["initiated", "pending", "deposit_address_funded"]]);
      expect(await outboxTypes(db, payment.intent.paymentId)).to.deep.equal(["payment.pending"]);
      // What waits at the deposit address is counted once: a second count would take it for twice the BNB.
      const waiting = await hre.ethers.provider.getBalance(payment.depositAddress);
      expect(waiting).to.be.greaterThan(0n);
      expect(pending.nativeWaiting).to.equal(waiting);
    });

    it("stops loudly at a reorganisation deeper than the confirmation depth", async function () {
      const { db } = store();
      const indexer = localIndexer(chain(), db);
      await catchUp(indexer);
      const fork = await snapshot();
      await mine(20);
      await catchUp(indexer);
      await revertTo(fork);
      // Empty blocks at the same times would hash the same: the other branch starts at another time.
      await mineAt((await latestTimestamp()) + 7n);
      await mine(24);
      let stopped: unknown;
      try {
        await catchUp(indexer);
      } catch (error) {
        stopped = error;
      }
      expect(stopped).to.be.instanceOf(DeepReorgError);
      expect((stopped as Error).message).to.match(/beyond the confirmation depth of 12/);
    });
  });
});
