import { createPublicClient, getAddress, http, zeroAddress, type Address, type Hex } from "viem";
import type { DeploymentRecord } from "../../indexer/src/chain/deployment";
import { openPayEscrowAbi } from "../../indexer/src/chain/escrowAbi";
import type { LiveParameters } from "../../deploy/parameters";
import { ROLES } from "../../deploy/modules/escrowSetup";
import { RehearsalFinding } from "./finding";

/**
 * What docs/operations.md asks an operator to check after a mainnet deployment, read from the escrow itself rather
 * than from the record the deployment wrote: each token's feed, staleness limit, decimals and tolerance as the
 * parameters file gives them; the fee and treasury; the signer manager, pauser and operator roles; the deployer
 * still admin, with the transfer to the configured admin begun; and the escrow's creation transaction ending with
 * the constructor arguments verification will submit. Returns one line per check passed; throws a
 * RehearsalFinding listing every check that failed.
 */
export async function checkDeployment({
  rpcUrl,
  record,
  parameters,
  escrowConstructorArguments,
}: {
  rpcUrl: string;
  record: DeploymentRecord;
  parameters: LiveParameters["OpenPay"];
  /** What `verify-deployment --dry-run` would submit for the escrow, 0x-prefixed. */
  escrowConstructorArguments: Hex;
}): Promise<string[]> {
  const client = createPublicClient({ transport: http(rpcUrl) });
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    client.readContract({ address: record.escrow, abi: openPayEscrowAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
  const passed: string[] = [];
  const failed: string[] = [];
  const expect = (ok: boolean, what: string, got: string) => (ok ? passed : failed).push(ok ? what : `${what}: got ${got}`);

  const expected: Record<string, { token: Address; feed: Address; maxStaleness: number; toleranceBps: number; decimals: number }> = {
    USDT: {
      token: getAddress(parameters.usdtToken),
      feed: getAddress(parameters.usdtFeed),
      maxStaleness: parameters.usdtMaxStaleness,
      toleranceBps: parameters.usdtToleranceBps,
      decimals: 18,
    },
    USDC: {
      token: getAddress(parameters.usdcToken),
      feed: getAddress(parameters.usdcFeed),
      maxStaleness: parameters.usdcMaxStaleness,
      toleranceBps: parameters.usdcToleranceBps,
      decimals: 18,
    },
    BNB: {
      token: zeroAddress,
      feed: getAddress(parameters.bnbFeed),
      maxStaleness: parameters.bnbMaxStaleness,
      toleranceBps: parameters.bnbToleranceBps,
      decimals: 18,
    },
  };
  for (const [symbol, want] of Object.entries(expected)) {
    const config = await read<{ feed: Address; maxStaleness: number; decimals: number; feedDecimals: number; toleranceBps: number }>("tokenConfigOf", [
      want.token,
    ]);
    const ok =
      config.feed === want.feed &&
      config.maxStaleness === want.maxStaleness &&
      config.decimals === want.decimals &&
      config.feedDecimals === 8 &&
      config.toleranceBps === want.toleranceBps;
    expect(
      ok,
      `${symbol}: feed ${want.feed} (8 decimals), ${want.maxStaleness} s staleness limit, ${want.decimals} decimals, tolerance ${want.toleranceBps} bps`,
      `feed ${config.feed} (${config.feedDecimals} decimals), ${config.maxStaleness} s, ${config.decimals} decimals, ${config.toleranceBps} bps`,
    );
    const recorded = record.tokens[symbol];
    expect(
      recorded?.address === want.token && recorded.feed === want.feed,
      `${symbol} recorded in the deployment record as deployed`,
      JSON.stringify(recorded),
    );
  }

  const settings = await read<{ feeBps: number; treasury: Address }>("settings");
  expect(
    settings.feeBps === parameters.feeBps && settings.treasury === parameters.treasury,
    `fee ${parameters.feeBps} bps, treasury ${parameters.treasury}`,
    `${settings.feeBps} bps, ${settings.treasury}`,
  );

  for (const [role, holder] of [
    ["SIGNER_MANAGER_ROLE", parameters.signerManager],
    ["PAUSER_ROLE", parameters.pauser],
    ["OPERATOR_ROLE", parameters.operator],
  ] as const) {
    const held = await read<boolean>("hasRole", [ROLES[role], holder]);
    expect(held, `${role} held by ${holder}`, "not held");
  }

  const admin = await read<Address>("defaultAdmin");
  const [pending, schedule] = await read<readonly [Address, number]>("pendingDefaultAdmin");
  expect(admin === record.deployer, `the deployer ${record.deployer} is admin until the transfer is accepted`, admin);
  expect(
    pending === parameters.admin && schedule > 0,
    `the admin role's transfer to ${parameters.admin} is begun, acceptable from ${new Date(Number(schedule) * 1000).toISOString()}`,
    `pending ${pending}, schedule ${schedule}`,
  );
  expect(record.roles.admin === parameters.admin, "the record names the configured admin", record.roles.admin);

  // The escrow's creation transaction: BscScan checks that it ends with the constructor arguments it is given.
  const block = await client.getBlock({ blockNumber: BigInt(record.blockNumber), includeTransactions: true });
  let creationInput: Hex | undefined;
  for (const tx of block.transactions) {
    const receipt = await client.getTransactionReceipt({ hash: tx.hash });
    if (receipt.contractAddress?.toLowerCase() === record.escrow.toLowerCase()) creationInput = tx.input;
  }
  expect(
    creationInput !== undefined &&
      escrowConstructorArguments.length > 2 &&
      creationInput.toLowerCase().endsWith(escrowConstructorArguments.slice(2).toLowerCase()),
    `the escrow's creation transaction (block ${record.blockNumber}) ends with the constructor arguments verification submits`,
    creationInput === undefined ? "no creation transaction in that block" : "other arguments",
  );

  if (failed.length > 0) throw new RehearsalFinding(`the deployment is not what the parameters ask for: ${failed.join("; ")}`);
  return passed;
}
