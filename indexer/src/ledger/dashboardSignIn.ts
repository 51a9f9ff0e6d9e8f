import { randomBytes } from "node:crypto";
import { isAddressEqual, type Address, type Hex, type PublicClient } from "viem";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import { ApiError } from "./apiErrors";
import { issueNonce, useNonce, type NonceUse } from "../store/dashboardSessionStore";
import { allMerchants, merchantsWithAddress, type Merchant } from "../store/merchantStore";
import type { Db } from "../store/paymentStore";
import { checkSignInMessage, NONCE_TTL_MS, SignInRefused, type SignInExpectations } from "./signInMessage";

/** Whom a dashboard session speaks for: the merchant, and the address that signed in to it (its own or a signer's). */
export interface DashboardAccount {
  merchant: Merchant;
  address: Address;
  role: "merchant" | "signer";
}

/**
 * What signing in reads and writes, as narrow functions: the store's nonces and merchants, the escrow's signers and
 * the signature check. Tests give fakes; `dashboardAccess` gives the real ones.
 */
export interface SignInPorts {
  verifySignature(signed: { address: Address; message: string; signature: Hex }): Promise<boolean>;
  useNonce(nonce: string, now: Date): Promise<NonceUse>;
  merchantsWithAddress(address: Address): Promise<Merchant[]>;
  allMerchants(): Promise<Merchant[]>;
  /** The escrow's `isSigner(merchant, signer)`, at the chain's latest block. */
  isSigner(merchant: Address, signer: Address): Promise<boolean>;
  /**
   * This gateway's intent signer: every merchant authorises it on the escrow so that the API can sign their payment
   * intents, but it is a server's key, not a person, so it never signs in (nor would a leak of it open a dashboard).
   */
  gatewaySigner: Address;
  escrow: Address;
}

/** The ports over the database and the chain. */
export function dashboardAccess({ db, client, escrow, gatewaySigner }: { db: Db; client: PublicClient; escrow: Address; gatewaySigner: Address }): SignInPorts {
  return {
    // viem's verifyMessage through a client: an EOA's signature is recovered locally (mode "eoa" tries that
    // first, with no RPC call); anything else is checked on chain through ERC-6492's universal validator, which
    // covers ERC-1271 smart-contract wallets (a Safe signing in as an authorised signer) and counterfactual ones.
    verifySignature: (signed) => client.verifyMessage({ ...signed, mode: "eoa" }),
    useNonce: (nonce, now) => useNonce(db, nonce, now),
    merchantsWithAddress: (address) => merchantsWithAddress(db, address),
    allMerchants: () => allMerchants(db),
    isSigner: async (merchant, signer) => {
      try {
        return await client.readContract({ address: escrow, abi: openPayEscrowAbi, functionName: "isSigner", args: [merchant, signer] });
      } catch {
        // Not knowing is no yes: the sign-in or the request waits for the chain rather than guessing.
        throw new ApiError(503, "api_error", "cannot read the escrow's authorised signers from the chain right now; try again in a moment", undefined, 5);
      }
    },
    gatewaySigner,
    escrow,
  };
}

/**
 * A fresh nonce for a sign-in message, stored until `expires_at`. 128 random bits from Node's CSPRNG, as hex (EIP-4361
 * wants letters and digits): viem's generateSiweNonce draws on Math.random, which is not made to be unguessable.
 */
export async function newSignInNonce(db: Db, now: Date): Promise<{ nonce: string; expiresAt: Date }> {
  const nonce = randomBytes(16).toString("hex");
  const expiresAt = new Date(now.getTime() + NONCE_TTL_MS);
  await issueNonce(db, nonce, expiresAt, now);
  return { nonce, expiresAt };
}

const NONCE_PROBLEMS: Record<Exclude<NonceUse, "ok">, string> = {
  unknown: "the message's nonce was not issued by this gateway: start the sign-in again",
  used: "the message's nonce was used already: a sign-in message signs in once",
  expired: `the message's nonce expired (a nonce lasts ${NONCE_TTL_MS / 60_000} minutes): start the sign-in again`,
};

/**
 * Signs in with an EIP-4361 message and its signature (personal_sign): the message must be for this gateway (pure
 * checks, signInMessage.ts), signed by its address, carry a nonce this gateway issued and nobody used (spent here,
 * once), and the address must be a merchant's or one of its authorised signers. Throws SignInRefused naming what
 * failed. The signature is checked before the nonce is spent, so that a forged message cannot burn a real one.
 */
export async function signIn(
  ports: SignInPorts,
  expected: SignInExpectations,
  { message, signature }: { message: string; signature: Hex },
  now: Date,
): Promise<DashboardAccount> {
  const checked = checkSignInMessage(message, expected, now);
  if (!(await ports.verifySignature({ address: checked.address, message, signature }))) {
    throw new SignInRefused(401, "signature", `the signature is not ${checked.address}'s signature of this message`);
  }
  const use = await ports.useNonce(checked.nonce, now);
  if (use !== "ok") throw new SignInRefused(401, "message", NONCE_PROBLEMS[use]);
  return accountOf(ports, checked.address);
}

/** The merchant an address may sign in to: the one whose address it is, else the one that authorised it as a signer. */
export async function accountOf(ports: SignInPorts, address: Address): Promise<DashboardAccount> {
  if (isAddressEqual(address, ports.gatewaySigner)) {
    throw new SignInRefused(403, "message", `${address} is this gateway's intent signer: it signs payment intents, not in to the dashboard`);
  }
  const owned = await ports.merchantsWithAddress(address);
  if (owned.length === 1) return { merchant: owned[0], address, role: "merchant" };
  if (owned.length > 1) throw ambiguous(address, owned);
  // The escrow keeps signers by merchant, so each of this gateway's merchants is asked (a handful on a self-hosted
  // gateway; with many, the SignerUpdated events would be indexed into a table instead).
  const merchants = await ports.allMerchants();
  const answers = await Promise.all(merchants.map((merchant) => ports.isSigner(merchant.address, address)));
  const signerOf = merchants.filter((_, i) => answers[i]);
  if (signerOf.length === 1) return { merchant: signerOf[0], address, role: "signer" };
  if (signerOf.length > 1) throw ambiguous(address, signerOf);
  throw new SignInRefused(403, "message", `${address} is neither a merchant of this gateway nor an authorised signer of one on the escrow ${ports.escrow}`);
}

const ambiguous = (address: Address, merchants: Merchant[]) =>
  new SignInRefused(
    403,
    "message",
    `${address} may sign in to several merchants (${merchants.map((merchant) => merchant.id).join(", ")}); the dashboard signs in to one merchant per address`,
  );

/**
 * Whether a signed-in account may still act: a signer's authorisation is read from the escrow again (a merchant that
 * revoked it ends the session at the next request); a merchant's own address, as long as the merchant has it.
 */
export async function stillAuthorised(ports: Pick<SignInPorts, "isSigner">, account: DashboardAccount): Promise<boolean> {
  if (account.role === "merchant") return isAddressEqual(account.address, account.merchant.address);
  return ports.isSigner(account.merchant.address, account.address);
}
