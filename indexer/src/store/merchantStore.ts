import { randomBytes } from "node:crypto";
import type { Address } from "viem";
import { hashApiKey, newApiKey } from "../payments/apiKeys";
import type { Mode } from "../payments/paymentResource";
import type { Db } from "./paymentStore";

export interface Merchant {
  id: string;
  name: string;
  address: Address;
}

/** Whom a request's API key speaks for. */
export interface KeyOwner {
  merchant: Merchant;
  mode: Mode;
  keyId: string;
}

export async function createMerchant(db: Db, { name, address }: { name: string; address: Address }): Promise<Merchant> {
  const merchant = { id: `mer_${randomBytes(8).toString("hex")}`, name, address };
  await db.insertInto("merchants").values(merchant).execute();
  return merchant;
}

/** Issues an API key for a merchant; the key is returned once and only its hash is kept. */
export async function createApiKey(db: Db, merchantId: string, mode: Mode, name = ""): Promise<{ id: string; key: string; prefix: string; createdAt: Date }> {
  const { key, hash, prefix } = newApiKey(mode);
  const id = `key_${randomBytes(8).toString("hex")}`;
  const row = await db
    .insertInto("api_keys")
    .values({ id, merchant_id: merchantId, mode, key_hash: hash, prefix, name })
    .returning("created_at")
    .executeTakeFirstOrThrow();
  return { id, key, prefix, createdAt: new Date(row.created_at) };
}

/** Revokes an active key, of `merchantId` only when given; false when there is no such active key. */
export async function revokeApiKey(db: Db, keyId: string, merchantId?: string): Promise<boolean> {
  let update = db.updateTable("api_keys").set({ revoked_at: new Date() }).where("id", "=", keyId).where("revoked_at", "is", null);
  if (merchantId !== undefined) update = update.where("merchant_id", "=", merchantId);
  const result = await update.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** A key as its merchant sees it: never the key itself, which is not kept. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  mode: Mode;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** A merchant's keys of `mode`, newest first, revoked ones too. */
export async function listApiKeys(db: Db, merchantId: string, mode: Mode): Promise<ApiKeyRecord[]> {
  const rows = await db
    .selectFrom("api_keys")
    .select(["id", "name", "prefix", "mode", "created_at", "last_used_at", "revoked_at"])
    .where("merchant_id", "=", merchantId)
    .where("mode", "=", mode)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .execute();
  const time = (value: Date | string | null) => (value === null ? null : new Date(value));
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    mode: row.mode as Mode,
    createdAt: new Date(row.created_at),
    lastUsedAt: time(row.last_used_at),
    revokedAt: time(row.revoked_at),
  }));
}

/** Records that a key was used at `at`; an earlier time never overwrites a later one. */
export async function recordKeyUse(db: Db, keyId: string, at: Date): Promise<void> {
  await db
    .updateTable("api_keys")
    .set({ last_used_at: at })
    .where("id", "=", keyId)
    .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<", at)]))
    .execute();
}

/** The owner of an unrevoked key, found by the key's hash. */
export async function findKeyOwner(db: Db, key: string): Promise<KeyOwner | undefined> {
  const row = await db
    .selectFrom("api_keys as k")
    .innerJoin("merchants as m", "m.id", "k.merchant_id")
    .select(["k.id as key_id", "k.mode", "m.id", "m.name", "m.address"])
    .where("k.key_hash", "=", hashApiKey(key))
    .where("k.revoked_at", "is", null)
    .executeTakeFirst();
  if (!row) return undefined;
  return { merchant: { id: row.id, name: row.name, address: row.address as Address }, mode: row.mode as Mode, keyId: row.key_id };
}

export async function findMerchant(db: Db, id: string): Promise<Merchant | undefined> {
  const row = await db.selectFrom("merchants").select(["id", "name", "address"]).where("id", "=", id).executeTakeFirst();
  return row ? { id: row.id, name: row.name, address: row.address as Address } : undefined;
}

/** A merchant's checkout settings: who may frame its checkout pages, and where a shopper goes back to. */
export interface CheckoutSettings {
  frameOrigins: string[];
  siteUrl: string | null;
}

export async function checkoutSettingsOf(db: Db, merchantId: string): Promise<CheckoutSettings | undefined> {
  return (await merchantCheckoutOf(db, merchantId))?.settings;
}

/** What a checkout page shows of its merchant: the name, and the settings (in one query: every page reads them). */
export async function merchantCheckoutOf(db: Db, merchantId: string): Promise<{ name: string; settings: CheckoutSettings } | undefined> {
  const row = await db.selectFrom("merchants").select(["name", "checkout_frame_origins", "site_url"]).where("id", "=", merchantId).executeTakeFirst();
  return row ? { name: row.name, settings: { frameOrigins: JSON.parse(row.checkout_frame_origins) as string[], siteUrl: row.site_url } } : undefined;
}

/** Changes the settings given (the others stay); returns them all as they stand after. */
export async function updateCheckoutSettings(db: Db, merchantId: string, changes: Partial<CheckoutSettings>): Promise<CheckoutSettings | undefined> {
  const values = {
    ...(changes.frameOrigins !== undefined ? { checkout_frame_origins: JSON.stringify(changes.frameOrigins) } : {}),
    ...(changes.siteUrl !== undefined ? { site_url: changes.siteUrl } : {}),
  };
  if (Object.keys(values).length > 0) await db.updateTable("merchants").set(values).where("id", "=", merchantId).execute();
  return checkoutSettingsOf(db, merchantId);
}

/** The merchants whose on-chain address is `address` (any letter case): whom that address may sign in to. */
export async function merchantsWithAddress(db: Db, address: Address): Promise<Merchant[]> {
  const rows = await db
    .selectFrom("merchants")
    .select(["id", "name", "address"])
    .where((eb) => eb(eb.fn("lower", ["address"]), "=", address.toLowerCase()))
    .orderBy("id")
    .execute();
  return rows.map((row) => ({ id: row.id, name: row.name, address: row.address as Address }));
}

/** Every merchant of this gateway. */
export async function allMerchants(db: Db): Promise<Merchant[]> {
  const rows = await db.selectFrom("merchants").select(["id", "name", "address"]).orderBy("id").execute();
  return rows.map((row) => ({ id: row.id, name: row.name, address: row.address as Address }));
}
