import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { isKeyTaken, readStoredResponse, rememberResponse, type IdempotentRequest, type KeyClaim, type StoredResponse } from "../store/idempotencyStore";
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

/** A request's Idempotency-Key as the store keeps it, or undefined without the header; refuses a malformed key. */
function keyedRequest(owner: KeyOwner, request: FastifyRequest): IdempotentRequest | undefined {
  const header = request.headers["idempotency-key"];
  if (header === undefined) return undefined;
  const key = Array.isArray(header) ? header[0] : header;
  if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new ApiError(400, "invalid_request_error", "Idempotency-Key: 1 to 255 visible ASCII characters", "Idempotency-Key");
  }
  return {
    merchantId: owner.merchant.id,
    mode: owner.mode,
    key,
    method: request.method,
    path: request.url.split("?")[0],
    requestHash: createHash("sha256").update(canonicalJson(request.body)).digest("hex"),
  };
}

/** The stored response again, if the key was used for this very request; refused if it was used for another. */
function replay<T>(request: FastifyRequest, claim: IdempotentRequest, stored: StoredResponse): { status: number; body: T; replayed: true } {
  if (stored.method !== claim.method || stored.path !== claim.path || stored.requestHash !== claim.requestHash) {
    throw new ApiError(
      400,
      "idempotency_error",
      `Idempotency-Key "${claim.key}" was used with ${stored.method === claim.method && stored.path === claim.path ? "another body" : `${stored.method} ${stored.path}`}: a key stands for one request (route ${request.routeOptions.url ?? request.url})`,
      "Idempotency-Key",
    );
  }
  return { status: stored.status, body: stored.response as T, replayed: true };
}

/** Tries of a key that found it forgotten in between: past this, something keeps taking it. */
const CLAIM_TRIES = 3;

/**
 * Runs a creating request under Stripe's Idempotency-Key semantics: the first request with a key runs `work` and
 * its response is stored with its effect; the same key with the same body gets that response again (`replayed`: the
 * route says so in `Idempotent-Replayed: true`); the same key with another body or route is refused. Without a key,
 * `work` just runs.
 *
 * `work` gets the key (undefined without the header) and writes its claim with the response (`rememberedRow`) in the
 * statement that does the work: a key then costs no round trip of its own, and a crash leaves neither a key without
 * its effect nor an effect without its key. A key already taken fails that statement, and so the work, whole
 * (`isKeyTaken`). So does a request the work refuses because this very request already ran: on any failure of keyed
 * work, a response stored under the key is replayed (or the request refused if it was another) before the failure
 * is. Concurrent requests with one key meet at its primary key: the later ones wait for the first to commit, fail,
 * and replay its response.
 */
export async function idempotent<T>(
  db: Db,
  owner: KeyOwner,
  request: FastifyRequest,
  status: number,
  work: (key: KeyClaim | undefined) => Promise<T>,
): Promise<{ status: number; body: T; replayed: boolean }> {
  const claim = keyedRequest(owner, request);
  if (!claim) return { status, body: await work(undefined), replayed: false };
  for (let tries = 1; ; tries++) {
    let failure: unknown;
    try {
      return { status, body: await work({ request: claim, status }), replayed: false };
    } catch (error) {
      failure = error;
    }
    const taken = isKeyTaken(failure);
    // After a refusal, a read that fails too (the database gone) leaves the refusal to answer.
    const stored = await readStoredResponse(db, claim).catch((error: unknown) => {
      throw taken ? error : failure;
    });
    if (stored) return replay<T>(request, claim, stored);
    if (!taken) throw failure;
    // Forgotten (past its lifetime, now deleted) or gone meanwhile: the key is free again.
    if (tries >= CLAIM_TRIES)
      throw new ApiError(409, "idempotency_error", `Idempotency-Key "${claim.key}" is being reused concurrently; retry`, "Idempotency-Key");
  }
}

/**
 * `idempotent` for work of several statements (a refund, a withdrawal): with a key, a response already stored under
 * it is replayed before the work runs, so that a retry neither repeats the work's reads and writes nor waits on its
 * locks only to roll them back. The work then runs in a transaction whose last statement stores the key with the
 * response (`rememberResponse`): that commit still decides between concurrent duplicates, which all find the key
 * free; a taken key rolls the work back, as does a duplicate the work refuses (a refund of a payment the first made
 * refunding), and either replays the first's response.
 */
export async function idempotentInTransaction<T>(db: Db, owner: KeyOwner, request: FastifyRequest, status: number, work: (db: Db) => Promise<T>) {
  const claim = keyedRequest(owner, request);
  const stored = claim && (await readStoredResponse(db, claim));
  if (claim && stored) return replay<T>(request, claim, stored);
  return idempotent(db, owner, request, status, (key) =>
    key
      ? db.transaction().execute(async (trx) => {
          const response = await work(trx);
          await rememberResponse(trx, { ...key, response });
          return response;
        })
      : work(db),
  );
}
