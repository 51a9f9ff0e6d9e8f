import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { getAddress, zeroAddress, type Address, type Hex } from "viem";
import { keeperCandidates } from "../src/keeper/keeperStore";
import type { PaymentStatus } from "../src/payments/statuses";
import { insertPayment, LATE_FUNDS_WINDOW, watchedPayments, type Db } from "../src/store/paymentStore";
import { describeEachStore } from "./support/stores";

const CHAIN_ID = 56;
/** The chain time the indexer is at (its checkpoint's). */
const AT = 1_800_000_000n;
const DAY = 86_400_000;

const randomAddress = (): Address => getAddress(`0x${randomBytes(20).toString("hex")}`);

/** A payment of `expiry` stored in `status`, last changed `changedMsAgo` ago by the clock; returns its id. */
async function storedPayment(db: Db, status: PaymentStatus, expiry: bigint, changedMsAgo: number): Promise<Hex> {
  const id = `0x${randomBytes(32).toString("hex")}` as Hex;
  await insertPayment(
    db,
    {
      chainId: CHAIN_ID,
      id,
      merchant: randomAddress(),
      amountUsd: 20n * 10n ** 18n,
      expiry,
      refundTo: zeroAddress,
      acceptedTokenMask: 0b1n,
      acceptedTokens: [randomAddress()],
      signature: `0x${"11".repeat(65)}`,
      depositAddress: randomAddress(),
    },
    null,
  );
  await db
    .updateTable("payments")
    .set({ status, updated_at: new Date(Date.now() - changedMsAgo) })
    .where("id", "=", id)
    .execute();
  return id;
}

describeEachStore("the late-funds window, in chain time", (store) => {
  it("watches open payments, and ended ones until their expiry plus the window reaches the indexed chain time, whatever the clock says", async function () {
    const { db } = store();
    const open = await storedPayment(db, "pending", AT - 10n * LATE_FUNDS_WINDOW, 0);
    const confirming = await storedPayment(db, "confirming", AT - 10n * LATE_FUNDS_WINDOW, 0);
    // Ended shortly after its expiry, two days ago by the clock (an indexer that was down): the chain is a second
    // short of the window's end, so a transfer it reads now may still be a stray to return.
    const expiredJustInside = await storedPayment(db, "expired", AT - LATE_FUNDS_WINDOW + 1n, 2 * DAY);
    const paidLongAgo = await storedPayment(db, "paid", AT - 3_600n, 10 * DAY);
    // Changed just now by the clock, but its window ended at this chain time (and before it).
    await storedPayment(db, "expired", AT - LATE_FUNDS_WINDOW, 0);
    await storedPayment(db, "refunded", AT - 2n * LATE_FUNDS_WINDOW, 0);

    // Exactly these: neither the one whose window just ended nor the one refunded (changed now by the clock).
    expect((await watchedPayments(db, CHAIN_ID, AT)).map((payment) => payment.id)).to.have.members([open, confirming, expiredJustInside, paidLongAgo]);
    // A second later by the chain, the first expired one's window is over too.
    expect((await watchedPayments(db, CHAIN_ID, AT + 1n)).map((payment) => payment.id)).to.have.members([open, confirming, paidLongAgo]);
  });

  it("makes the keeper take an expired payment as a candidate for the same window of chain time", async function () {
    const { db } = store();
    const open = await storedPayment(db, "pending", AT - 10n * LATE_FUNDS_WINDOW, 0);
    const expiredJustInside = await storedPayment(db, "expired", AT - LATE_FUNDS_WINDOW + 1n, 2 * DAY);
    await storedPayment(db, "expired", AT - LATE_FUNDS_WINDOW, 0);
    await storedPayment(db, "paid", AT - 3_600n, 0);

    const candidates = async (at: bigint) => (await keeperCandidates(db, CHAIN_ID, { at, sinceBlock: 0 })).map((row) => row.id);
    expect(await candidates(AT)).to.have.members([open, expiredJustInside]);
    expect(await candidates(AT + 1n)).to.have.members([open]);
  });
});
