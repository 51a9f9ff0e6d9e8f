import type { NetworksUserConfig } from "hardhat/types";

/** The BNB Smart Chain networks Open Pay deploys to, with the environment variable naming each one's RPC URL. */
export const LIVE_NETWORKS = {
  bsc: { chainId: 56, rpcUrlVariable: "BSC_RPC_URL" },
  bscTestnet: { chainId: 97, rpcUrlVariable: "BSC_TESTNET_RPC_URL" },
} as const;

export type LiveNetworkName = keyof typeof LIVE_NETWORKS;

/**
 * Keys the live networks sign with, in this order: the deployer (admin until handed over), the operator
 * (keeper: collect, expire, refunds of deposit addresses) and a merchant (withdraw, refund). Each is optional;
 * a command that needs one says which variable to set.
 */
export const KEY_VARIABLES = ["DEPLOYER_PRIVATE_KEY", "OPERATOR_PRIVATE_KEY", "MERCHANT_PRIVATE_KEY"] as const;

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;

export function isLiveNetwork(name: string): name is LiveNetworkName {
  return Object.hasOwn(LIVE_NETWORKS, name);
}

/**
 * `bsc` and `bscTestnet` as Hardhat networks. Hardhat reads its config before it knows which network a command
 * uses, so unset variables become empty values here and `liveNetworkProblems` reports them once a command
 * actually selects the network.
 */
export function liveNetworksConfig(env: NodeJS.ProcessEnv): NetworksUserConfig {
  const accounts = KEY_VARIABLES.map((name) => env[name]?.trim() ?? "").filter((key) => PRIVATE_KEY.test(key));
  return Object.fromEntries(
    Object.entries(LIVE_NETWORKS).map(([name, { chainId, rpcUrlVariable }]) => [name, { chainId, url: env[rpcUrlVariable]?.trim() ?? "", accounts }]),
  );
}

/** What is wrong with the environment for a command on `network`, one sentence per variable; empty when nothing. */
export function liveNetworkProblems(network: string, env: NodeJS.ProcessEnv): string[] {
  if (!isLiveNetwork(network)) return [];
  const problems: string[] = [];
  const { rpcUrlVariable } = LIVE_NETWORKS[network];
  const url = env[rpcUrlVariable]?.trim();
  if (!url) problems.push(`${rpcUrlVariable} is not set: the JSON-RPC URL of ${network} (see .env.example)`);
  else if (!/^https?:\/\//.test(url)) problems.push(`${rpcUrlVariable} must be an http(s) URL, got "${url}"`);
  for (const name of KEY_VARIABLES) {
    const key = env[name]?.trim();
    if (key && !PRIVATE_KEY.test(key)) problems.push(`${name} must be 0x followed by 64 hex digits`);
  }
  return problems;
}
