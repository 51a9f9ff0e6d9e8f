import { sql, type Insertable } from "kysely";
import type { Mode } from "../payments/paymentResource";
import type { Db } from "./paymentStore";
import type { IdempotencyKeysTable } from "./schema";

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

/** A key's claim with the response it stands for, written in the same commit as the work it answers. */
export interface RememberedResponse {
  request: IdempotentRequest;
  status: number;
  response: unknown;
}

/** The key a keyed request hands its work, to write with its response in the work's own commit. */
export type KeyClaim = Omit<RememberedResponse, "response">;

const KEY_CONSTRAINT = "idempotency_keys_pk";

const forgottenBefore = () => new Date(Date.now() - IDEMPOTENCY_KEY_LIFETIME_MS);

/**
 * The idempotency_keys row of a key's claim with its response, to insert (a plain INSERT) with the work it answers:
 * as a CTE of the statement that does the work (one round trip), or as `rememberResponse` at the end of the work's
 * transaction. The claim, the work and the stored response then commit together. A key already taken makes the
 * statement, and so its transaction, fail (`isKeyTaken`) and write nothing; `readStoredResponse` then says what it
 * was taken for.
 */
export function rememberedRow({ request, status, response }: RememberedResponse): Omit<Insertable<IdempotencyKeysTable>, "created_at"> {
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

/** Inserts a key's claim with its response: the last statement of the transaction that did the work. */
export async function rememberResponse(trx: Db, remembered: RememberedResponse): Promise<void> {
  await trx.insertInto("idempotency_keys").values(rememberedRow(remembered)).execute();
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
