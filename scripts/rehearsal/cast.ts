import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatAccountKey, LOCAL_ACCOUNTS } from "../stack/hardhatAccounts";

/**
 * Who plays whom in the rehearsal: each part a mainnet deployment gives a wallet of its own is played by one of
 * Hardhat's development accounts (public keys, funded only on the rehearsal's chain). The keeper, the intent signer
 * and the customer are the accounts `npm start` gives them.
 */
export const CAST_ACCOUNTS = {
  /** DEPLOYER_PRIVATE_KEY: deploys, is the first admin, begins the admin role's transfer. */
  deployer: 0,
  /** OPERATOR_PRIVATE_KEY: the keeper. */
  operator: LOCAL_ACCOUNTS.operator,
  /** The admin multisig the role is handed to. */
  admin: 2,
  /** The signer manager's hardware wallet: signs what `register-merchant --calldata` prints. */
  signerManager: 3,
  /** INTENT_SIGNER_PRIVATE_KEY: the API signs payment intents with it. */
  intentSigner: LOCAL_ACCOUNTS.intentSigner,
  /** The on-call pauser. */
  pauser: 5,
  /** The customer who scans and sends. */
  customer: LOCAL_ACCOUNTS.customer,
  /** MERCHANT_PRIVATE_KEY: the merchant's own wallet. */
  merchant: 7,
  /** The merchant's payout wallet. */
  payout: 8,
  /**
   * Everyone outside Open Pay: the issuers of USDT and USDC (who hand the customer their tokens) and Chainlink's
   * node operators (who report the feeds' rounds).
   */
  world: 9,
} as const;

export type Part = keyof typeof CAST_ACCOUNTS;

export function keyOf(part: Part): Hex {
  return hardhatAccountKey(CAST_ACCOUNTS[part]);
}

export function addressOf(part: Part): Address {
  return privateKeyToAccount(keyOf(part)).address;
}
