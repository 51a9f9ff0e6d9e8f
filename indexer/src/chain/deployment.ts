import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { getAddress, isAddress, keccak256, stringToBytes, type Abi, type Address, type Hex } from "viem";
import { z } from "zod";
import { REPOSITORY_ROOT } from "./repositoryRoot";

/**
 * The record every deployment writes to deployments/<chainId>.json: the single place the TypeScript side takes
 * the escrow's address, the block to index from and the accepted tokens from.
 */
export const DEFAULT_DEPLOYMENTS_DIR = path.join(REPOSITORY_ROOT, "deployments");

const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), { message: "must be an address" })
  .transform((value) => getAddress(value));
const hash = z.string().regex(/^0x[0-9a-f]{64}$/, "must be a 32-byte lowercase hex string");

const tokenRecord = z.strictObject({
  address,
  feed: address,
  decimals: z.number().int().min(0).max(36),
  maxStaleness: z.number().int().positive(),
});

export const deploymentRecordSchema = z.strictObject({
  chainId: z.number().int().positive(),
  network: z.string().min(1),
  escrow: address,
  depositForwarder: address,
  /** The escrow's administration (configuration, roles, views), deployed by its constructor. */
  administration: address,
  /** The block the escrow was deployed in: indexing starts here. */
  blockNumber: z.number().int().nonnegative(),
  /** `escrowAbiHash` of the escrow's ABI when it was deployed; the indexer refuses an escrow whose ABI differs. */
  abiHash: hash,
  /** The account that deployed the escrow: its first admin, and the escrow's first constructor argument. */
  deployer: address,
  tokens: z.record(z.string().regex(/^[A-Z0-9]+$/), tokenRecord),
  roles: z.strictObject({
    admin: address,
    signerManager: address,
    pauser: address,
    operator: address,
    treasury: address,
  }),
  /** Local deployments only: the merchant registered at deployment, for demos and tests. */
  demoMerchant: z.strictObject({ merchant: address, signer: address, payout: address }).optional(),
  deployedAt: z.iso.datetime(),
});

export type DeploymentRecord = z.infer<typeof deploymentRecordSchema>;

/** A stable fingerprint of an ABI: the keccak-256 of its JSON as compiled (entries in the compiler's order). */
export function escrowAbiHash(abi: Abi | readonly unknown[]): Hex {
  return keccak256(stringToBytes(JSON.stringify(abi)));
}

export function deploymentFile(chainId: number, dir = DEFAULT_DEPLOYMENTS_DIR): string {
  return path.join(dir, `${chainId}.json`);
}

/** Reads and validates deployments/<chainId>.json; the error names the file and what is missing or wrong. */
export function readDeployment(chainId: number, dir = DEFAULT_DEPLOYMENTS_DIR): DeploymentRecord {
  const file = deploymentFile(chainId, dir);
  if (!existsSync(file)) {
    throw new Error(`${file} not found: no Open Pay deployment recorded for chain ${chainId} (deploy with \`npm run deploy\`)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const result = deploymentRecordSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(record)"}: ${issue.message}`);
    throw new Error(`${file}: ${problems.join("; ")}`);
  }
  if (result.data.chainId !== chainId) {
    throw new Error(`${file}: records chain ${result.data.chainId}, expected ${chainId}`);
  }
  return result.data;
}

/** Validates and writes a record; returns the file written. */
export function writeDeployment(record: DeploymentRecord, dir = DEFAULT_DEPLOYMENTS_DIR): string {
  const checked = deploymentRecordSchema.parse(record);
  mkdirSync(dir, { recursive: true });
  const file = deploymentFile(checked.chainId, dir);
  writeFileSync(file, `${JSON.stringify(checked, null, 2)}\n`);
  return file;
}

/** The token whose symbol or address is `symbolOrAddress`, case-insensitively; BNB is the zero address. */
export function deployedToken(record: DeploymentRecord, symbolOrAddress: string): { symbol: string; address: Address } | undefined {
  const wanted = symbolOrAddress.toLowerCase();
  for (const [symbol, token] of Object.entries(record.tokens)) {
    if (symbol.toLowerCase() === wanted || token.address.toLowerCase() === wanted) return { symbol, address: token.address };
  }
  return undefined;
}
