import { createHash, randomBytes } from "node:crypto";
import type { Mode } from "./paymentResource";

/** A key's prefix names its mode, so that a leaked key is recognisable (secret scanners) and a test key obvious. */
export const API_KEY_PREFIX: Record<Mode, string> = { test: "op_test_", live: "op_live_" };

/** A new API key: the key itself (shown once), its SHA-256 (stored) and the few characters shown in lists. */
export function newApiKey(mode: Mode): { key: string; hash: string; prefix: string } {
  const key = `${API_KEY_PREFIX[mode]}${randomBytes(24).toString("base64url")}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, API_KEY_PREFIX[mode].length + 4) };
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** The mode a key's prefix claims, or undefined when it is not an Open Pay key at all. */
export function modeOfKey(key: string): Mode | undefined {
  if (key.startsWith(API_KEY_PREFIX.test)) return "test";
  if (key.startsWith(API_KEY_PREFIX.live)) return "live";
  return undefined;
}
