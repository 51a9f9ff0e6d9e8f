import { expect } from "chai";
import type { Hex } from "viem";
import { dispatchOutbox } from "../src/ledger/outboxDispatch";
import type { StatusChange } from "../src/payments/statusMachine";
import type { Store } from "../src/store/database";
import type { Merchant } from "../src/store/merchantStore";
import { insertChanges, loadPayments, type Db } from "../src/store/paymentStore";
import { claimOutboxRows, recordDispatch } from "../src/store/webhookDeliveryStore";
import { waitingAnnouncements } from "./support/paymentRecords";
import { describeEachStore, openTestStore } from "./support/stores";
import { newMerchant, newPayment, openCheckout, testViews, WEBHOOK_CHAIN_ID } from "./support/webhookFixtures";

/**
 * A status change is its own outbox entry (migration 003): the dispatcher claims the changes still carrying their
 * announcement and clears it in the transaction that writes their events. These tests hold it to what the outbox
 * guaranteed: every change announced exactly once, whatever order the writers' transactions commit in, however the
 * dispatchers overlap or fail, and a payment's announcements in order.
 */

const USD = 10n ** 18n;

/** Records `count` more changes of the payment (deposits that leave it pending), each with the payment as of it. */
async function moreChanges(db: Db, id: Hex, count: number): Promise<void> {
  const { payment } = (await loadPayments(db, WEBHOOK_CHAIN_ID, [id])).get(id)!;
  const changes: Array<{ change: StatusChange; payment: typeof payment }> = [];
  for (let i = 1; i <= count; i++) {
    const sequence = payment.sequence + i;
    changes.push({
      change: { paymentId: id, sequence, from: payment.status, to: payment.status, reason: "deposit" },
      payment: { ...payment, sequence, receivedUsd: payment.receivedUsd + BigInt(i) * USD },
    });
  }
  await insertChanges(db, WEBHOOK_CHAIN_ID, changes);
  await db
    .updateTable("payments")
    .set({ sequence: payment.sequence + count, received_usd: (payment.receivedUsd + BigInt(count) * USD).toString() })
    .where("id", "=", id)
    .execute();
}

/** A new payment of `merchant` with its checkout opened (its creation and `pending` to announce), then `changes` more. */
async function openedPayment(db: Db, merchant: Merchant, changes = 0): Promise<Hex> {
  const id = await newPayment(db, merchant);
  await openCheckout(db, id);
  if (changes > 0) await moreChanges(db, id, changes);
  return id;
}

/** The events the dispatcher wrote: payment and sequence, each once if nothing was announced twice. */
async function announced(db: Db): Promise<string[]> {
  const rows = await db.selectFrom("webhook_events").select(["payment_id", "sequence", "type"]).execute();
  return rows.map((row) => `${row.payment_id}#${row.sequence} ${row.type}`).sort();
}

const dispatch = (db: Db, limit = 100) => dispatchOutbox(db, testViews(), { limit });

describeEachStore("status changes as their own announcements", (store: () => Store) => {
  it("announces a payment's creation, then its changes in sequence, once each, however few a dispatch takes", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const id = await openedPayment(db, merchant, 3);
    const other = await newPayment(db, merchant);

    const order: number[] = [];
    for (;;) {
      const before = new Set((await db.selectFrom("webhook_events").select("id").execute()).map((row) => row.id));
      const outcome = await dispatch(db, 1);
      if (outcome.consumed === 0) break;
      const fresh = (await db.selectFrom("webhook_events").select(["id", "payment_id", "sequence"]).execute()).filter((row) => !before.has(row.id));
      expect(fresh, "one event per dispatch of one").to.have.length(1);
      if (fresh[0].payment_id === id) order.push(fresh[0].sequence);
    }
    expect(order, "creation first, then the changes in sequence").to.deep.equal([0, 1, 2, 3, 4]);
    expect(await announced(db)).to.deep.equal(
      [
        `${id}#0 payment.created`,
        `${id}#1 payment.pending`,
        `${id}#2 payment.underpaid`,
        `${id}#3 payment.underpaid`,
        `${id}#4 payment.underpaid`,
        `${other}#0 payment.created`,
      ].sort(),
    );
    expect(await waitingAnnouncements(db)).to.deep.equal([]);
    const history = await db.selectFrom("status_changes").select(["sequence", "announcement"]).where("payment_id", "=", id).orderBy("sequence").execute();
    expect(
      history.map((row) => [row.sequence, row.announcement]),
      "the history stays, its announcements consumed",
    ).to.deep.equal([
      [1, null],
      [2, null],
      [3, null],
      [4, null],
    ]);
    expect(await dispatch(db)).to.deep.include({ consumed: 0, events: 0 });
  });

  it("carries each change's payment as of that change, not as it stands when dispatched", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const id = await openedPayment(db, merchant, 2);
    await dispatch(db);
    const bodies = (await db.selectFrom("webhook_events").select(["sequence", "body"]).where("payment_id", "=", id).orderBy("sequence").execute()).map(
      (row) => JSON.parse(row.body).data as { sequence: number; status: string; received_usd: string },
    );
    // What each change had received, not the 2 USD the payment holds when dispatched.
    expect(bodies.map((data) => [data.sequence, data.status, data.received_usd])).to.deep.equal([
      [0, "initiated", "0.00"],
      [1, "pending", "0.00"],
      [2, "pending", "1.00"],
      [3, "pending", "2.00"],
    ]);
  });

  it("leaves every announcement of a dispatch that failed before it committed for the next one", async function () {
    const { db } = store();
    const merchant = await newMerchant(db);
    const id = await openedPayment(db, merchant);
    const waiting = await waitingAnnouncements(db);
    expect(waiting.map((row) => row.type)).to.deep.equal(["payment.created", "payment.pending"]);

    // The dispatcher dies after writing its events and consuming the rows, before its commit.
    const crash = new Error("the worker died");
    const failed = await db
      .transaction()
      .execute(async (trx) => {
        const rows = await claimOutboxRows(trx, WEBHOOK_CHAIN_ID, 100);
        await recordDispatch(trx, [], rows);
        throw crash;
      })
      .catch((error) => error);
    expect(failed).to.equal(crash);
    expect(await waitingAnnouncements(db)).to.deep.equal(waiting);

    await dispatch(db);
    expect(await announced(db)).to.deep.equal([`${id}#0 payment.created`, `${id}#1 payment.pending`]);
    expect(await waitingAnnouncements(db)).to.deep.equal([]);
  });
});

/** Concurrent transactions need connections of their own: PostgreSQL only (PGlite has one). */
describe("status changes as their own announcements, under concurrent transactions (postgres)", function () {
  let store: Store;
  beforeEach(async function () {
    store = await openTestStore("postgres");
  });
  afterEach(async function () {
    await store.close();
  });

  /** Runs `write` in a transaction kept open until the returned function is called (then awaits its commit). */
  async function openTransaction(db: Db, write: (trx: Db) => Promise<void>): Promise<() => Promise<void>> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    const committed = db.transaction().execute(async (trx) => {
      await write(trx);
      written();
      await released;
    });
    committed.catch(() => undefined);
    await wrote;
    return async () => {
      release();
      await committed;
    };
  }

  it("announces, once, a change whose transaction commits after a later-numbered one was dispatched (no high-water mark to skip it)", async function () {
    const { db } = store;
    const merchant = await newMerchant(db);
    const slow = await newPayment(db, merchant);
    const fast = await newPayment(db, merchant);
    await openCheckout(db, slow);
    await openCheckout(db, fast);
    await dispatch(db);
    expect(await announced(db)).to.have.length(4);

    // The slow writer draws the lower id and commits last, as the indexer's batch may against the API's request.
    const commitSlow = await openTransaction(db, (trx) => moreChanges(trx, slow, 1));
    await moreChanges(db, fast, 1);
    expect(await dispatch(db), "only the committed change").to.deep.include({ consumed: 1, events: 1 });
    await commitSlow();
    expect(await dispatch(db), "the late commit's change, still waiting").to.deep.include({ consumed: 1, events: 1 });
    expect(await dispatch(db)).to.deep.include({ consumed: 0 });
    expect((await announced(db)).filter((event) => event.includes("#2"))).to.deep.equal([`${fast}#2 payment.underpaid`, `${slow}#2 payment.underpaid`].sort());
  });

  it("never gives two dispatchers the same announcement, and one that fails leaves its share to the other", async function () {
    const { db } = store;
    const merchant = await newMerchant(db);
    const ids: Hex[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(await openedPayment(db, merchant, 3));
    }
    const expected = ids.flatMap((id) => [0, 1, 2, 3, 4].map((sequence) => `${id}#${sequence}`)).sort();

    // One dispatcher holds a claim of ten and dies; meanwhile others dispatch what it does not hold, in small steps.
    let held: string[] = [];
    const crash = new Error("the worker died");
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let claimed!: () => void;
    const holding = new Promise<void>((resolve) => (claimed = resolve));
    const dying = db
      .transaction()
      .execute(async (trx) => {
        const rows = await claimOutboxRows(trx, WEBHOOK_CHAIN_ID, 10);
        held = rows.map((row) => `${row.payment_id}#${row.source === "outbox" ? 0 : (row.data as { change: { sequence: number } }).change.sequence}`);
        await recordDispatch(trx, [], rows);
        claimed();
        await released;
        throw crash;
      })
      .catch((error) => error);
    try {
      await holding;
      expect(held).to.have.length(10);
      const others = await Promise.all([dispatch(db, 3), dispatch(db, 3), dispatch(db, 3)]);
      while ((await dispatch(db, 3)).consumed > 0);
      expect(others.every((outcome) => outcome.consumed > 0)).to.equal(true);
      const meanwhile = (await announced(db)).map((event) => event.split(" ")[0]);
      expect(meanwhile.length).to.be.within(1, expected.length - 10);
      expect(
        meanwhile.filter((event) => held.includes(event)),
        "none of what the dying dispatcher held",
      ).to.deep.equal([]);
    } finally {
      release();
    }
    expect(await dying).to.equal(crash);
    while ((await dispatch(db, 4)).consumed > 0);
    const events = (await announced(db)).map((event) => event.split(" ")[0]);
    expect(events, "every change and creation announced exactly once").to.deep.equal(expected);
    expect(await waitingAnnouncements(db)).to.deep.equal([]);
  });
});
