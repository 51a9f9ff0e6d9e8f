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

/** A key's claim with the response it stands for, written in the same statement as the work it answers. */
export interface RememberedResponse {
  request: IdempotentRequest;
  status: number;
  response: unknown;
}

const KEY_CONSTRAINT = "idempotency_keys_pk";

const forgottenBefore = () => new Date(Date.now() - IDEMPOTENCY_KEY_LIFETIME_MS);

/**
 * Takes a key for a request inside the caller's transaction, in one statement: a new key is inserted, a forgotten one
 * (older than the lifetime) taken over. Returns undefined when the key is now the caller's (it goes on and calls
 * `saveResponse` before committing), or the response stored for it. Two requests racing with one key meet at the
 * primary key: the second waits for the first's transaction and then reads its response.
 */
export async function claimIdempotencyKey(trx: Db, request: IdempotentRequest): Promise<StoredResponse | undefined> {
  const { rows } = await sql<{ claimed: number }>`
    insert into idempotency_keys as k (merchant_id, mode, key, method, path, request_hash, response_status, response, created_at)
    values (${request.merchantId}, ${request.mode}, ${request.key}, ${request.method}, ${request.path}, ${request.requestHash}, 0, 'null', now())
    on conflict (merchant_id, mode, key) do update set
      method = excluded.method, path = excluded.path, request_hash = excluded.request_hash,
      response_status = 0, response = 'null', created_at = excluded.created_at
    where k.created_at < ${forgottenBefore()}
    returning 1 as claimed`.execute(trx);
  if (rows.length > 0) return undefined;
  return readStoredResponse(trx, request);
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

/**
 * The idempotency_keys row of a key's claim with its response, to insert (a plain INSERT) as a CTE of the statement
 * that does the work: the claim, the work and the stored response then commit together in one round trip. A key
 * already taken makes the whole statement fail (`isKeyTaken`) and write nothing; `readStoredResponse` then says what
 * it was taken for.
 */
export function rememberedRow({ request, status, response }: RememberedResponse): Record<string, unknown> {
  return {
    merchant_id: request.merchantId,
    mode: request.mode,
    key: request.key,
    method: request.method,
    path: request.path,
    request_hash: request.requestHash,
    response_status: status,
    response: JSON.stringify(response),
  };
}

/** Whether a statement failed because its `rememberedRow` met a key already taken. */
export function isKeyTaken(error: unknown): boolean {
  const { code, constraint } = (error ?? {}) as { code?: string; constraint?: string };
  return code === "23505" && constraint === KEY_CONSTRAINT;
}

/**
 * The response stored for a key, in one statement that also forgets the key if it is older than the lifetime (then
 * undefined: the key may be claimed again, as it is when nothing is stored under it).
 */
export async function readStoredResponse(db: Db, request: IdempotentRequest): Promise<StoredResponse | undefined> {
  const cutoff = forgottenBefore();
  const { rows } = await sql<{ method: string; path: string; request_hash: string; response_status: number; response: unknown }>`
    with forgotten as (
      delete from idempotency_keys
      where merchant_id = ${request.merchantId} and mode = ${request.mode} and key = ${request.key} and created_at < ${cutoff}
    )
    select method, path, request_hash, response_status, response from idempotency_keys
    where merchant_id = ${request.merchantId} and mode = ${request.mode} and key = ${request.key} and created_at >= ${cutoff}`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const response = typeof row.response === "string" ? JSON.parse(row.response) : row.response;
  return { method: row.method, path: row.path, requestHash: row.request_hash, status: row.response_status, response };
}
