import { existsSync } from "node:fs";
import { shownPath } from "./repository";
import { readStackDetails } from "./stackDetails";
import { stackFolder } from "./stackFolder";
import { StartError } from "./startError";

/** Where `npm run demo` finds the gateway, its key and the chain to pay on, and where it learnt them. */
export interface DemoConnection {
  apiUrl: string;
  apiKey: string;
  rpcUrl: string;
  from: string;
}

const DEFAULT_LOCAL_RPC_URL = "http://127.0.0.1:8545";

/**
 * OPENPAY_URL and OPENPAY_KEY when set (the SDK's variables), else the details the running local stack wrote into
 * its folder. The chain: LOCAL_RPC_URL, else the stack's, else 127.0.0.1:8545.
 */
export function demoConnection(dataDir: string, env: NodeJS.ProcessEnv): DemoConnection {
  const url = env.OPENPAY_URL?.trim();
  const key = env.OPENPAY_KEY?.trim();
  const details = stackFolder(dataDir).details;
  const rpcOverride = env.LOCAL_RPC_URL?.trim() || undefined;
  if (url || key) {
    if (!url)
      throw new StartError(
        "OPENPAY_KEY is set but OPENPAY_URL is not: set both (the gateway's URL and its API key), or neither to use the running local stack",
      );
    if (!key)
      throw new StartError(
        "OPENPAY_URL is set but OPENPAY_KEY is not: set both (the gateway's URL and its API key), or neither to use the running local stack",
      );
    const stackRpc = existsSync(details) ? readStackDetails(details).rpcUrl : undefined;
    return { apiUrl: url.replace(/\/+$/, ""), apiKey: key, rpcUrl: rpcOverride ?? stackRpc ?? DEFAULT_LOCAL_RPC_URL, from: "OPENPAY_URL and OPENPAY_KEY" };
  }
  const stack = readStackDetails(details);
  return { apiUrl: stack.apiUrl, apiKey: stack.apiKey, rpcUrl: rpcOverride ?? stack.rpcUrl, from: shownPath(details) };
}
