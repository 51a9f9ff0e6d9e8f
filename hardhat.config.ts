import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";

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

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // Cancun gives transient storage (EIP-1153) for the reentrancy guard; BSC has it since the Haber upgrade.
      evmVersion: "cancun",
      // The IR pipeline saves about 2,600 gas per payment and 2.8 kB of code against the legacy one (measured).
      viaIR: true,
      // 1,000 runs keeps the escrow under the 24,576-byte code limit with room to spare (22.3 kB).
      optimizer: { enabled: true, runs: 1_000 },
    },
  },
  networks: {
    hardhat: {
      hardfork: "cancun",
    },
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
  },
  mocha: {
    timeout: 120_000,
  },
};

export default config;
