import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import type { JsonRpcServer } from "hardhat/types";
import pino from "pino";
import { getAddress, zeroAddress, type Address, type Hex } from "viem";
import { deployOpenPay } from "../../../deploy/deployOpenPay";
import { hardhatAccountKey, LOCAL_ACCOUNTS } from "../../../scripts/stack/hardhatAccounts";
import { depositAddress } from "../../src/chain/depositAddress";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { createProviderPool } from "../../src/chain/providerPool";
import { Indexer, type IndexerOptions } from "../../src/indexing/indexer";
import { IntentSigner } from "../../src/api/intentSigner";
import { acceptedTokenMask, newPaymentId, type PaymentIntent } from "../../src/payments/paymentIntent";
import { signedIntentToJson } from "../../src/payments/signedIntentJson";
import type { MachineSettings } from "../../src/payments/statusMachine";
import type { Db } from "../../src/store/paymentStore";
import { registerIntent } from "./intentRegistration";

export const CHAIN_ID = 31337;
/** Hardhat's account #4: the intent signer the local deployment authorised for the demo merchant. */
export const INTENT_SIGNER_KEY: Hex = hardhatAccountKey(LOCAL_ACCOUNTS.intentSigner);
export const SETTINGS: MachineSettings = { confirmations: { depth: 12, mode: "depth" }, lateCollectWindow: 3600n };

/**
 * Hardhat's in-process chain served over real JSON-RPC on 127.0.0.1 (what the indexer talks to), with Open Pay
 * deployed by its local Ignition module and the record in a temporary folder (OPENPAY_DEPLOYMENTS_DIR).
 */
export interface LocalChain {
  url: string;
  record: DeploymentRecord;
  deploymentsDir: string;
  close(): Promise<void>;
}

export async function startLocalChain(): Promise<LocalChain> {
  const server = (await hre.run(TASK_NODE_CREATE_SERVER, {
    hostname: "127.0.0.1",
    port: 0,
    provider: hre.network.provider,
  })) as JsonRpcServer;
  const { port } = await server.listen();
  const deploymentsDir = mkdtempSync(path.join(tmpdir(), "open-pay-indexer-"));
  const previous = process.env.OPENPAY_DEPLOYMENTS_DIR;
  process.env.OPENPAY_DEPLOYMENTS_DIR = deploymentsDir;
  const { record } = await deployOpenPay(hre, { deploymentsDir, displayUi: false }, () => undefined);
  return {
    url: `http://127.0.0.1:${port}`,
    record,
    deploymentsDir,
    close: async () => {
      await server.close();
      if (previous === undefined) delete process.env.OPENPAY_DEPLOYMENTS_DIR;
      else process.env.OPENPAY_DEPLOYMENTS_DIR = previous;
      rmSync(deploymentsDir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers mocha hooks giving a file one local chain, reset to a snapshot after every test; returns a function
 * that gives the chain inside tests.
 */
export function useLocalChain(): () => LocalChain {
  let chain: LocalChain | undefined;
  let clean = "";
  before(async function () {
    chain = await startLocalChain();
  });
  after(async function () {
    await chain?.close();
  });
  beforeEach(async function () {
    clean = await snapshot();
  });
  afterEach(async function () {
    await hre.network.provider.send("evm_setAutomine", [true]);
    await revertTo(clean);
  });
  return () => {
    if (!chain) throw new Error("the local chain starts in before()");
    return chain;
  };
}

/**
 * Mines blocks one by one: `hardhat_mine` with a count reserves blocks whose headers report a zero parent hash,
 * which a real chain never does and which the indexer would rightly take for a reorganisation.
 */
export async function mine(blocks = 1): Promise<void> {
  for (let i = 0; i < blocks; i++) await hre.network.provider.send("evm_mine", []);
}

export async function snapshot(): Promise<string> {
  return (await hre.network.provider.send("evm_snapshot", [])) as string;
}

export async function revertTo(id: string): Promise<void> {
  await hre.network.provider.send("evm_revert", [id]);
}

export async function latestTimestamp(): Promise<bigint> {
  return BigInt((await hre.ethers.provider.getBlock("latest"))!.timestamp);
}

/** Moves the chain's clock to `timestamp` with a new block. */
export async function mineAt(timestamp: bigint): Promise<void> {
  await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(timestamp)]);
  await mine();
}

export interface SignedPayment {
  intent: PaymentIntent;
  signature: Hex;
  depositAddress: Address;
  /** The tokens its intent accepts, by address (BNB: the zero address). */
  acceptedTokens: Address[];
  /** The signed intent as a JSON file, for `simulate --intent` and `expire --intent`. */
  file: string;
}

/**
 * A new payment for the demo merchant, signed by its signer, with its deposit address; it accepts the deployment's
 * tokens named in `tokens` (symbols; default: every one).
 */
export async function signedPayment(chain: LocalChain, usd: string, ttlSeconds = 1800n, { tokens }: { tokens?: string[] } = {}): Promise<SignedPayment> {
  const demo = chain.record.demoMerchant!;
  const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", chain.record.escrow);
  const accepted = await Promise.all(
    (tokens ?? Object.keys(chain.record.tokens)).map(async (symbol) => {
      const token = chain.record.tokens[symbol];
      if (!token) throw new Error(`tokens: the local deployment has no ${symbol}`);
      return { address: getAddress(token.address), index: Number((await escrow.tokenConfigOf(token.address)).index) };
    }),
  );
  // A fresh block first, so that the expiry counts from the chain's clock as it is now (a revert leaves it behind).
  await mine();
  const intent: PaymentIntent = {
    paymentId: newPaymentId(demo.merchant),
    merchant: demo.merchant,
    amountUsd: hre.ethers.parseUnits(usd, 18),
    expiry: (await latestTimestamp()) + ttlSeconds,
    refundTo: zeroAddress,
    acceptedTokens: acceptedTokenMask(accepted.map((token) => token.index)),
  };
  const signer = new IntentSigner(INTENT_SIGNER_KEY, { chainId: CHAIN_ID, escrow: chain.record.escrow });
  if (signer.address !== demo.signer) throw new Error(`the local deployment's intent signer is ${demo.signer}, not Hardhat's account #4`);
  const { digest, signature } = signer.sign(intent);
  const address = depositAddress({ escrow: chain.record.escrow, forwarderImplementation: chain.record.depositForwarder, digest });
  const file = path.join(chain.deploymentsDir, `${intent.paymentId}.json`);
  writeFileSync(file, JSON.stringify(signedIntentToJson(intent, signature)));
  return { intent, signature, depositAddress: address, acceptedTokens: accepted.map((token) => token.address), file };
}

/** Registers a signed payment with the indexer's store, as the API does when it creates one. */
export function register(db: Db, _chain: LocalChain, payment: SignedPayment) {
  return registerIntent(db, SETTINGS, { chainId: CHAIN_ID, ...payment });
}

/** The BEP-20 tokens the local deployment accepts (BNB is the zero address, watched by balance). */
export function acceptedTokens(chain: LocalChain): Address[] {
  return Object.values(chain.record.tokens)
    .map((token) => token.address)
    .filter((address) => address !== zeroAddress);
}

/** An indexer over the local chain and `db`, quiet unless LOG_LEVEL says otherwise. */
export function localIndexer(chain: LocalChain, db: Db, overrides: Partial<IndexerOptions> = {}): Indexer {
  return new Indexer({
    rpc: createProviderPool([chain.url]),
    db,
    chainId: CHAIN_ID,
    escrow: chain.record.escrow,
    tokens: acceptedTokens(chain),
    startBlock: chain.record.blockNumber,
    settings: SETTINGS,
    logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }),
    pollIntervalMs: 10,
    ...overrides,
  });
}

/** Steps the indexer until it has applied the chain's head. */
export async function catchUp(indexer: Indexer): Promise<void> {
  for (let steps = 0; steps < 10_000; steps++) if ((await indexer.step()) === "idle") return;
  throw new Error("the indexer did not catch up in 10,000 steps");
}
