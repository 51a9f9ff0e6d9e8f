import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { claimIdempotencyKey, saveResponse } from "../store/idempotencyStore";
import type { KeyOwner } from "../store/merchantStore";
import type { Db } from "../store/paymentStore";
import { ApiError } from "../ledger/apiErrors";

/** JSON with object keys sorted, so that the same body in another key order hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, field]) => field !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Runs a creating request under Stripe's Idempotency-Key semantics: the first request with a key runs `work` and
 * its response is stored in the same transaction; the same key with the same body gets that response again
 * (`replayed`: the route says so in `Idempotent-Replayed: true`); the same key with another body or route is
 * refused. Without a key, `work` just runs.
 */
export async function idempotent<T>(
  db: Db,
  owner: KeyOwner,
  request: FastifyRequest,
  work: (trx: Db) => Promise<{ status: number; body: T }>,
): Promise<{ status: number; body: T; replayed: boolean }> {
  const header = request.headers["idempotency-key"];
  if (header === undefined) return { ...(await work(db)), replayed: false };
  const key = Array.isArray(header) ? header[0] : header;
  if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new ApiError(400, "invalid_request_error", "Idempotency-Key: 1 to 255 visible ASCII characters", "Idempotency-Key");
  }
  const path = request.routeOptions.url ?? request.url;
  const claim = {
    merchantId: owner.merchant.id,
    mode: owner.mode,
    key,
    method: request.method,
    path: request.url.split("?")[0],
    requestHash: createHash("sha256").update(canonicalJson(request.body)).digest("hex"),
  };
  const outcome = await db.transaction().execute(async (trx) => {
    const stored = await claimIdempotencyKey(trx, claim);
    if (stored) return { replayed: true as const, stored };
    const result = await work(trx);
    await saveResponse(trx, claim, result.status, result.body);
    return { replayed: false as const, result };
  });
  if (!outcome.replayed) return { ...outcome.result, replayed: false };
  const { stored } = outcome;
  if (stored.method !== claim.method || stored.path !== claim.path || stored.requestHash !== claim.requestHash) {
    throw new ApiError(
      400,
      "idempotency_error",
      `Idempotency-Key "${key}" was used with ${stored.method === claim.method && stored.path === claim.path ? "another body" : `${stored.method} ${stored.path}`}: a key stands for one request (route ${path})`,
      "Idempotency-Key",
    );
  }
  return { status: stored.status, body: stored.response as T, replayed: true };
}
