import type { EthereumProvider, HardhatRuntimeEnvironment } from "hardhat/types";
import { createPublicClient, http, type Address, type Hex } from "viem";
import { openPayEscrowAbi } from "../../indexer/src/chain/escrowAbi";
import type { DeploymentRecord } from "../../indexer/src/chain/deployment";
import { registerMerchant } from "../operator/merchants";

/**
 * A merchant joins as on mainnet, where the signer manager is a hardware wallet: `register-merchant --calldata
 * --from <signer manager>` prints the transaction, the signer manager's wallet (its account on the rehearsal
 * chain) signs and sends it, and the escrow then knows the API's intent signer as the merchant's. Returns the
 * printed transaction's hash.
 */
export async function registerOnEscrow(
  hre: HardhatRuntimeEnvironment,
  chain: { url: string; provider: EthereumProvider },
  record: DeploymentRecord,
  { merchant, payout, signer, signerManager }: { merchant: Address; payout: Address; signer: Address; signerManager: Address },
): Promise<Hex> {
  const printed: string[] = [];
  await registerMerchant(hre, { merchant, payout, signer, from: signerManager, calldata: true }, (line) => printed.push(line));
  const call = JSON.parse(printed.find((line) => line.startsWith("{")) ?? "null") as { to: Address; value: string; data: Hex; from: Address } | null;
  if (!call) throw new Error(`register-merchant --calldata printed no transaction: ${printed.join(" / ")}`);
  const hash = (await chain.provider.request({
    method: "eth_sendTransaction",
    params: [{ from: call.from, to: call.to, data: call.data, value: `0x${BigInt(call.value).toString(16)}` }],
  })) as Hex;
  const client = createPublicClient({ transport: http(chain.url), pollingInterval: 50 });
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 30_000 });
  if (receipt.status !== "success") throw new Error(`registerMerchant from the signer manager ${signerManager} reverted (${hash})`);
  const registered = await client.readContract({ address: record.escrow, abi: openPayEscrowAbi, functionName: "isSigner", args: [merchant, signer] });
  if (!registered) throw new Error(`after registerMerchant the escrow does not know ${signer} as ${merchant}'s intent signer`);
  return hash;
}
