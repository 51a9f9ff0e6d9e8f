import { ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { AddressLike, BigNumberish, Signer } from "ethers";
import type { BlacklistToken, IOpenPayEscrow, RevertingReceiver } from "../../typechain-types";
import { STALENESS, TOKENS, type EscrowFixture } from "./fixture";
import type { PaymentIntent } from "./intents";

// One definition of these, shared with the paying tests.
export { Status, expectPayment, expectLedger } from "./payments";

export const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;
export const SIGNER_MANAGER_ROLE = ethers.id("SIGNER_MANAGER_ROLE");
export const PAUSER_ROLE = ethers.id("PAUSER_ROLE");
export const OPERATOR_ROLE = ethers.id("OPERATOR_ROLE");

/** Moves the admin role from `from` to `to` in its two steps: begun, the delay waited out, accepted. */
export async function transferAdmin(escrow: IOpenPayEscrow, from: Signer, to: Signer) {
  await escrow.connect(from).beginDefaultAdminTransfer(await to.getAddress());
  const [, acceptSchedule] = await escrow.pendingDefaultAdmin();
  await time.increaseTo(acceptSchedule + 1n);
  await escrow.connect(to).acceptDefaultAdminTransfer();
}

/** BNB amounts in wei. */
export const BNB = (amount: string) => ethers.parseEther(amount);

export interface Signed {
  intent: PaymentIntent;
  signature: string;
}

/** Resolves anything address-like to a checksummed string (for `withArgs`). */
export async function addr(target: AddressLike): Promise<string> {
  return ethers.resolveAddress(target);
}

/**
 * Deposits `amount` of an ERC-20 into the payment of `signed`, as `payer`, recorded for `beneficiary` (zero: the
 * payer).
 */
export async function payToken(
  escrow: IOpenPayEscrow,
  payer: Signer,
  signed: Signed,
  token: AddressLike,
  amount: BigNumberish,
  beneficiary: AddressLike = ethers.ZeroAddress,
) {
  return escrow.connect(payer).pay(signed.intent, signed.signature, token, amount, beneficiary);
}

/** Deposits `value` wei of BNB into the payment of `signed`, as `payer`, recorded for `beneficiary` (zero: the payer). */
export async function payBnb(escrow: IOpenPayEscrow, payer: Signer, signed: Signed, value: BigNumberish, beneficiary: AddressLike = ethers.ZeroAddress) {
  return escrow.connect(payer).payNative(signed.intent, signed.signature, beneficiary, { value });
}

/**
 * A BlacklistToken (18 decimals) allowed in the escrow at $1 (the USDT feed), minted to and approved by
 * the fixture's customer and other.
 */
export async function deployBlacklistToken(f: EscrowFixture): Promise<BlacklistToken> {
  const token = (await (await ethers.getContractFactory("BlacklistToken")).deploy()) as unknown as BlacklistToken;
  await f.escrow.connect(f.admin).setToken(token, f.usdtFeed, STALENESS.stable);
  for (const holder of [f.customer, f.other]) {
    await token.mint(holder.address, TOKENS("1000000"));
    await token.connect(holder).approve(f.escrow, ethers.MaxUint256);
  }
  return token;
}

/** A contract payer that refuses BNB. */
export async function deployRevertingReceiver(): Promise<RevertingReceiver> {
  return (await (await ethers.getContractFactory("RevertingReceiver")).deploy()) as unknown as RevertingReceiver;
}

/** Has `receiver` pay BNB into a payment (the receiver is the payer), relayed by `caller`. */
export async function relayPayBnb(receiver: RevertingReceiver, caller: Signer, escrow: IOpenPayEscrow, signed: Signed, value: BigNumberish) {
  const data = escrow.interface.encodeFunctionData("payNative", [signed.intent, signed.signature, ethers.ZeroAddress]);
  return receiver.connect(caller).relay(escrow, data, { value });
}

/** Has `receiver` make any call to the escrow (it is `msg.sender`), relayed by `caller`. */
export async function relayEscrowCall(receiver: RevertingReceiver, caller: Signer, escrow: IOpenPayEscrow, fn: string, args: unknown[]) {
  const data = escrow.interface.encodeFunctionData(fn as never, args as never);
  return receiver.connect(caller).relay(escrow, data);
}

/** Mines the next block one second after the intent's expiry (the first block in which it can expire). */
export async function passExpiry(intent: PaymentIntent) {
  await time.setNextBlockTimestamp(intent.expiry + 1n);
}

/** Moves the chain to after the expiry and refreshes the feeds so that new deposits still price. */
export async function passExpiryAndRefreshFeeds(f: EscrowFixture, intent: PaymentIntent) {
  await time.increaseTo(intent.expiry + 1n);
  await f.usdtFeed.updateAnswer(await f.usdtFeed.latestAnswer());
  await f.usdcFeed.updateAnswer(await f.usdcFeed.latestAnswer());
  await f.bnbFeed.updateAnswer(await f.bnbFeed.latestAnswer());
}

/** Adds wei to an account's balance without a transaction (e.g. BNB forced into the escrow). */
export async function addBnb(target: AddressLike, wei: bigint) {
  const account = await addr(target);
  const balance = await ethers.provider.getBalance(account);
  await network.provider.send("hardhat_setBalance", [account, ethers.toQuantity(balance + wei)]);
}

/** The escrow's holding of a token (BNB for the zero address). */
export async function heldBy(escrow: IOpenPayEscrow, token: string): Promise<bigint> {
  if (token === ethers.ZeroAddress) return ethers.provider.getBalance(escrow);
  const erc20 = await ethers.getContractAt("TestToken", token);
  return erc20.balanceOf(escrow);
}
