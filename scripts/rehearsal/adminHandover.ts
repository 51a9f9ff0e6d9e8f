import type { EthereumProvider } from "hardhat/types";
import { createPublicClient, encodeFunctionData, http, zeroHash, type Address, type Hex } from "viem";
import type { DeploymentRecord } from "../../indexer/src/chain/deployment";
import { openPayEscrowAbi } from "../../indexer/src/chain/escrowAbi";
import { RehearsalFinding } from "./finding";

/**
 * The last step of a mainnet deployment (docs/operations.md): once the escrow's delay has passed, the admin multisig
 * calls acceptDefaultAdminTransfer(), and from then on it is the one admin and the deployer holds nothing. The
 * rehearsal chain's clock jumps to the printed time (the next block is dated then) and the admin's wallet sends the
 * call; the result is read back from the escrow. Returns the time the role was accepted at.
 */
export async function acceptAdminAfterDelay(chain: { url: string; provider: EthereumProvider }, record: DeploymentRecord, admin: Address): Promise<Date> {
  const client = createPublicClient({ transport: http(chain.url), pollingInterval: 50 });
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    client.readContract({ address: record.escrow, abi: openPayEscrowAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
  const [pending, schedule] = await read<readonly [Address, number]>("pendingDefaultAdmin");
  if (pending !== admin) throw new RehearsalFinding(`the escrow's pending admin is ${pending}, not the configured ${admin}`);
  const latest = await client.getBlock({ blockTag: "latest" });
  if (latest.timestamp <= BigInt(schedule)) {
    await chain.provider.request({ method: "evm_setNextBlockTimestamp", params: [`0x${(BigInt(schedule) + 1n).toString(16)}`] });
  }
  const hash = (await chain.provider.request({
    method: "eth_sendTransaction",
    params: [{ from: admin, to: record.escrow, data: encodeFunctionData({ abi: openPayEscrowAbi, functionName: "acceptDefaultAdminTransfer" }) }],
  })) as Hex;
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 30_000 });
  if (receipt.status !== "success") throw new RehearsalFinding(`acceptDefaultAdminTransfer() from ${admin} reverted after the delay (${hash})`);
  const [now, deployerStillAdmin] = await Promise.all([read<Address>("defaultAdmin"), read<boolean>("hasRole", [zeroHash, record.deployer])]);
  if (now !== admin || deployerStillAdmin) {
    throw new RehearsalFinding(
      `after acceptDefaultAdminTransfer() the admin is ${now} and the deployer ${deployerStillAdmin ? "still holds" : "no longer holds"} the admin role`,
    );
  }
  const block = await client.getBlock({ blockNumber: receipt.blockNumber });
  return new Date(Number(block.timestamp) * 1000);
}
