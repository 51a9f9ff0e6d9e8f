import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import type { HardhatRuntimeEnvironment, JsonRpcServer } from "hardhat/types";
import { StartError } from "./startError";

export interface InProcessChain {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Hardhat's in-process chain served over JSON-RPC on 127.0.0.1:`port` (0: any free port), as `npx hardhat node`
 * serves it, making a block every `blockTimeMs` (interval mining) so that confirmations come by themselves, while
 * each transaction is still mined at once (automine stays on).
 */
export async function serveInProcessChain(
  hre: HardhatRuntimeEnvironment,
  { port, blockTimeMs, changedWith }: { port: number; blockTimeMs: number; changedWith: string },
): Promise<InProcessChain> {
  const server = (await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port, provider: hre.network.provider })) as JsonRpcServer;
  let listening: { address: string; port: number };
  try {
    listening = await server.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StartError(
      `port ${port} on 127.0.0.1, for the local chain's JSON-RPC, ${code === "EADDRINUSE" ? "is in use" : `cannot be listened on (${code})`}: choose another with ${changedWith}`,
    );
  }
  await hre.network.provider.send("evm_setAutomine", [true]);
  await hre.network.provider.send("evm_setIntervalMining", [blockTimeMs]);
  return {
    url: `http://127.0.0.1:${listening.port}`,
    port: listening.port,
    close: async () => {
      await hre.network.provider.send("evm_setIntervalMining", [0]).catch(() => undefined);
      await server.close();
    },
  };
}
