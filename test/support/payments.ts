import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { AddressLike, Signer, TypedDataDomain } from "ethers";
import type { IOpenPayEscrow, TestToken, MockV3Aggregator, FeeOnTransferToken, ReentrantToken, ReturnsFalseToken } from "../../typechain-types";
import type { EscrowFixture } from "./fixture";
import { escrowDomain, PAYMENT_INTENT_TYPES, type PaymentIntent } from "./intents";

/** `IOpenPayEscrow.Status`, as ethers v6 returns it (bigint). */
export const Status = {
  None: 0n,
  Open: 1n,
  Completed: 2n,
  Expired: 3n,
  PartiallyRefunded: 4n,
  Refunded: 5n,
} as const;

/** Token indexes the fixture registers, in order. */
export const INDEX = { usdt: 1n, usdc: 2n, bnb: 3n } as const;

/** Id of the fixture's merchant (the first one registered). */
export const MERCHANT_ID = 1n;

export const U104_MAX = 2n ** 104n - 1n;
export const BPS = 10_000n;

/** Whole-unit helpers for amounts not in 18 decimals. */
export const units = (amount: string, decimals: number) => ethers.parseUnits(amount, decimals);

/** Deploys a mintable test token with the given decimals. */
export async function deployToken(decimals: number, symbol = "TKN"): Promise<TestToken> {
  const Token = await ethers.getContractFactory("TestToken");
  return (await Token.deploy(`Test ${symbol}`, symbol, decimals)) as unknown as TestToken;
}

/** Deploys a Chainlink mock feed. */
export async function deployFeed(decimals: number, answer: bigint): Promise<MockV3Aggregator> {
  const Feed = await ethers.getContractFactory("MockV3Aggregator");
  return (await Feed.deploy(decimals, answer)) as unknown as MockV3Aggregator;
}

type AnyToken = TestToken | FeeOnTransferToken | ReentrantToken | ReturnsFalseToken;

/**
 * Allows `token` on the fixture's escrow with `feed`, mints `mint` units to each of the given holders
 * and approves the escrow for them.
 */
export async function listToken(
  f: EscrowFixture,
  token: AnyToken,
  feed: MockV3Aggregator,
  opts: { staleness?: number; mint?: bigint; holders?: Signer[] } = {},
) {
  const { staleness = 86_400, mint = 0n, holders = [f.customer, f.other] } = opts;
  await f.escrow.setToken(await token.getAddress(), await feed.getAddress(), staleness);
  for (const holder of holders) {
    if (mint > 0n) await token.mint(await holder.getAddress(), mint);
    await token.connect(holder).approve(await f.escrow.getAddress(), ethers.MaxUint256);
  }
}

/** Signs an intent with a domain differing from the escrow's by `overrides`. */
export async function signWithDomain(signer: Signer, escrow: IOpenPayEscrow, intent: PaymentIntent, overrides: Partial<TypedDataDomain>): Promise<string> {
  const domain = { ...(await escrowDomain(escrow)), ...overrides };
  return signer.signTypedData(domain, PAYMENT_INTENT_TYPES, intent);
}

/** The address the escrow recovers from `signature` over `intent`. */
export async function recoverOnEscrow(escrow: IOpenPayEscrow, intent: PaymentIntent, signature: string) {
  return ethers.verifyTypedData(await escrowDomain(escrow), PAYMENT_INTENT_TYPES, intent, signature);
}

export interface StoredPayment {
  status: bigint;
  tokenIndex: bigint;
  merchantId?: bigint;
  amount: bigint;
  receivedUsd: bigint;
}

/** Asserts every field of a stored payment. */
export async function expectPayment(escrow: IOpenPayEscrow, paymentId: string, expected: StoredPayment) {
  const p = await escrow.paymentOf(paymentId);
  expect({
    status: p.status,
    tokenIndex: p.tokenIndex,
    merchantId: p.merchantId,
    amount: p.amount,
    receivedUsd: p.receivedUsd,
  }).to.deep.equal({ merchantId: MERCHANT_ID, ...expected });
}

/** Asserts a token's ledger. */
export async function expectLedger(escrow: IOpenPayEscrow, token: AddressLike, owed: bigint, fees = 0n) {
  const l = await escrow.ledgerOf(token);
  expect({ owed: l.owed, fees: l.fees }).to.deep.equal({ owed, fees });
}

/** USD value (18 decimals) the escrow gives `amount` units, computed independently, rounding down. */
export function usdValue(amount: bigint, price: bigint, tokenDecimals: number, feedDecimals: number): bigint {
  const scale = tokenDecimals + feedDecimals;
  if (scale >= 18) return (amount * price) / 10n ** BigInt(scale - 18);
  return amount * price * 10n ** BigInt(18 - scale);
}

/** Makes the next transaction's block carry `timestamp`. */
export async function atNextBlock(timestamp: bigint | number) {
  await time.setNextBlockTimestamp(timestamp);
}
