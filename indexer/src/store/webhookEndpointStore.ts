import { randomBytes } from "node:crypto";
import type { Mode } from "../payments/paymentResource";
import type { WebhookEventType } from "../payments/webhookEventTypes";
import type { Db } from "./paymentStore";

/** How long a rotated-out secret keeps signing beside the new one, so that the merchant can deploy the new one. */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 60 * 60 * 1000;

export interface WebhookEndpoint {
  id: string;
  merchantId: string;
  mode: Mode;
  url: string;
  description: string | null;
  /** null: every event type. */
  eventTypes: WebhookEventType[] | null;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  disabledAt: Date | null;
  disabledReason: string | null;
  failingSince: Date | null;
  createdAt: Date;
}

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** The secrets deliveries are signed with at `now`: the current one, and the previous one during its grace. */
export function signingSecrets(endpoint: Pick<WebhookEndpoint, "secret" | "previousSecret" | "previousSecretExpiresAt">, now = new Date()): string[] {
  const previous = endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now;
  return previous ? [endpoint.secret, endpoint.previousSecret!] : [endpoint.secret];
}

type Row = {
  id: string;
  merchant_id: string;
  mode: string;
  url: string;
  description: string | null;
  event_types: unknown;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | string | null;
  disabled_at: Date | string | null;
  disabled_reason: string | null;
  failing_since: Date | string | null;
  created_at: Date | string;
};

const date = (value: Date | string | null) => (value === null ? null : new Date(value));

export function endpointFromRow(row: Row): WebhookEndpoint {
  const types = typeof row.event_types === "string" ? JSON.parse(row.event_types) : row.event_types;
  return {
    id: row.id,
    merchantId: row.merchant_id,
    mode: row.mode as Mode,
    url: row.url,
    description: row.description,
    eventTypes: (types as WebhookEventType[] | null) ?? null,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretExpiresAt: date(row.previous_secret_expires_at),
    disabledAt: date(row.disabled_at),
    disabledReason: row.disabled_reason,
    failingSince: date(row.failing_since),
    createdAt: new Date(row.created_at),
  };
}

export async function createEndpoint(
  db: Db,
  input: { merchantId: string; mode: Mode; url: string; description: string | null; eventTypes: WebhookEventType[] | null },
): Promise<WebhookEndpoint> {
  const row = await db
    .insertInto("webhook_endpoints")
    .values({
      id: `we_${randomBytes(8).toString("hex")}`,
      merchant_id: input.merchantId,
      mode: input.mode,
      url: input.url,
      description: input.description,
      event_types: input.eventTypes ? JSON.stringify(input.eventTypes) : null,
      secret: newWebhookSecret(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return endpointFromRow(row);
}

/** A merchant's endpoints in `mode` (deleted ones are gone for the merchant but kept for the delivery log). */
export async function listEndpoints(db: Db, owner: { merchantId: string; mode: Mode }): Promise<WebhookEndpoint[]> {
  const rows = await db
    .selectFrom("webhook_endpoints")
    .selectAll()
    .where("merchant_id", "=", owner.merchantId)
    .where("mode", "=", owner.mode)
    .where("deleted_at", "is", null)
    .orderBy("created_at")
    .orderBy("id")
    .execute();
  return rows.map(endpointFromRow);
}

export async function findEndpoint(db: Db, owner: { merchantId: string; mode: Mode }, id: string): Promise<WebhookEndpoint | undefined> {
  const row = await db
    .selectFrom("webhook_endpoints")
    .selectAll()
    .where("id", "=", id)
    .where("merchant_id", "=", owner.merchantId)
    .where("mode", "=", owner.mode)
    .where("deleted_at", "is", null)
    .executeTakeFirst();
  return row ? endpointFromRow(row) : undefined;
}

export interface EndpointChanges {
  url?: string;
  description?: string | null;
  eventTypes?: WebhookEventType[] | null;
  /** true re-enables a disabled endpoint (clearing why it was disabled); false disables it. */
  enabled?: boolean;
}

export async function updateEndpoint(
  db: Db,
  owner: { merchantId: string; mode: Mode },
  id: string,
  changes: EndpointChanges,
): Promise<WebhookEndpoint | undefined> {
  const set: Record<string, unknown> = {};
  if (changes.url !== undefined) set.url = changes.url;
  if (changes.description !== undefined) set.description = changes.description;
  if (changes.eventTypes !== undefined) set.event_types = changes.eventTypes ? JSON.stringify(changes.eventTypes) : null;
  if (changes.enabled === true) Object.assign(set, { disabled_at: null, disabled_reason: null, failing_since: null });
  if (changes.enabled === false) Object.assign(set, { disabled_at: new Date(), disabled_reason: "disabled by the merchant" });
  if (Object.keys(set).length === 0) return findEndpoint(db, owner, id);
  const row = await db
    .updateTable("webhook_endpoints")
    .set(set)
    .where("id", "=", id)
    .where("merchant_id", "=", owner.merchantId)
    .where("mode", "=", owner.mode)
    .where("deleted_at", "is", null)
    .returningAll()
    .executeTakeFirst();
  return row ? endpointFromRow(row) : undefined;
}

/** A new secret; the old one keeps signing beside it for `graceMs` (0 ends it at once). */
export async function rotateEndpointSecret(
  db: Db,
  owner: { merchantId: string; mode: Mode },
  id: string,
  graceMs = PREVIOUS_SECRET_GRACE_MS,
): Promise<WebhookEndpoint | undefined> {
  const current = await findEndpoint(db, owner, id);
  if (!current) return undefined;
  const row = await db
    .updateTable("webhook_endpoints")
    .set({ secret: newWebhookSecret(), previous_secret: current.secret, previous_secret_expires_at: new Date(Date.now() + graceMs) })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return endpointFromRow(row);
}

/** Deletes an endpoint for the merchant; its pending deliveries end as failed. */
export async function deleteEndpoint(db: Db, owner: { merchantId: string; mode: Mode }, id: string): Promise<boolean> {
  const result = await db
    .updateTable("webhook_endpoints")
    .set({ deleted_at: new Date() })
    .where("id", "=", id)
    .where("merchant_id", "=", owner.merchantId)
    .where("mode", "=", owner.mode)
    .where("deleted_at", "is", null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await db
    .updateTable("webhook_deliveries")
    .set({ status: "failed", last_error: "endpoint deleted", updated_at: new Date() })
    .where("endpoint_id", "=", id)
    .where("status", "=", "pending")
    .execute();
  return true;
}
