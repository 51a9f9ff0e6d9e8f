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
export async function createApiKey(db: Db, merchantId: string, mode: Mode): Promise<{ id: string; key: string; prefix: string }> {
  const { key, hash, prefix } = newApiKey(mode);
  const id = `key_${randomBytes(8).toString("hex")}`;
  await db.insertInto("api_keys").values({ id, merchant_id: merchantId, mode, key_hash: hash, prefix }).execute();
  return { id, key, prefix };
}

export async function revokeApiKey(db: Db, keyId: string): Promise<boolean> {
  const result = await db.updateTable("api_keys").set({ revoked_at: new Date() }).where("id", "=", keyId).where("revoked_at", "is", null).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
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
