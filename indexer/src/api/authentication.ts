import type { FastifyRequest } from "fastify";
import { findKeyOwner, type KeyOwner } from "../store/merchantStore";
import type { Db } from "../store/paymentStore";
import { ApiError } from "./apiErrors";
import { modeOfKey } from "./apiKeys";
import type { Mode } from "./paymentResource";

/** How long a key's owner is remembered in memory: a revoked key stops working within this time. */
export const KEY_CACHE_MS = 30_000;

/**
 * Finds the merchant a request's `Authorization: Bearer op_…` key belongs to. Owners are cached for KEY_CACHE_MS
 * so that a request costs no key lookup; only keys that exist are cached, so guessing cannot fill the cache.
 */
export class Authenticator {
  private readonly cache = new Map<string, { owner: KeyOwner; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly serverMode: Mode,
    private readonly chainId: number,
  ) {}

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
    if (cached && cached.until > Date.now()) return cached.owner;
    const owner = await findKeyOwner(this.db, key);
    if (!owner) throw new ApiError(401, "authentication_error", "unknown or revoked API key", "Authorization");
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { owner, until: Date.now() + KEY_CACHE_MS });
    return owner;
  }
}
