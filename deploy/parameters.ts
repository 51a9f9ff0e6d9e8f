import { readFileSync } from "node:fs";
import path from "node:path";
import JSON5 from "json5";
import { getAddress, isAddress, zeroAddress } from "viem";
import { z } from "zod";
import { REPOSITORY_ROOT } from "../indexer/src/chain/repositoryRoot";

/** Where each network's Ignition parameters live. */
export const PARAMETERS_DIR = path.join(REPOSITORY_ROOT, "deploy", "parameters");

/** The escrow's own limits (OpenPayEscrow: MAX_TOLERANCE_BPS, MAX_FEE_BPS, MAX_STALENESS_CAP). */
const MAX_BPS = 500;
const MAX_STALENESS = 2 * 24 * 60 * 60;

const checksummedAddress = z.string().refine((value) => isAddress(value, { strict: false }) && getAddress(value) === value, {
  message: "must be an EIP-55 checksummed address",
});
const bps = z.number().int().min(0).max(MAX_BPS);
const staleness = z.number().int().min(1).max(MAX_STALENESS);
const feedAnswer = z.union([z.number().int().positive(), z.bigint().positive()]);

const roles = {
  admin: checksummedAddress,
  signerManager: checksummedAddress,
  pauser: checksummedAddress,
  operator: checksummedAddress,
  treasury: checksummedAddress,
  feeBps: bps,
  // Each token's own tolerance: stablecoins far tighter than BNB (docs/contracts.md, "Complete").
  usdtToleranceBps: bps,
  usdcToleranceBps: bps,
  bnbToleranceBps: bps,
};

const liveModule = z.strictObject({
  ...roles,
  usdtToken: checksummedAddress,
  usdtFeed: checksummedAddress,
  usdtMaxStaleness: staleness,
  usdcToken: checksummedAddress,
  usdcFeed: checksummedAddress,
  usdcMaxStaleness: staleness,
  bnbFeed: checksummedAddress,
  bnbMaxStaleness: staleness,
});

const localModule = z.strictObject({
  ...roles,
  usdtPrice: feedAnswer,
  usdcPrice: feedAnswer,
  bnbPrice: feedAnswer,
  usdtMaxStaleness: staleness,
  usdcMaxStaleness: staleness,
  bnbMaxStaleness: staleness,
  merchant: checksummedAddress,
  merchantSigner: checksummedAddress,
  merchantPayout: checksummedAddress,
});

export const liveParametersSchema = z.strictObject({
  $global: z.strictObject({ chainId: z.union([z.literal(56), z.literal(97)]) }),
  OpenPay: liveModule,
});

export const localParametersSchema = z.strictObject({
  $global: z.strictObject({ chainId: z.literal(31337) }),
  LocalOpenPay: localModule,
});

export type LiveParameters = z.infer<typeof liveParametersSchema>;
export type LocalParameters = z.infer<typeof localParametersSchema>;

/** The Ignition module a parameters file configures, and its validated parameters. */
export type NetworkParameters =
  | { module: "OpenPay"; parameters: LiveParameters; chainId: number; file: string }
  | { module: "LocalOpenPay"; parameters: LocalParameters; chainId: number; file: string };

/** Ignition's notation for integers beyond 2^53 in parameter files ("123n"). */
function bigintReviver(_key: string, value: unknown) {
  return typeof value === "string" && /^\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value;
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "(file)"}: ${issue.message}`).join("; ");
}

/** Reads and validates a parameters file; throws one message naming the file and every bad field. */
export function readNetworkParameters(file: string): NetworkParameters {
  let raw: unknown;
  try {
    raw = JSON5.parse(readFileSync(file, "utf8"), bigintReviver);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  const isLocal = typeof raw === "object" && raw !== null && "LocalOpenPay" in raw;
  const result = (isLocal ? localParametersSchema : liveParametersSchema).safeParse(raw);
  if (!result.success) throw new Error(`${file}: ${describe(result.error)}`);
  const parameters = result.data;
  return "LocalOpenPay" in parameters
    ? { module: "LocalOpenPay", parameters, chainId: parameters.$global.chainId, file }
    : { module: "OpenPay", parameters, chainId: parameters.$global.chainId, file };
}

/** The parameters file of a Hardhat network: local.json5 for `hardhat` and `localhost`, else <network>.json5. */
export function parametersFileFor(network: string): string {
  const name = network === "hardhat" || network === "localhost" ? "local" : network;
  return path.join(PARAMETERS_DIR, `${name}.json5`);
}

/**
 * What must be filled in before a deployment: the committed live files carry the zero address where each operator
 * puts their own admin, signer manager, pauser and keeper. Returns one sentence per problem.
 */
export function deploymentReadinessProblems({ module, parameters, file }: NetworkParameters): string[] {
  const values = module === "OpenPay" ? parameters.OpenPay : parameters.LocalOpenPay;
  const problems: string[] = [];
  for (const role of ["admin", "signerManager", "pauser", "operator"] as const) {
    if (values[role] === zeroAddress) problems.push(`${file}: ${module}.${role} is the zero address; set your ${role}'s address`);
  }
  if (values.feeBps > 0 && values.treasury === zeroAddress) {
    problems.push(`${file}: ${module}.feeBps is ${values.feeBps} but ${module}.treasury is the zero address`);
  }
  return problems;
}
