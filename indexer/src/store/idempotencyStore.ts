import { sql } from "kysely";
import type { Mode } from "../payments/paymentResource";
import type { Db } from "./paymentStore";

/** How long a key is remembered (Stripe: 24 hours); an older key is forgotten and may be used again. */
export const IDEMPOTENCY_KEY_LIFETIME_MS = 24 * 60 * 60 * 1000;

export interface IdempotentRequest {
  merchantId: string;
  mode: Mode;
  key: string;
  method: string;
  path: string;
  requestHash: string;
}

export interface StoredResponse {
  method: string;
  path: string;
  requestHash: string;
  status: number;
  response: unknown;
}

/**
 * Takes a key for a request inside the caller's transaction. Returns undefined when the key is new (the caller
 * goes on and calls `saveResponse` before committing), or the response stored for it. Two requests racing with one
 * key meet at the primary key: the second waits for the first's transaction and then reads its response.
 */
export async function claimIdempotencyKey(trx: Db, request: IdempotentRequest): Promise<StoredResponse | undefined> {
  await trx
    .deleteFrom("idempotency_keys")
    .where("merchant_id", "=", request.merchantId)
    .where("mode", "=", request.mode)
    .where("key", "=", request.key)
    .where("created_at", "<", new Date(Date.now() - IDEMPOTENCY_KEY_LIFETIME_MS))
    .execute();
  const inserted = await trx
    .insertInto("idempotency_keys")
    .values({
      merchant_id: request.merchantId,
      mode: request.mode,
      key: request.key,
      method: request.method,
      path: request.path,
      request_hash: request.requestHash,
      response_status: 0,
      response: "null",
    })
    .onConflict((conflict) => conflict.columns(["merchant_id", "mode", "key"]).doNothing())
    .returning(sql<number>`1`.as("inserted"))
    .executeTakeFirst();
  if (inserted) return undefined;
  const row = await trx
    .selectFrom("idempotency_keys")
    .selectAll()
    .where("merchant_id", "=", request.merchantId)
    .where("mode", "=", request.mode)
    .where("key", "=", request.key)
    .executeTakeFirstOrThrow();
  const response = typeof row.response === "string" ? JSON.parse(row.response) : row.response;
  return { method: row.method, path: row.path, requestHash: row.request_hash, status: row.response_status, response };
}

export async function saveResponse(trx: Db, request: IdempotentRequest, status: number, response: unknown): Promise<void> {
  await trx
    .updateTable("idempotency_keys")
    .set({ response_status: status, response: JSON.stringify(response) })
    .where("merchant_id", "=", request.merchantId)
    .where("mode", "=", request.mode)
    .where("key", "=", request.key)
    .execute();
}
