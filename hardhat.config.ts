import { existsSync } from "node:fs";
import { extendEnvironment, subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";
import { liveNetworkProblems, liveNetworksConfig } from "./deploy/networks";
import { REPOSITORY_ROOT } from "./indexer/src/chain/repositoryRoot";
import "./scripts/operator/tasks";

// Keys and RPC URLs come from the environment or an untracked .env (documented in .env.example).
if (existsSync(".env")) process.loadEnvFile(".env");

const SOLC_VERSION = "0.8.28";

// The machines that build Open Pay reach no compiler download site, so the solc
// shipped in the npm package of the same version (pinned in package.json) is used.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper(args);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc");
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: solc.version(),
  };
});

// A command on bsc or bscTestnet with a missing or malformed variable stops here with one line naming the variable,
// before any RPC call could fail with a less helpful message. (Hardhat would print a thrown error with a stack
// trace on machines without a display, CI among them.)
extendEnvironment((hre) => {
  const problems = liveNetworkProblems(hre.network.name, process.env);
  if (problems.length === 0) return;
  console.error(`error: ${problems.join("; ")}`);
  process.exit(1);
});

const config: HardhatUserConfig = {
  // The repository, also when npm start loads this file's compiled copy (dist/hardhat.config.js) rather than ts-node.
  paths: { root: REPOSITORY_ROOT },
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // Cancun gives transient storage (EIP-1153) for the reentrancy guard; BSC has it since the Haber upgrade.
      evmVersion: "cancun",
      // The IR pipeline saves about 2,600 gas per payment and 2.8 kB of code against the legacy one (measured).
      viaIR: true,
      // 1,000 runs: the payment half (OpenPayEscrow) is 21.4 kB and its administration 16.2 kB, each under the 22 kB
      // budget (npm run test:sizes); 10,000 runs saved about 400 gas a payment when the payment half was 17.3 kB, and
      // made it 2.3 kB larger.
      optimizer: { enabled: true, runs: 1_000 },
    },
  },
  networks: {
    hardhat: {
      hardfork: "cancun",
    },
    // `npx hardhat node` by default; tests and the local stack point it at their own node.
    localhost: {
      url: process.env.LOCAL_RPC_URL || "http://127.0.0.1:8545",
    },
    ...liveNetworksConfig(process.env),
  },
  etherscan: {
    // One Etherscan v2 key verifies on every chain it serves, BSC mainnet and testnet included.
    apiKey: process.env.ETHERSCAN_API_KEY || "",
  },
  sourcify: {
    enabled: false,
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
  },
  mocha: {
    timeout: 120_000,
  },
};

export default config;
