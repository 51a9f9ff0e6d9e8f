import { ethers } from "hardhat";
import type { AddressLike, BigNumberish, Signer } from "ethers";
import type { DepositForwarder, IOpenPayEscrow, StipendSender, TestToken } from "../../typechain-types";
import { deployEscrow, NATIVE } from "./fixture";
import type { Address, Hex } from "viem";
import { depositAddress } from "../../indexer/src/chain/depositAddress";
import { paymentIntentDigest, type PaymentIntent as OffChainIntent } from "../../indexer/src/payments/paymentIntent";
import type { PaymentIntent } from "./intents";
import { addr, type Signed } from "./scenarios";

/**
 * The fixture's escrow plus the accounts the deposit-address flows need: a keeper that collects (no role),
 * an operator holding OPERATOR_ROLE, a refund wallet for intents that name `refundTo`, and a stranger.
 */
export async function depositFixture() {
  const f = await deployEscrow();
  const signers = await ethers.getSigners();
  const [keeper, operator, refundWallet, stranger] = [signers[9], signers[10], signers[11], signers[12]];
  const OPERATOR_ROLE = await f.escrow.OPERATOR_ROLE();
  await f.escrow.connect(f.admin).grantRole(OPERATOR_ROLE, operator.address);
  const implementation = await f.escrow.FORWARDER_IMPLEMENTATION();
  return { ...f, keeper, operator, refundWallet, stranger, OPERATOR_ROLE, implementation };
}

export type DepositFixture = Awaited<ReturnType<typeof depositFixture>>;

/**
 * Runtime code of the deposit-address proxy delegating to `implementation` (contracts/libraries/DepositAddressClone.sol),
 * written out here apart from the indexer's constants.
 */
export function cloneRuntimeCode(implementation: string): string {
  return ethers.concat(["0x3d3d3615602f573d3d363d3d37363d73", implementation, "0x5af43d3d93803e602f57fd5bf3"]).toLowerCase();
}

/** The EIP-712 digest of an intent, computed off-chain by the indexer's function. */
export async function intentDigest(escrow: IOpenPayEscrow, intent: PaymentIntent): Promise<string> {
  const { chainId } = await ethers.provider.getNetwork();
  return paymentIntentDigest({ chainId, escrow: (await escrow.getAddress()) as Address, intent: intent as OffChainIntent });
}

/** The deposit address of an intent, computed off-chain by the indexer's function (CREATE2, salt = digest). */
export async function predictDepositAddress(escrow: IOpenPayEscrow, intent: PaymentIntent): Promise<string> {
  return depositAddress({
    escrow: (await escrow.getAddress()) as Address,
    forwarderImplementation: (await escrow.FORWARDER_IMPLEMENTATION()) as Address,
    digest: (await intentDigest(escrow, intent)) as Hex,
  });
}

/** The forwarder (clone or implementation) at an address. */
export async function forwarderAt(at: string): Promise<DepositForwarder> {
  return (await ethers.getContractAt("DepositForwarder", at)) as unknown as DepositForwarder;
}

/** Code at an address, lower case ("0x" when none). */
export async function codeAt(at: AddressLike): Promise<string> {
  return (await ethers.provider.getCode(await addr(at))).toLowerCase();
}

/** What `account` holds of `token` (BNB for the zero address). */
export async function balanceIn(token: TestToken | string, account: AddressLike): Promise<bigint> {
  const tokenAddress = typeof token === "string" ? token : await token.getAddress();
  if (tokenAddress === NATIVE) return ethers.provider.getBalance(await addr(account));
  const erc20 = (await ethers.getContractAt("TestToken", tokenAddress)) as unknown as TestToken;
  return erc20.balanceOf(await addr(account));
}

/** A plain transfer of `amount` of `token` (BNB for the zero address) from `from` to `to`. */
export async function plainTransfer(token: TestToken | string, from: Signer, to: AddressLike, amount: BigNumberish) {
  const tokenAddress = typeof token === "string" ? token : await token.getAddress();
  if (tokenAddress === NATIVE) return from.sendTransaction({ to: await addr(to), value: amount });
  const erc20 = (await ethers.getContractAt("TestToken", tokenAddress)) as unknown as TestToken;
  return erc20.connect(from).transfer(await addr(to), amount);
}

/**
 * Has `from` send `amount` to the deposit address of `s` by plain transfer, then has the keeper collect it.
 * Returns the deposit address.
 */
export async function depositAndCollect(
  f: DepositFixture,
  s: Signed,
  token: TestToken | string,
  amount: bigint,
  from: Signer = f.customer,
  signature: string = s.signature,
): Promise<string> {
  const depositAddress = await f.escrow.depositAddressOf(s.intent);
  await plainTransfer(token, from, depositAddress, amount);
  const tokenAddress = typeof token === "string" ? token : await token.getAddress();
  await f.escrow.connect(f.keeper).collect(s.intent, signature, tokenAddress);
  return depositAddress;
}

/** Deploys a StipendSender: a contract that pays with Solidity's `transfer` (2,300 gas for the receiver). */
export async function deployStipendSender(deployer: Signer): Promise<StipendSender> {
  const factory = await ethers.getContractFactory("StipendSender", deployer);
  return (await factory.deploy()) as unknown as StipendSender;
}

/** Sends `value` wei to `to` through the stipend sender (2,300 gas for the receiver; it reverts if that fails). */
export async function sendWithStipend(sender: StipendSender, from: Signer, to: AddressLike, value: bigint) {
  return sender.connect(from).forward(await addr(to), { value });
}
