import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { AddressLike } from "ethers";
import type { IOpenPayEscrow, TestToken, MockV3Aggregator } from "../../typechain-types";
import { signIntent, type PaymentIntent } from "./intents";

export const NATIVE = ethers.ZeroAddress;
export const FEED_DECIMALS = 8;
export const USD = (amount: string) => ethers.parseUnits(amount, 18);
export const TOKENS = (amount: string) => ethers.parseUnits(amount, 18);
/**
 * Deploys an escrow and returns it as everything callable at its address (`IOpenPayEscrow`): the payment half's
 * functions and, through its fallback, the administration's.
 */
export async function newEscrow(admin: string, treasury: string): Promise<IOpenPayEscrow> {
  const deployed = await (await ethers.getContractFactory("OpenPayEscrow")).deploy(admin, treasury);
  return (await ethers.getContractAt("IOpenPayEscrow", await deployed.getAddress())) as unknown as IOpenPayEscrow;
}

/**
 * Every token configured on `escrow`, disallowed ones included, in index order: `tokenAt(1)`, `tokenAt(2)`, … until
 * an unused index (which reads as the zero address, as BNB does: BNB is told apart by its own index).
 */
export async function configuredTokens(escrow: IOpenPayEscrow): Promise<string[]> {
  const nativeIndex = (await escrow.tokenConfigOf(NATIVE)).index;
  const tokens: string[] = [];
  for (let index = 1n; index <= 255n; index++) {
    const token = await escrow.tokenAt(index);
    if (token === ethers.ZeroAddress && nativeIndex !== index) break;
    tokens.push(token);
  }
  return tokens;
}

/** An intent's `acceptedTokens` accepting exactly `tokens` (each must be configured on `escrow`). */
export async function tokenMask(escrow: IOpenPayEscrow, tokens: AddressLike[]): Promise<bigint> {
  let mask = 0n;
  for (const token of tokens) {
    const address = await ethers.resolveAddress(token);
    const { index } = await escrow.tokenConfigOf(address);
    if (index === 0n) throw new Error(`tokenMask: ${address} is not configured on the escrow`);
    mask |= 1n << index;
  }
  return mask;
}

/** The `acceptedTokens` of an intent accepting every token configured on `escrow` (the test intents' default). */
export async function allTokensMask(escrow: IOpenPayEscrow): Promise<bigint> {
  return tokenMask(escrow, await configuredTokens(escrow));
}

export const PRICE = (usd: string) => ethers.parseUnits(usd, FEED_DECIMALS);
export const STALENESS = { stable: 86_400, bnb: 3_600 };
export const TTL = 30 * 60;

let nextSerial = 1n;
/** A fresh payment id for every intent a test makes: the merchant's address, then a 12-byte serial. */
export function newPaymentId(merchant: string): string {
  return ethers.concat([merchant, ethers.zeroPadValue(ethers.toBeHex(nextSerial++), 12)]);
}

/**
 * Deploys the escrow with USDT, USDC (18 decimals, as on BSC) and BNB at realistic prices,
 * a merchant with a signer and payout wallet, and customers holding tokens.
 */
export async function deployEscrow() {
  const [admin, signerManager, pauser, merchant, intentSigner, payout, customer, other, treasury] = await ethers.getSigners();

  const Token = await ethers.getContractFactory("TestToken");
  const usdt = (await Token.deploy("Tether USD", "USDT", 18)) as unknown as TestToken;
  const usdc = (await Token.deploy("USD Coin", "USDC", 18)) as unknown as TestToken;
  const Feed = await ethers.getContractFactory("MockV3Aggregator");
  const usdtFeed = (await Feed.deploy(FEED_DECIMALS, PRICE("1"))) as unknown as MockV3Aggregator;
  const usdcFeed = (await Feed.deploy(FEED_DECIMALS, PRICE("1"))) as unknown as MockV3Aggregator;
  const bnbFeed = (await Feed.deploy(FEED_DECIMALS, PRICE("600"))) as unknown as MockV3Aggregator;

  const escrow = await newEscrow(admin.address, treasury.address);
  await escrow.grantRole(await escrow.SIGNER_MANAGER_ROLE(), signerManager.address);
  await escrow.grantRole(await escrow.PAUSER_ROLE(), pauser.address);
  await escrow.setToken(await usdt.getAddress(), await usdtFeed.getAddress(), STALENESS.stable);
  await escrow.setToken(await usdc.getAddress(), await usdcFeed.getAddress(), STALENESS.stable);
  await escrow.setToken(NATIVE, await bnbFeed.getAddress(), STALENESS.bnb);
  await escrow.connect(signerManager).registerMerchant(merchant.address, payout.address, intentSigner.address);

  for (const holder of [customer, other]) {
    for (const token of [usdt, usdc]) {
      await token.mint(holder.address, TOKENS("1000000"));
      await token.connect(holder).approve(await escrow.getAddress(), ethers.MaxUint256);
    }
  }

  /**
   * An intent of the fixture's merchant: $100, expiring in `TTL`, accepting every token configured on the escrow
   * when it is made (restrict with `acceptedTokens: await accepting(token, …)`).
   */
  async function intent(overrides: Partial<PaymentIntent> = {}): Promise<PaymentIntent> {
    return {
      paymentId: newPaymentId(overrides.merchant ?? merchant.address),
      merchant: merchant.address,
      amountUsd: USD("100"),
      expiry: BigInt(await time.latest()) + BigInt(TTL),
      refundTo: ethers.ZeroAddress,
      acceptedTokens: overrides.acceptedTokens ?? (await allTokensMask(escrow)),
      ...overrides,
    };
  }

  /** The `acceptedTokens` of an intent accepting only `tokens`. */
  async function accepting(...tokens: AddressLike[]): Promise<bigint> {
    return tokenMask(escrow, tokens);
  }

  async function signed(overrides: Partial<PaymentIntent> = {}) {
    const terms = await intent(overrides);
    return { intent: terms, signature: await signIntent(intentSigner, escrow, terms) };
  }

  return {
    escrow,
    usdt,
    usdc,
    usdtFeed,
    usdcFeed,
    bnbFeed,
    admin,
    signerManager,
    pauser,
    merchant,
    intentSigner,
    payout,
    customer,
    other,
    treasury,
    intent,
    signed,
    accepting,
  };
}

export type EscrowFixture = Awaited<ReturnType<typeof deployEscrow>>;
