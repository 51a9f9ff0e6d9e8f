import { normalizeIP } from "@fastify/rate-limit";
import type { FastifyRequest } from "fastify";
import { findKeyOwner, recordKeyUse, type KeyOwner } from "../store/merchantStore";
import type { Db } from "../store/paymentStore";
import { ApiError } from "../ledger/apiErrors";
import { modeOfKey } from "../payments/apiKeys";
import { AuthFailureLimit } from "./authFailureLimit";
import { KeyLastUse } from "./keyLastUse";
import type { Mode } from "../payments/paymentResource";

/**
 * How long a key's owner is remembered in memory. A revocation is announced (ledger/apiKeyIssuance.ts) and forgotten
 * at once; should the announcement be lost, a revoked key stops working within this time.
 */
export const KEY_CACHE_MS = 30_000;

/** The client's address as limits count it: an IPv6 client by its /64 (it has many addresses), as @fastify/rate-limit does. */
export const clientAddress = (request: FastifyRequest): string => normalizeIP(request.ip);

/**
 * Finds the merchant a request's `Authorization: Bearer op_…` key belongs to. Owners are cached for KEY_CACHE_MS
 * so that a request costs no key lookup; only keys that exist are cached, so guessing cannot fill the cache. Keys are
 * looked up in the database only for addresses within their allowance of failed lookups (AuthFailureLimit). Each
 * authenticated request tells `lastUse`, which writes a key's last use at most once a minute, off the request's path.
 */
export class Authenticator {
  private readonly cache = new Map<string, { owner: KeyOwner; until: number }>();
  private readonly inFlight = new Map<string, Promise<KeyOwner | undefined>>();
  readonly lastUse: KeyLastUse;

  constructor(
    private readonly db: Db,
    private readonly serverMode: Mode,
    private readonly chainId: number,
    private readonly failures = new AuthFailureLimit(),
  ) {
    this.lastUse = new KeyLastUse((keyId, at) => recordKeyUse(db, keyId, at));
  }

  /** Forgets the cached owner of a revoked key: its next request is looked up, and refused. */
  forget(keyId: string): void {
    for (const [key, cached] of this.cache) if (cached.owner.keyId === keyId) this.cache.delete(key);
  }

  /** Forgets every cached owner: revocations may have been missed (the database's LISTEN was lost). */
  forgetAll(): void {
    this.cache.clear();
  }

  async owner(request: FastifyRequest): Promise<KeyOwner> {
    const header = request.headers.authorization;
    if (!header) throw new ApiError(401, "authentication_error", "no API key: send `Authorization: Bearer op_test_…`", "Authorization");
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new ApiError(401, "authentication_error", "Authorization must be `Bearer <API key>`", "Authorization");
    const key = match[1];
    const mode = modeOfKey(key);
    if (!mode) throw new ApiError(401, "authentication_error", "not an Open Pay API key (they start with op_test_ or op_live_)", "Authorization");
    if (mode !== this.serverMode) {
      throw new ApiError(
        403,
        "permission_error",
        `an op_${mode}_ key cannot be used here: this server runs chain ${this.chainId} in ${this.serverMode} mode (use an op_${this.serverMode}_ key)`,
        "Authorization",
      );
    }
    const cached = this.cache.get(key);
    if (cached && cached.until > Date.now()) {
      this.lastUse.used(cached.owner.keyId);
      return cached.owner;
    }
    const owner = await this.lookUp(clientAddress(request), key);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { owner, until: Date.now() + KEY_CACHE_MS });
    this.lastUse.used(owner.keyId);
    return owner;
  }

  /**
   * The key's owner from the database, if `address` has not failed too often; a miss counts against it. Requests
   * with the same key at once share one lookup: a merchant's burst after its key left the cache costs one query, and
   * counts once against its address while in flight.
   */
  private async lookUp(address: string, key: string): Promise<KeyOwner> {
    let lookup = this.inFlight.get(key);
    if (!lookup) {
      const now = Date.now();
      const waitMs = this.failures.waitMs(address, now);
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000);
        throw new ApiError(
          429,
          "rate_limit_error",
          `${this.failures.limit} unknown or revoked API keys from ${address} within ${this.failures.windowMs / 1000} seconds: keys from this address are not checked for the next ${seconds} s (the Retry-After header)`,
          "Authorization",
          seconds,
        );
      }
      // Counted before the lookup, so that lookups made at once cannot exceed the allowance; forgiven if the key is found.
      this.failures.count(address, now);
      lookup = findKeyOwner(this.db, key)
        .then(
          (owner) => {
            if (owner) this.failures.forgive(address);
            return owner;
          },
          (error: unknown) => {
            this.failures.forgive(address);
            throw error;
          },
        )
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, lookup);
    }
    const owner = await lookup;
    if (!owner) throw new ApiError(401, "authentication_error", "unknown or revoked API key", "Authorization");
    return owner;
  }
}
