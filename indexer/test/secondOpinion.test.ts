import { expect } from "chai";
import hre from "hardhat";
import { parseUnits, zeroAddress, type Hex } from "viem";
import { createProviderPool } from "../src/chain/providerPool";
import { commitBatch } from "../src/indexing/commitBatch";
import type { IndexerObserver } from "../src/indexing/indexer";
import type { PaymentLog } from "../src/indexing/escrowLogs";
import { NATIVE_ARRIVAL_LOG_INDEX } from "../src/payments/paymentEvents";
import type { OnChainEvidence } from "../src/payments/settlement";
import { FaultyRpcProxy } from "./support/faultyRpcProxy";
import { setAutomine } from "./support/manualMining";
import { CHAIN_ID, catchUp, localIndexer, mine, register, SETTINGS, signedPayment, useLocalChain } from "./support/localChain";
import { historyOf, merchantBalances, outboxTypes, storedPayment } from "./support/paymentRecords";
import { describeEachStore } from "./support/stores";

const USD = (amount: string) => parseUnits(amount, 18);
const TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
const TX = `0x${"ab".repeat(32)}` as Hex;

/** A block at `number` of the batches these tests commit by hand. */
const head = (number: number) => ({
  number,
  hash: `0x${number.toString(16).padStart(64, "0")}` as Hex,
  parentHash: "0x" as Hex,
  timestamp: 1_000n + BigInt(number),
});

/** A completion of 25 USD in block 100, as some provider told it. */
const completion25 = (id: Hex, logIndex: number): PaymentLog => ({
  paymentId: id,
  blockHash: head(100).hash,
  event: {
    kind: "completed",
    position: { blockNumber: 100, logIndex },
    transactionHash: TX,
    payer: zeroAddress,
    token: TOKEN,
    amount: USD("25"),
    valueUsd: USD("25"),
    receivedUsd: USD("25"),
    excessUsd: 0n,
    fee: 0n,
  },
});

/**
 * The escrow's own record is asked before a merchant is told paid or expired: the indexer derives payments from logs,
 * and a provider can lose or invent logs in ways no header can show (a subset of a block's logs passes its bloom).
 */
describe("a second opinion before money words: the escrow's record at the confirmed block", function () {
  const chain = useLocalChain();

  describeEachStore("settlement", (store) => {
    it("withholds paid while the escrow's record disagrees with the logs, and settles once it agrees", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "25");
      await register(db, chain(), payment);
      const id = payment.intent.paymentId;
      // A completion of 25 USD in block 100, as some provider told it.
      const completed = completion25(id, 0);
      const base = { keep: [], evidence: new Map<string, OnChainEvidence>() };
      await commitBatch(db, CHAIN_ID, SETTINGS, {
        ...base,
        logs: [completed],
        head: head(100),
        from: 100,
        confirmedAt: () => ({ number: 89, timestamp: 1_089n }),
      });
      expect((await storedPayment(db, id)).status).to.equal("confirming");

      // Confirmed, but the escrow says it never saw the payment: not paid, the disagreement reported.
      const never: OnChainEvidence = { escrow: { status: "none", token: zeroAddress, amount: 0n, receivedUsd: 0n, refunded: 0n } };
      const refused = await commitBatch(db, CHAIN_ID, SETTINGS, {
        ...base,
        logs: [],
        head: head(111),
        from: 111,
        confirmedAt: () => ({ number: 100, timestamp: 1_100n }),
        evidence: new Map([[id, never]]),
      });
      expect(refused.disagreements).to.deep.equal([{ paymentId: id, to: "paid", reason: "the escrow says none, not completed" }]);
      expect((await storedPayment(db, id)).status).to.equal("confirming");
      // No evidence read at all: it waits, too. Nothing could settle, so the batch does not even look for what is due
      // (no payment of it was counted as waiting for evidence).
      const unread = await commitBatch(db, CHAIN_ID, SETTINGS, {
        ...base,
        logs: [],
        head: head(112),
        from: 112,
        confirmedAt: () => ({ number: 101, timestamp: 1_101n }),
      });
      expect(unread.unverified).to.equal(0);
      expect((await storedPayment(db, id)).status).to.equal("confirming");
      expect(await outboxTypes(db, id)).to.deep.equal(["payment.confirming"]);

      // The escrow completed it with the same token, units and USD: paid, once.
      const agrees: OnChainEvidence = { escrow: { status: "completed", token: TOKEN, amount: USD("25"), receivedUsd: USD("25"), refunded: 0n } };
      const settled = await commitBatch(db, CHAIN_ID, SETTINGS, {
        ...base,
        logs: [],
        head: head(113),
        from: 113,
        confirmedAt: () => ({ number: 102, timestamp: 1_102n }),
        evidence: new Map([[id, agrees]]),
      });
      expect(settled.disagreements).to.deep.equal([]);
      expect((await storedPayment(db, id)).status).to.equal("paid");
      expect(await historyOf(db, id)).to.deep.equal([
        ["initiated", "confirming", "full_value_received"],
        ["confirming", "paid", "confirmed"],
      ]);
      // The settlement is recorded where it was made, for rebuilds after a reorganisation.
      const recorded = await db
        .selectFrom("payment_events")
        .select(["kind", "recorded_block"])
        .where("payment_id", "=", id)
        .where("kind", "=", "settled")
        .execute();
      expect(recorded.map((row) => [row.kind, Number(row.recorded_block)])).to.deep.equal([["settled", 113]]);
    });

    it("settles only payments whose record was read: another payment due in the same batch waits, unread and unlocked", async function () {
      const { db } = store();
      const [first, second] = [await signedPayment(chain(), "25"), await signedPayment(chain(), "25")];
      await register(db, chain(), first);
      await register(db, chain(), second);
      await commitBatch(db, CHAIN_ID, SETTINGS, {
        logs: [completion25(first.intent.paymentId, 0), completion25(second.intent.paymentId, 1)],
        head: head(100),
        from: 100,
        keep: [],
        confirmedAt: () => ({ number: 89, timestamp: 1_089n }),
        evidence: new Map(),
      });
      // Both are due at block 100; the escrow's record was read for the first only.
      const agrees: OnChainEvidence = { escrow: { status: "completed", token: TOKEN, amount: USD("25"), receivedUsd: USD("25"), refunded: 0n } };
      const result = await commitBatch(db, CHAIN_ID, SETTINGS, {
        logs: [],
        head: head(111),
        from: 111,
        keep: [],
        confirmedAt: () => ({ number: 100, timestamp: 1_100n }),
        evidence: new Map([[first.intent.paymentId, agrees]]),
      });
      expect(result.changes.map((change) => [change.paymentId, change.to])).to.deep.equal([[first.intent.paymentId, "paid"]]);
      expect((await storedPayment(db, second.intent.paymentId)).status).to.equal("confirming");
      expect(await outboxTypes(db, second.intent.paymentId)).to.deep.equal(["payment.confirming"]);
      // Its record read in a later batch: paid then, once.
      await commitBatch(db, CHAIN_ID, SETTINGS, {
        logs: [],
        head: head(112),
        from: 112,
        keep: [],
        confirmedAt: () => ({ number: 101, timestamp: 1_101n }),
        evidence: new Map([[second.intent.paymentId, agrees]]),
      });
      expect(await outboxTypes(db, second.intent.paymentId)).to.deep.equal(["payment.confirming", "payment.paid"]);
      expect(await outboxTypes(db, first.intent.paymentId)).to.deep.equal(["payment.confirming", "payment.paid"]);
    });

    it("withholds expired while the deposit address held funds at the expiry that no log shows", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "10", 60n);
      await register(db, chain(), payment);
      const id = payment.intent.paymentId;
      const after = payment.intent.expiry + 5n;
      const head = { number: 500, hash: `0x${"50".repeat(32)}` as Hex, parentHash: "0x" as Hex, timestamp: after + 20n };
      const none = { status: "none" as const, token: zeroAddress, amount: 0n, receivedUsd: 0n, refunded: 0n };
      const held: OnChainEvidence = { escrow: none, depositAddressAtExpiry: [{ token: zeroAddress, amount: 7n }] };
      const refused = await commitBatch(db, CHAIN_ID, SETTINGS, {
        logs: [],
        head,
        keep: [],
        from: head.number,
        confirmedAt: () => ({ number: 489, timestamp: after }),
        evidence: new Map([[id, held]]),
      });
      expect(refused.disagreements.map((d) => d.reason)).to.deep.equal([
        `the deposit address held 7 of ${zeroAddress} at the expiry, which the logs do not show`,
      ]);
      expect((await storedPayment(db, id)).status).to.equal("initiated");

      // The BNB found at the expiry is an arrival in time: the payment now waits for the late-collect window.
      const arrival: PaymentLog = {
        paymentId: id,
        blockHash: head.hash,
        event: {
          kind: "deposit_address_funded",
          position: { blockNumber: 480, logIndex: NATIVE_ARRIVAL_LOG_INDEX },
          transactionHash: null,
          token: zeroAddress,
          amount: 7n,
          sender: zeroAddress,
          timestamp: payment.intent.expiry,
        },
      };
      const empty: OnChainEvidence = { escrow: none, depositAddressAtExpiry: [{ token: zeroAddress, amount: 0n }] };
      await commitBatch(db, CHAIN_ID, SETTINGS, {
        logs: [arrival],
        head: { ...head, number: 501 },
        keep: [],
        from: 501,
        confirmedAt: () => ({ number: 490, timestamp: after + 1n }),
        evidence: new Map([[id, empty]]),
      });
      expect(await storedPayment(db, id)).to.include({ status: "pending", fundedByExpiry: true });
    });

    it("a provider that leaves out one of a block's logs (its bloom still matches) is caught by the re-read or the escrow's record: paid, with the right amounts", async function () {
      const { db } = store();
      const payment = await signedPayment(chain(), "30");
      await register(db, chain(), payment);
      const proxy = await FaultyRpcProxy.start({ upstream: chain().url, seed: 7 });
      const seen = { reread: 0, disagreements: 0 };
      const observer: IndexerObserver = {
        reread: (_what, found) => {
          seen.reread += found;
        },
        committed: ({ result }) => {
          seen.disagreements += result.disagreements.length;
        },
      };
      try {
        const indexer = localIndexer(chain(), db, { rpc: createProviderPool([proxy.url]), observer });
        await catchUp(indexer);
        // Two deposits in one block, a partial one and the rest: the first by-hash answer for that block holds one of them.
        const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain().record.escrow);
        const usdt = await hre.ethers.getContractAt("TestToken", chain().record.tokens.USDT.address);
        const [buyer] = await hre.ethers.getSigners();
        await (await usdt.mint(buyer.address, USD("30"))).wait();
        await (await usdt.approve(chain().record.escrow, USD("30"))).wait();
        await setAutomine(false);
        await escrow.pay(payment.intent, payment.signature, chain().record.tokens.USDT.address, USD("10"), zeroAddress);
        await escrow.pay(payment.intent, payment.signature, chain().record.tokens.USDT.address, USD("20"), zeroAddress);
        await mine(1);
        await setAutomine(true);
        proxy.configure({ lies: [{ lie: { kind: "subset-logs" }, queries: "blockHash", when: { next: 1 } }] });
        await catchUp(indexer);
        expect(proxy.stats.subsetLogQueries).to.equal(1);

        await mine(SETTINGS.confirmations.depth * 2);
        await catchUp(indexer);
        await mine(SETTINGS.confirmations.depth);
        await catchUp(indexer);
        const paid = await storedPayment(db, payment.intent.paymentId);
        expect(paid).to.include({ status: "paid" });
        expect(paid.receivedUsd).to.equal(USD("30"));
        expect(paid.paidAmount).to.equal(USD("30"));
        expect(seen.reread + seen.disagreements, "the missing log was found again").to.be.at.least(1);
        expect(await outboxTypes(db, payment.intent.paymentId)).to.not.include("payment.expired");
        // The merchant's credit counts the deposit the first read left out.
        const balances = await merchantBalances(db, chain(), "USDT");
        expect(balances.indexed).to.equal(balances.onChain);
      } finally {
        await setAutomine(true);
        await proxy.close();
      }
    });
  });
});
