import { expect } from "chai";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Hex } from "viem";
import { newPayment } from "../src/payments/payment";
import type { PaymentRegistration } from "../src/payments/paymentRegistration";
import * as initial from "../src/store/migrations/001_initial";
import * as ledgerWithoutDeposits from "../src/store/migrations/002_ledger_without_deposits";
import * as announcedChanges from "../src/store/migrations/003_announced_changes";
import * as dashboardSignIn from "../src/store/migrations/004_dashboard_sign_in";
import * as paymentsByExpiry from "../src/store/migrations/005_payments_by_expiry";
import * as paymentSearch from "../src/store/migrations/006_payment_search";
import * as paymentsListed from "../src/store/migrations/007_payments_listed";
import { listPaymentRecords } from "../src/store/paymentRequestStore";
import { registrationColumns, stateColumns } from "../src/store/paymentRows";
import type { Database } from "../src/store/schema";
import { freshPostgresDatabase } from "./support/stores";

const CHAIN = 31337;
const registration = (n: number): PaymentRegistration => ({
  chainId: CHAIN,
  id: `0x${n.toString(16).padStart(64, "0")}` as Hex,
  merchant: "0x00000000000000000000000000000000000000aa",
  amountUsd: BigInt(n) * 10n ** 18n,
  expiry: 2_000_000_000n,
  refundTo: "0x00000000000000000000000000000000000000bb",
  acceptedTokenMask: 1n,
  acceptedTokens: ["0x00000000000000000000000000000000000000cc"],
  signature: "0x00",
  depositAddress: `0x${n.toString(16).padStart(40, "0")}` as Hex,
});

describe("migration 007: payments listed from their own rows (PostgreSQL)", function () {
  let db: Kysely<Database>;
  let drop: () => Promise<void>;

  beforeEach(async function () {
    const database = await freshPostgresDatabase({ empty: true });
    drop = database.drop;
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url }) }) });
  });
  afterEach(async function () {
    await db?.destroy();
    await drop?.();
  });

  it("gives each API payment its request's merchant, mode and time, and leaves other payments out of every list", async function () {
    const before = db as unknown as Kysely<unknown>;
    for (const migration of [initial, ledgerWithoutDeposits, announcedChanges, dashboardSignIn, paymentsByExpiry, paymentSearch]) await migration.up(before);
    // Two API payments (one created a day later than its row says) and one registered by other means.
    const requested = [new Date("2026-01-01T10:00:00Z"), new Date("2026-01-02T10:00:00Z")];
    for (const n of [1, 2, 3]) {
      const row = { ...stateColumns(newPayment(registration(n))), ...registrationColumns(registration(n)), created_at: new Date("2026-01-05T00:00:00Z") };
      await db.insertInto("payments").values(row).execute();
    }
    for (const [i, mode] of (["test", "live"] as const).entries()) {
      await db
        .insertInto("payment_requests")
        .values({ chain_id: CHAIN, payment_id: registration(i + 1).id, merchant_id: "m_1", mode, metadata: "{}", options: "[]", created_at: requested[i] })
        .execute();
    }

    await paymentsListed.up(before);

    const rows = await db.selectFrom("payments").select(["id", "merchant_id", "mode", "created_at"]).orderBy("id").execute();
    expect(rows).to.deep.equal([
      { id: registration(1).id, merchant_id: "m_1", mode: "test", created_at: requested[0] },
      { id: registration(2).id, merchant_id: "m_1", mode: "live", created_at: requested[1] },
      { id: registration(3).id, merchant_id: null, mode: null, created_at: new Date("2026-01-05T00:00:00Z") },
    ]);
    const listed = async (mode: "test" | "live", amountMin?: bigint) =>
      (await listPaymentRecords(db, CHAIN, { merchantId: "m_1", mode, amountMin, limit: 10 })).map((record) => record.payment.id);
    expect(await listed("test")).to.deep.equal([registration(1).id]);
    expect(await listed("live")).to.deep.equal([registration(2).id]);
    expect(await listed("live", 3n * 10n ** 18n)).to.deep.equal([]);
  });
});
