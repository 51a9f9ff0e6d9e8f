import type { IgnitionModuleBuilder, ModuleParameterRuntimeValue, ContractFuture } from "@nomicfoundation/ignition-core";
import { keccak256, toBytes } from "viem";

type AddressArgument = string | ModuleParameterRuntimeValue<string> | ContractFuture<string>;

/**
 * How one accepted token is priced: its address (zero for BNB), its Chainlink USD feed, the feed's staleness limit,
 * and the token's own tolerance.
 */
export interface TokenArguments {
  token: AddressArgument;
  feed: AddressArgument;
  maxStaleness: number | ModuleParameterRuntimeValue<number>;
  toleranceBps: number | ModuleParameterRuntimeValue<number>;
}

/** The accepted tokens, by the symbol that names their Ignition futures. */
export type AcceptedTokens = Record<"USDT" | "USDC" | "BNB", TokenArguments>;

export const ROLES = {
  SIGNER_MANAGER_ROLE: keccak256(toBytes("SIGNER_MANAGER_ROLE")),
  PAUSER_ROLE: keccak256(toBytes("PAUSER_ROLE")),
  OPERATOR_ROLE: keccak256(toBytes("OPERATOR_ROLE")),
} as const;

/**
 * The escrow as every network gets it: deployed with the deployer as its first admin (so that the deployment can
 * configure it), the accepted tokens with their feeds, tolerance and fee, and the roles granted to the addresses
 * in the module's parameters. The admin role is never granted: it moves in two steps with a delay, which
 * deploy/deployOpenPay.ts begins when `admin` is not the deployer (Ignition cannot skip a step conditionally).
 */
export function escrowSetup(m: IgnitionModuleBuilder, tokens: AcceptedTokens) {
  const deployer = m.getAccount(0);
  const deployed = m.contract("OpenPayEscrow", [deployer, m.getParameter<string>("treasury")]);
  // Everything callable at the escrow's address: its configuration runs in the administration it deployed.
  const escrow = m.contractAt("IOpenPayEscrow", deployed, { id: "Escrow" });
  const depositForwarder = m.contractAt("DepositForwarder", m.staticCall(escrow, "FORWARDER_IMPLEMENTATION", [], 0, { id: "forwarderImplementation" }));

  for (const [symbol, { token, feed, maxStaleness, toleranceBps }] of Object.entries(tokens)) {
    const allowed = m.call(escrow, "setToken", [token, feed, maxStaleness], { id: `allow${symbol}` });
    m.call(escrow, "setTolerance", [token, toleranceBps], { id: `tolerance${symbol}`, after: [allowed] });
  }
  m.call(escrow, "setFee", [m.getParameter<number>("feeBps")]);

  const grants = [
    ["grantSignerManager", ROLES.SIGNER_MANAGER_ROLE, "signerManager"],
    ["grantPauser", ROLES.PAUSER_ROLE, "pauser"],
    ["grantOperator", ROLES.OPERATOR_ROLE, "operator"],
  ] as const;
  const granted = grants.map(([id, role, parameter]) => m.call(escrow, "grantRole", [role, m.getParameter<string>(parameter)], { id }));

  return { escrow, depositForwarder, granted };
}
