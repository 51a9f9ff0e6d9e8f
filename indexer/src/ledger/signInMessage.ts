import { getAddress, isAddress, type Address } from "viem";
import { createSiweMessage, parseSiweMessage, validateSiweMessage } from "viem/siwe";

/** What a Sign-In with Ethereum message must be for to sign in to this gateway's dashboard. */
export interface SignInExpectations {
  /** The gateway's public host (PUBLIC_URL's host and port): the EIP-4361 `domain`, which wallets check against the page. */
  domain: string;
  /** The gateway's public origin: the message's URI must be on it. */
  origin: string;
  /** The chain this gateway's escrow is on. */
  chainId: number;
}

/** How long a nonce may be used after the gateway issued it. */
export const NONCE_TTL_MS = 5 * 60_000;
/** How far ahead of the gateway's clock a browser's may run: `issuedAt` in the future by up to this is not refused. */
export const CLOCK_SKEW_MS = 2 * 60_000;
/** The oldest `issuedAt` taken: a message is signed moments after its nonce is issued. */
export const MESSAGE_MAX_AGE_MS = NONCE_TTL_MS + CLOCK_SKEW_MS;

/**
 * The message the dashboard asks a wallet to sign: for the page's host and origin, `address`, the gateway's chain and
 * a nonce it issued, valid from `issuedAt` for as long as the nonce. The page builds it for the browser's wallet, the
 * one-click demo sign-in for the local node's account: one wording, checked by one rule (checkSignInMessage).
 */
export function signInMessageText({
  domain,
  origin,
  address,
  chainId,
  nonce,
  issuedAt,
}: SignInExpectations & { address: Address; nonce: string; issuedAt: Date }): string {
  return createSiweMessage({
    domain,
    address,
    statement: "Sign in to the Open Pay dashboard.",
    uri: `${origin}/dashboard`,
    version: "1",
    chainId,
    nonce,
    issuedAt,
    expirationTime: new Date(issuedAt.getTime() + NONCE_TTL_MS),
  });
}

/** A sign-in refused: the status to answer with, what is at fault, and a sentence naming the problem. */
export class SignInRefused extends Error {
  override name = "SignInRefused";
  constructor(
    readonly statusCode: 400 | 401 | 403,
    readonly field: "message" | "signature",
    message: string,
  ) {
    super(message);
  }
}

/** The fields of a message that passed the checks. */
export interface CheckedSignInMessage {
  address: Address;
  nonce: string;
  chainId: number;
  issuedAt: Date;
  expirationTime?: Date;
}

const refused = (problem: string) => new SignInRefused(401, "message", problem);
const iso = (date: Date) => date.toISOString();

/**
 * Checks an EIP-4361 message against this gateway and the time `now`; throws SignInRefused naming the first problem
 * (a message for another site, another chain, out of its time). Pure: the nonce's single use, the signature and
 * the address's standing are the sign-in's (dashboardSignIn.ts). Parsed with viem's parser; viem's own validation
 * answers only yes or no, so each rule is checked here to say which failed, and viem's runs last for the rest of
 * EIP-4361's grammar (the nonce's form, the version).
 */
export function checkSignInMessage(text: string, expected: SignInExpectations, now: Date): CheckedSignInMessage {
  const message = parseSiweMessage(text);
  for (const field of ["domain", "address", "uri", "version", "chainId", "nonce", "issuedAt"] as const) {
    if (message[field] === undefined) throw new SignInRefused(400, "message", `not a Sign-In with Ethereum (EIP-4361) message: it has no ${field}`);
  }
  if (message.version !== "1") throw refused(`the message is version ${message.version}; EIP-4361 knows version 1 only`);
  if (message.domain !== expected.domain) throw refused(`the message is for domain ${message.domain}, this gateway is ${expected.domain}`);
  let uri: URL;
  try {
    uri = new URL(message.uri!);
  } catch {
    throw refused(`the message's URI ${message.uri} is not a URL`);
  }
  if (uri.origin !== expected.origin) throw refused(`the message's URI ${message.uri} is not on this gateway (${expected.origin})`);
  const scheme = new URL(expected.origin).protocol.replace(/:$/, "");
  if (message.scheme !== undefined && message.scheme !== scheme) throw refused(`the message is for scheme ${message.scheme}, this gateway uses ${scheme}`);
  if (message.chainId !== expected.chainId) throw refused(`the message is for chain ${message.chainId}, this gateway runs on chain ${expected.chainId}`);
  if (!isAddress(message.address!, { strict: false })) throw refused(`the message's address ${message.address} is not an address`);

  const issuedAt = message.issuedAt!;
  if (Number.isNaN(issuedAt.getTime())) throw refused("the message's Issued At is not an RFC 3339 time");
  if (issuedAt.getTime() > now.getTime() + CLOCK_SKEW_MS)
    throw refused(`the message was issued at ${iso(issuedAt)}, in the future (the gateway's time is ${iso(now)})`);
  if (issuedAt.getTime() < now.getTime() - MESSAGE_MAX_AGE_MS) {
    throw refused(`the message was issued at ${iso(issuedAt)}, more than ${MESSAGE_MAX_AGE_MS / 60_000} minutes ago: sign in again`);
  }
  const { expirationTime, notBefore } = message;
  if (expirationTime && (Number.isNaN(expirationTime.getTime()) || expirationTime.getTime() <= now.getTime())) {
    throw refused(`the message expired at ${Number.isNaN(expirationTime.getTime()) ? "an unreadable time" : iso(expirationTime)}: sign in again`);
  }
  if (notBefore && (Number.isNaN(notBefore.getTime()) || notBefore.getTime() > now.getTime())) {
    throw refused(`the message is not valid before ${Number.isNaN(notBefore.getTime()) ? "an unreadable time" : iso(notBefore)}`);
  }
  if (!validateSiweMessage({ message, domain: expected.domain, time: now })) {
    throw refused("the message does not follow EIP-4361 (its nonce must be 8 or more letters and digits)");
  }
  return { address: getAddress(message.address!), nonce: message.nonce!, chainId: message.chainId!, issuedAt, ...(expirationTime ? { expirationTime } : {}) };
}
