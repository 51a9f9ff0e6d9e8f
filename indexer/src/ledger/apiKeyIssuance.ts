import { sql } from "kysely";
import type { Mode } from "../payments/paymentResource";
import { createApiKey, revokeApiKey, type ApiKeyRecord } from "../store/merchantStore";
import type { Db } from "../store/paymentStore";
import { invalidField, notFound } from "./apiErrors";

/**
 * Issuing and revoking API keys: the one rule the dashboard and `npm run merchant` both follow. A key is shown once,
 * when issued (only its hash is kept); revoking one announces it on KEY_CHANNEL so that every API process forgets
 * the owner it cached at once (api/authentication.ts).
 */

/** The channel a revoked key's id is announced on. */
export const KEY_CHANNEL = "openpay_api_keys";

/** Longest name a key may have. */
export const KEY_NAME_MAX = 100;

/** A key's name, trimmed; throws a 400 naming `field` when it is empty, too long or not plain text. */
export function keyName(value: unknown, field = "name"): string {
  if (typeof value !== "string") throw invalidField(field, 'a name for the key is required, such as "Shop server"');
  const name = value.trim();
  if (name.length === 0) throw invalidField(field, 'a name for the key is required, such as "Shop server"');
  if (name.length > KEY_NAME_MAX) throw invalidField(field, `at most ${KEY_NAME_MAX} characters, got ${name.length}`);
  // Control characters (NUL among them, which PostgreSQL refuses) have no place in a name shown in lists.
  if (/\p{Cc}/u.test(name)) throw invalidField(field, "must not contain control characters");
  return name;
}

/** A new key of `mode` for the merchant, named: the key itself is in this answer and nowhere else, ever. */
export async function issueKey(db: Db, merchantId: string, mode: Mode, name: unknown): Promise<{ key: string; record: ApiKeyRecord }> {
  const named = keyName(name);
  const { id, key, prefix, createdAt } = await createApiKey(db, merchantId, mode, named);
  return { key, record: { id, name: named, prefix, mode, createdAt, lastUsedAt: null, revokedAt: null } };
}

/**
 * Revokes a key: the merchant's own when `merchantId` is given (another's is a 404, as one that does not exist), any
 * for the operator. A key revoked already is a 404 too: nothing changed.
 */
export async function revokeKey(db: Db, keyId: string, merchantId?: string): Promise<void> {
  if (!(await revokeApiKey(db, keyId, merchantId))) throw notFound("active API key", keyId);
  // A lost announcement leaves the key working in other processes until their cache lets it go (KEY_CACHE_MS).
  await sql`select pg_notify(${KEY_CHANNEL}, ${keyId})`.execute(db);
}
