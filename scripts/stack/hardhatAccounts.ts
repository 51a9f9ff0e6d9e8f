import { bytesToHex, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";

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

/** The private key of Hardhat's account `index`. */
export function hardhatAccountKey(index: number): Hex {
  const key = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (!key) throw new Error(`no private key for Hardhat account ${index}`);
  return bytesToHex(key);
}
