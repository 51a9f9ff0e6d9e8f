import { pbkdf2Sync } from "node:crypto";
import { bytesToHex, type Hex } from "viem";
import { HDKey } from "viem/accounts";

/**
 * Hardhat's development accounts: every Hardhat chain derives them from this published mnemonic, so their keys are
 * public knowledge. Fine for the local chain, which they fund with 10,000 native coins each; never for a real one.
 */
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** The accounts the local deployment gives a part to (deploy/parameters/local.json5), and the demo's customer. */
export const LOCAL_ACCOUNTS = {
  /** The keeper: OPERATOR_ROLE. */
  operator: 1,
  /** The demo merchant's intent signer: the API signs payment intents with it. */
  intentSigner: 4,
  /** The customer who pays in `npm run demo` (and in the `simulate` operator command). */
  customer: 6,
} as const;

let seed: Uint8Array | undefined;

/**
 * The private key of Hardhat's account `index` (BIP-44, m/44'/60'/0'/0/index). The mnemonic's seed is BIP-39's
 * PBKDF2, computed once with Node's own: the pure-JavaScript one took a fifth of a second per key at every npm start.
 */
export function hardhatAccountKey(index: number): Hex {
  seed ??= pbkdf2Sync(HARDHAT_MNEMONIC.normalize("NFKD"), "mnemonic", 2048, 64, "sha512");
  const key = HDKey.fromMasterSeed(seed).derive(`m/44'/60'/0'/0/${index}`).privateKey;
  if (!key) throw new Error(`no private key for Hardhat account ${index}`);
  return bytesToHex(key);
}
