import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { VoidSigner, type Contract, type ContractTransactionReceipt, type Signer } from "ethers";
import { readDeployment, type DeploymentRecord } from "../../indexer/src/chain/deployment";
import { KEY_VARIABLES } from "../../deploy/networks";
import { parseAddress } from "./arguments";
import { OperatorError } from "./operatorError";

/** Options every operator command takes. */
export interface CommonOptions {
  /** The account to send from (one of the configured keys); the first configured key when absent. */
  from?: string;
  /** Print the transaction for a multisig or hardware wallet to sign instead of sending it. */
  calldata?: boolean;
}

export interface EscrowContext {
  hre: HardhatRuntimeEnvironment;
  chainId: number;
  deployment: DeploymentRecord;
  escrow: Contract;
  sender: Signer & { address: string };
  calldata: boolean;
  out: (line: string) => void;
}

/** Where deployment records are read from: OPENPAY_DEPLOYMENTS_DIR, else the repository's deployments/. */
export function deploymentsDir(): string | undefined {
  return process.env.OPENPAY_DEPLOYMENTS_DIR || undefined;
}

/**
 * The account a command acts as: a configured key, or with --calldata any --from address (a multisig, a hardware
 * wallet), for which the transaction is only printed.
 */
async function chooseSender(hre: HardhatRuntimeEnvironment, from: string | undefined, calldata: boolean): Promise<Signer & { address: string }> {
  const signers = await hre.ethers.getSigners();
  const wanted = from === undefined ? undefined : parseAddress("from", from);
  const signer = wanted === undefined ? signers[0] : signers.find((candidate) => candidate.address === wanted);
  if (signer) return signer;
  if (calldata) {
    if (wanted === undefined) throw new OperatorError("--calldata needs --from: the address that will sign the transaction");
    return new VoidSigner(wanted, hre.ethers.provider);
  }
  if (wanted !== undefined) throw new OperatorError(`--from: no key configured for ${wanted} on ${hre.network.name}`);
  throw new OperatorError(`no key is configured for ${hre.network.name}: set one of ${KEY_VARIABLES.join(", ")} (see .env.example)`);
}

/** deployments/<chainId>.json of the selected network; its absence or a flaw is the operator's to fix. */
export async function recordedDeployment(hre: HardhatRuntimeEnvironment): Promise<{ chainId: number; deployment: DeploymentRecord }> {
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  try {
    return { chainId, deployment: readDeployment(chainId, deploymentsDir()) };
  } catch (error) {
    throw new OperatorError((error as Error).message);
  }
}

/** The recorded deployment of the selected network, its escrow and the account commands send from. */
export async function escrowContext(hre: HardhatRuntimeEnvironment, options: CommonOptions, out: (line: string) => void = console.log): Promise<EscrowContext> {
  const { chainId, deployment } = await recordedDeployment(hre);
  if ((await hre.ethers.provider.getCode(deployment.escrow)) === "0x") {
    throw new OperatorError(`no contract at the recorded escrow ${deployment.escrow} on ${hre.network.name}: was the chain reset? Deploy again`);
  }
  const sender = await chooseSender(hre, options.from, options.calldata === true);
  const escrow = await hre.ethers.getContractAt("IOpenPayEscrow", deployment.escrow, sender);
  return { hre, chainId, deployment, escrow: escrow as unknown as Contract, sender, calldata: options.calldata === true, out };
}

/** Refuses early, with the role's name, when the sender lacks a role the call needs. */
export async function requireRole(context: EscrowContext, role: "DEFAULT_ADMIN_ROLE" | "SIGNER_MANAGER_ROLE" | "PAUSER_ROLE" | "OPERATOR_ROLE") {
  const roleId: string = await context.escrow[role]();
  if (!(await context.escrow.hasRole(roleId, context.sender.address))) {
    throw new OperatorError(`${context.sender.address} does not hold ${role} on the escrow ${context.deployment.escrow}`);
  }
}

/** The revert data of a failed call, wherever the provider put it (ethers' decoded revert, a ProviderError's data). */
function revertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const item = queue.shift();
    if (typeof item !== "object" || item === null || seen.has(item)) continue;
    seen.add(item);
    const data = (item as { data?: unknown }).data;
    if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
    if (typeof data === "object") queue.push(data);
    queue.push((item as { error?: unknown }).error, (item as { info?: unknown }).info, (item as { cause?: unknown }).cause);
  }
  return undefined;
}

/** A revert of the escrow as one line, `the escrow refused: Error(name=value, …)`; undefined when it is no revert. */
export function describeRevert(escrow: Contract, error: unknown): string | undefined {
  const data = revertData(error);
  const parsed = data === undefined ? null : escrow.interface.parseError(data);
  if (!parsed) return undefined;
  const args = parsed.fragment.inputs.map((input, i) => `${input.name || i}=${String(parsed.args[i])}`);
  return `the escrow refused: ${parsed.name}(${args.join(", ")})`;
}

/**
 * Simulates `method(args)` from the context's sender, so that a refusal is reported by its custom error before any
 * gas is spent, then sends it; or, with --calldata, prints the transaction for the sender to sign elsewhere.
 */
export async function sendToEscrow(
  context: EscrowContext,
  method: string,
  args: readonly unknown[],
  value = 0n,
): Promise<ContractTransactionReceipt | undefined> {
  const { escrow, out } = context;
  try {
    await escrow[method].staticCall(...args, { value });
    if (context.calldata) {
      const data = escrow.interface.encodeFunctionData(method, args);
      out(JSON.stringify({ to: context.deployment.escrow, value: value.toString(), data, method, from: context.sender.address }));
      return undefined;
    }
    const tx = await escrow[method](...args, { value });
    const receipt = (await tx.wait()) as ContractTransactionReceipt;
    out(`${method}: transaction ${receipt.hash} in block ${receipt.blockNumber}`);
    return receipt;
  } catch (error) {
    const revert = describeRevert(escrow, error);
    if (revert) throw new OperatorError(`${method}: ${revert}`);
    const message = (error as { shortMessage?: string }).shortMessage;
    if (message?.includes("revert")) throw new OperatorError(`${method}: the escrow refused without a reason (${message})`);
    throw error;
  }
}
