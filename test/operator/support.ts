/**
 * Shared setup of the operator command tests: Open Pay deployed once per test file on Hardhat's in-process chain
 * with deploy/parameters/local.json5 (exactly as `npm start` does), its record in a temporary directory that
 * OPENPAY_DEPLOYMENTS_DIR points the commands at, and the chain put back to the fresh deployment after every test.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { zeroAddress, type Address, type Hex } from "viem";
import { deployOpenPay } from "../../deploy/deployOpenPay";
import type { DeploymentRecord } from "../../indexer/src/chain/deployment";
import { acceptedTokenMask, PAYMENT_INTENT_TYPES, paymentIntentDomain, type PaymentIntent } from "../../indexer/src/payments/paymentIntent";
import { readIntentFile, writeIntentFile } from "../../scripts/operator/intentFile";
import { OperatorError } from "../../scripts/operator/operatorError";
import { escrowPaymentStatus } from "../../scripts/operator/paymentStatus";
import { simulate, type SimulationResult } from "../../scripts/operator/simulate";
import type { IOpenPayEscrow, TestToken } from "../../typechain-types";

export const DEPLOYMENTS_DIR_VARIABLE = "OPENPAY_DEPLOYMENTS_DIR";

/** Hardhat's accounts as deploy/parameters/local.json5 and simulate use them. */
export const ACCOUNT = { admin: 0, operator: 1, merchant: 3, intentSigner: 4, payout: 5, customer: 6, treasury: 8 } as const;

/** An address no Hardhat account has a key for. */
export const KEYLESS = "0x000000000000000000000000000000000000dEaD";

export interface LocalOpenPay {
  /** The temporary directory holding <chainId>.json; OPENPAY_DEPLOYMENTS_DIR while the file's tests run. */
  dir: string;
  record: DeploymentRecord;
  escrow: IOpenPayEscrow;
  usdt: TestToken;
  usdc: TestToken;
  signers: HardhatEthersSigner[];
  admin: HardhatEthersSigner;
  operator: HardhatEthersSigner;
  merchant: HardhatEthersSigner;
  intentSigner: HardhatEthersSigner;
  payout: HardhatEthersSigner;
  customer: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  /** A file in `dir`, for intents saved by simulate --save. */
  file(name: string): string;
}

/** Sets an environment variable, or removes it for `undefined` (assigning undefined would store "undefined"). */
export function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

export function tempDir(prefix = "open-pay-operator-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/**
 * Registers, in the calling `describe`, the hooks that deploy Open Pay once (`before`), revert the chain to the
 * fresh deployment after every test (`afterEach`) and restore OPENPAY_DEPLOYMENTS_DIR (`after`). The returned
 * object is filled in by the `before` hook.
 */
export function useLocalOpenPay(): LocalOpenPay {
  const world = {} as LocalOpenPay;
  let previousDir: string | undefined;
  let snapshot: string;

  before(async function () {
    previousDir = process.env[DEPLOYMENTS_DIR_VARIABLE];
    const dir = tempDir();
    process.env[DEPLOYMENTS_DIR_VARIABLE] = dir;
    const { record } = await deployOpenPay(hre, { deploymentsDir: dir, displayUi: false }, () => undefined);
    const signers = await hre.ethers.getSigners();
    Object.assign(world, {
      dir,
      record,
      escrow: (await hre.ethers.getContractAt("IOpenPayEscrow", record.escrow)) as unknown as IOpenPayEscrow,
      usdt: (await hre.ethers.getContractAt("TestToken", record.tokens.USDT.address)) as unknown as TestToken,
      usdc: (await hre.ethers.getContractAt("TestToken", record.tokens.USDC.address)) as unknown as TestToken,
      signers,
      admin: signers[ACCOUNT.admin],
      operator: signers[ACCOUNT.operator],
      merchant: signers[ACCOUNT.merchant],
      intentSigner: signers[ACCOUNT.intentSigner],
      payout: signers[ACCOUNT.payout],
      customer: signers[ACCOUNT.customer],
      treasury: signers[ACCOUNT.treasury],
      file: (name: string) => path.join(dir, name),
    });
    snapshot = await hre.network.provider.send("evm_snapshot", []);
  });

  afterEach(async function () {
    // A test may point the commands elsewhere; the next one starts from the deployment again.
    process.env[DEPLOYMENTS_DIR_VARIABLE] = world.dir;
    expect(await hre.network.provider.send("evm_revert", [snapshot])).to.equal(true);
    snapshot = await hre.network.provider.send("evm_snapshot", []);
  });

  after(function () {
    setEnv(DEPLOYMENTS_DIR_VARIABLE, previousDir);
    if (world.dir) rmSync(world.dir, { recursive: true, force: true });
  });

  return world;
}

/** The OperatorError an action fails with (the test fails if it succeeds or fails with anything else). */
export async function operatorError(action: Promise<unknown>): Promise<string> {
  try {
    await action;
  } catch (error) {
    expect(error, String((error as Error)?.stack ?? error)).to.be.instanceOf(OperatorError);
    return (error as OperatorError).message;
  }
  expect.fail("the command succeeded; an OperatorError was expected");
}

/** Runs `action` with console.log captured (the commands other than simulate print through it). */
export async function captureLog<T>(action: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...parts: unknown[]) => {
    lines.push(parts.map(String).join(" "));
  };
  try {
    return { result: await action(), lines };
  } finally {
    console.log = original;
  }
}

/** simulate with its printed line collected instead of shown. */
export async function simulateQuietly(args: Parameters<typeof simulate>[1]): Promise<SimulationResult> {
  return simulate(hre, args, () => undefined);
}

/** The escrow's status of a payment, by name ("none", "open", "completed", ...). */
export async function statusOf(escrow: IOpenPayEscrow, paymentId: string): Promise<string> {
  return escrowPaymentStatus((await escrow.paymentOf(paymentId)).status);
}

/** Moves the chain's clock to just past an intent's expiry plus `extraSeconds`. */
export async function passExpiry(intent: PaymentIntent, extraSeconds = 0n): Promise<void> {
  await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(intent.expiry + 1n + extraSeconds)]);
  await hre.network.provider.send("evm_mine", []);
}

export function intentOf(file: string): PaymentIntent {
  return readIntentFile("intent", file).intent;
}

/** An intent's `acceptedTokens` accepting these tokens of the deployment (default: all it records). */
export async function tokenMaskOf(world: LocalOpenPay, symbols: readonly string[] = Object.keys(world.record.tokens)): Promise<bigint> {
  const indexes: number[] = [];
  for (const symbol of symbols) indexes.push(Number((await world.escrow.tokenConfigOf(world.record.tokens[symbol].address)).index));
  return acceptedTokenMask(indexes);
}

/** A fresh intent for the demo merchant, signed by its signer, written to `file` (never paid). */
export async function signedIntentFile(world: LocalOpenPay, file: string, usd = 10n ** 19n): Promise<PaymentIntent> {
  const now = BigInt((await hre.ethers.provider.getBlock("latest"))!.timestamp);
  const intent: PaymentIntent = {
    paymentId: `${world.merchant.address.toLowerCase()}${"ab".repeat(12)}` as Hex,
    merchant: world.merchant.address as Address,
    amountUsd: usd,
    expiry: now + 1800n,
    refundTo: zeroAddress,
    acceptedTokens: await tokenMaskOf(world),
  };
  const domain = paymentIntentDomain({ chainId: world.record.chainId, escrow: world.record.escrow });
  const signature = (await world.intentSigner.signTypedData(domain, { PaymentIntent: [...PAYMENT_INTENT_TYPES.PaymentIntent] }, intent)) as Hex;
  writeIntentFile(file, intent, signature);
  return intent;
}

/** Balance of an account in a token of the deployment, BNB included. */
export async function balanceIn(world: LocalOpenPay, symbol: "USDT" | "USDC" | "BNB", account: string): Promise<bigint> {
  if (symbol === "BNB") return hre.ethers.provider.getBalance(account);
  return (symbol === "USDT" ? world.usdt : world.usdc).balanceOf(account);
}

/** Writes a copy of the deployment record with `changes` into a new directory; returns the directory. */
export function writeRecordCopy(record: DeploymentRecord, changes: Partial<DeploymentRecord>): string {
  const dir = tempDir("open-pay-record-");
  writeFileSync(path.join(dir, `${record.chainId}.json`), `${JSON.stringify({ ...record, ...changes }, null, 2)}\n`);
  return dir;
}

/** The block number now: a command that sends nothing leaves it unchanged. */
export async function blockNumber(): Promise<number> {
  return hre.ethers.provider.getBlockNumber();
}

/** The one JSON transaction --calldata printed, decoded against the escrow's ABI. */
export function decodeCalldata(escrow: IOpenPayEscrow, lines: string[]) {
  expect(lines).to.have.length(1);
  const printed = JSON.parse(lines[0]) as { to: string; value: string; data: string; method: string };
  const call = escrow.interface.parseTransaction({ data: printed.data, value: BigInt(printed.value) });
  expect(call, `calldata ${printed.data} is no escrow function`).to.not.equal(null);
  return { printed, call: call! };
}
