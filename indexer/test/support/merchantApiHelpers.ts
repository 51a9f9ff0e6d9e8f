import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { getAddress, type Address } from "viem";
import { simulate, type SimulationResult } from "../../../scripts/operator/simulate";
import { createApiKey, createMerchant, type Merchant } from "../../src/store/merchantStore";
import type { Db } from "../../src/store/paymentStore";
import { openTestStore, type StoreKind } from "./stores";
import { call, startApiStack, type ApiStack, type ApiStackOptions } from "./merchantApiStack";
import type { LocalChain } from "./localChain";

/** An API error: its status, type, a message, and the field at fault when `field` is given. */
export function expectError(response: { status: number; body: any }, status: number, field: string | undefined, type = "invalid_request_error"): void {
  expect(response.status, JSON.stringify(response.body)).to.equal(status);
  expect(response.body.error.type, JSON.stringify(response.body)).to.equal(type);
  expect(response.body.error.message).to.be.a("string").and.not.equal("");
  if (field !== undefined) expect(response.body.error.field, JSON.stringify(response.body)).to.equal(field);
}

/** What a test of the API works with: the running API, its database, and the merchant whose key it uses. */
export interface ApiFixture {
  api: ApiStack;
  db: Db;
  merchant: Merchant;
  key: string;
}

/** Another merchant of the same gateway, with a test key. */
export async function newMerchant(db: Db, address: Address = getAddress(`0x${randomBytes(20).toString("hex")}`), name = "Other shop") {
  const merchant = await createMerchant(db, { name, address });
  const { key } = await createApiKey(db, merchant.id, "test");
  return { merchant, key };
}

/**
 * A fresh database and API for every test (PostgreSQL: a new database costs a fraction of a second), the demo
 * merchant's key as the fixture's.
 */
export function freshStackEachTest(chain: () => LocalChain, kind: StoreKind = "postgres", options: ApiStackOptions = {}): () => ApiFixture {
  let fixture: ApiFixture | undefined;
  let close: (() => Promise<void>) | undefined;
  beforeEach(async function () {
    const store = await openTestStore(kind);
    const api = await startApiStack(chain(), store, options);
    fixture = { api, db: store.db, merchant: api.merchant, key: api.key };
    close = async () => {
      await api.close();
      await store.close();
    };
  });
  afterEach(async function () {
    await close?.();
    fixture = undefined;
  });
  return () => {
    if (!fixture) throw new Error("the fixture is made in beforeEach");
    return fixture;
  };
}

/**
 * One database and API for the whole suite (PGlite takes seconds to open), and a new merchant with the demo
 * merchant's address for every test, so that tests do not see each other's rows.
 */
export function sharedStackNewMerchantEachTest(chain: () => LocalChain, kind: StoreKind = "pglite"): () => ApiFixture {
  let api: ApiStack | undefined;
  let closeStore: (() => Promise<void>) | undefined;
  let fixture: ApiFixture | undefined;
  before(async function () {
    const store = await openTestStore(kind);
    closeStore = () => store.close();
    api = await startApiStack(chain(), store);
  });
  after(async function () {
    await api?.close();
    await closeStore?.();
  });
  beforeEach(async function () {
    const db = api!.context.db;
    const { merchant, key } = await newMerchant(db, chain().record.demoMerchant!.merchant, "Demo shop");
    fixture = { api: api!, db, merchant, key };
  });
  return () => {
    if (!fixture) throw new Error("the fixture is made in beforeEach");
    return fixture;
  };
}

/** Creates a payment through the API; fails the test with the API's answer if it is not a 201. */
export async function createdPayment(fixture: { api: ApiStack; key: string }, body: Record<string, unknown> = { amount_usd: "25.00" }, key = fixture.key) {
  const response = await call(fixture.api, "POST", "/v1/payments", { key, body });
  if (response.status !== 201) throw new Error(`POST /v1/payments answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** A customer pays an API payment on the local chain: the payment's `intent` is exactly what `simulate --intent` reads. */
export async function payOnChain(
  chain: LocalChain,
  payment: { id: string; intent: unknown },
  scenario: "full" | "partial" | "over" | "late",
  token: "USDT" | "USDC" | "BNB",
): Promise<SimulationResult> {
  const file = path.join(chain.deploymentsDir, `${payment.id}-${randomBytes(4).toString("hex")}.json`);
  writeFileSync(file, JSON.stringify(payment.intent));
  const result = await simulate(hre, { intent: file, scenario, token }, () => undefined);
  if (result.refused) throw new Error(`the escrow refused the payment: ${result.refused}`);
  return result;
}

/** Rows of `table` matching a column value. */
export async function countRows(
  db: Db,
  table: "payments" | "payment_requests" | "outbox" | "webhook_deliveries" | "idempotency_keys",
  column: string,
  value: string,
): Promise<number> {
  const row = await (db as any)
    .selectFrom(table)
    .select((eb: any) => eb.fn.countAll().as("count"))
    .where(column, "=", value)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/**
 * An event of the merchant's log as the webhook dispatcher writes it (milliseconds, like its times), with deliveries
 * in the given states: for the event-log routes without running the worker.
 */
export async function insertEvent(
  db: Db,
  owner: { merchantId: string; mode?: string },
  { paymentId, type = "payment.created", createdAt = new Date(), sequence = 0 }: { paymentId: string; type?: string; createdAt?: Date; sequence?: number },
): Promise<string> {
  const id = `msg_${createdAt.getTime().toString(16).padStart(12, "0")}${randomBytes(10).toString("hex")}`;
  await db
    .insertInto("webhook_events")
    .values({
      id,
      merchant_id: owner.merchantId,
      mode: owner.mode ?? "test",
      chain_id: 31337,
      payment_id: paymentId,
      type,
      sequence,
      body: JSON.stringify({ type, timestamp: createdAt.toISOString(), data: { id: paymentId } }),
      created_at: createdAt,
    })
    .execute();
  return id;
}

export async function insertDelivery(
  db: Db,
  eventId: string,
  endpointId: string,
  status: "pending" | "succeeded" | "failed",
  attempts: Array<{ responseStatus: number | null; error: string | null }> = [],
): Promise<string> {
  const row = await db
    .insertInto("webhook_deliveries")
    .values({
      event_id: eventId,
      endpoint_id: endpointId,
      status,
      attempts: attempts.length,
      last_error: attempts.at(-1)?.error ?? null,
      next_attempt_at: new Date(),
      created_at: new Date(),
      updated_at: new Date(),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  for (const [i, attempt] of attempts.entries()) {
    await db
      .insertInto("webhook_attempts")
      .values({
        delivery_id: row.id,
        event_id: eventId,
        endpoint_id: endpointId,
        attempt: i + 1,
        started_at: new Date(),
        duration_ms: 12,
        response_status: attempt.responseStatus,
        error: attempt.error,
      })
      .execute();
  }
  return String(row.id);
}

/** The deliveries of an event, oldest first. */
export async function deliveriesOf(db: Db, eventId: string) {
  return db.selectFrom("webhook_deliveries").select(["id", "endpoint_id", "status"]).where("event_id", "=", eventId).orderBy("id").execute();
}
