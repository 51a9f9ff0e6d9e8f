import type { DeploymentRecord } from "../../indexer/src/chain/deployment";
import { modeOfChain } from "../../indexer/src/payments/paymentResource";
import type { Merchant } from "../../indexer/src/store/merchantStore";
import { shownPath } from "./repository";
import type { StackFolder } from "./stackFolder";

/** The line after which the stack serves requests: scripts and tests wait for it. */
export const READY_LINE = "Open Pay is ready. Ctrl-C stops everything.";

const row = (label: string, value: string) => `  ${label.padEnd(16)} ${value}`;

/** "1 s", "1.5 s" or "200 ms". */
export function blockTimeText(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

/** What `npm start` prints once the local stack runs: where everything is, the demo merchant's key, what to try. */
export function localStackReady({
  apiUrl,
  rpcUrl,
  chainId,
  blockTimeMs,
  confirmations,
  statusPort,
  folder,
  merchant,
  key,
  demoCommand,
}: {
  apiUrl: string;
  rpcUrl: string;
  chainId: number;
  blockTimeMs: number;
  confirmations: number;
  statusPort: number;
  folder: StackFolder;
  merchant: Merchant;
  key: string;
  demoCommand: string;
}): string {
  return [
    "",
    `Open Pay is running on a local chain. Nothing is kept: the chain lives in memory and ${shownPath(folder.dir)} is wiped at the next start.`,
    "",
    row("Merchant API", apiUrl),
    row("API reference", `${apiUrl}/docs`),
    row("Checkout", `${apiUrl}/checkout/<payment id>   (each payment's checkout_url)`),
    row("Dashboard", `${apiUrl}/dashboard   (one click: "Sign in as the demo merchant"; or a wallet holding its key, Hardhat account 3)`),
    row("JSON-RPC", `${rpcUrl}   (chain ${chainId}, a block every ${blockTimeText(blockTimeMs)}; paid after ${confirmations} confirmations)`),
    row("Metrics, health", `http://127.0.0.1:${statusPort}/metrics, /health`),
    row("Logs", shownPath(folder.log)),
    "",
    row("Demo merchant", `${merchant.name} (${merchant.id}), ${merchant.address} on chain`),
    row("API key", `${key}   (test mode; also in ${shownPath(folder.details)}, gitignored)`),
    "",
    "Try it, in another terminal:",
    `  export OPENPAY_URL=${apiUrl} OPENPAY_KEY=${key}`,
    `  curl $OPENPAY_URL/v1/payments -H "Authorization: Bearer $OPENPAY_KEY" -H "Content-Type: application/json" \\`,
    `    -d '{"amount_usd": "25.00", "order_id": "1001"}'     # then open its checkout_url in a browser`,
    `  ${demoCommand}`.padEnd(52) + " # a customer pays by scan-and-send; the signed webhooks arrive up to payment.completed",
    "",
    READY_LINE,
  ].join("\n");
}

/** What `npm start` prints once the services run against a chain: where they are, and how to add a merchant. */
export function chainStackReady({
  apiUrl,
  listening,
  rpcUrls,
  record,
  deploymentFile,
  merchants,
  operator,
  intentSigner,
  statusPort,
  folder,
}: {
  apiUrl: string;
  listening: string;
  rpcUrls: string[];
  record: DeploymentRecord;
  deploymentFile: string;
  merchants: number;
  operator?: string;
  intentSigner: string;
  statusPort: number;
  folder: StackFolder;
}): string {
  // As the API decides: only BSC mainnet takes live keys.
  const mode = modeOfChain(record.chainId);
  // A record written by Hardhat's in-process network is for a chain that `--network localhost` reaches.
  const network = record.network === "hardhat" ? "localhost" : record.network;
  return [
    "",
    `Open Pay is running against chain ${record.chainId} (${record.network}). It started no chain and deployed nothing.`,
    "",
    row("Merchant API", apiUrl === listening ? apiUrl : `${apiUrl}   (listening on ${listening})`),
    row("API reference", `${apiUrl}/docs`),
    row("Checkout", `${apiUrl}/checkout/<payment id>   (each payment's checkout_url)`),
    row("Dashboard", `${apiUrl}/dashboard   (merchants sign in with their wallet)`),
    row("JSON-RPC", rpcUrls.length > 1 ? `${rpcUrls[0]} and ${rpcUrls.length - 1} more for failover` : rpcUrls[0]),
    row("Escrow", `${record.escrow}   (${shownPath(deploymentFile)}, indexed from block ${record.blockNumber})`),
    row("Database", `PostgreSQL at DATABASE_URL; ${merchants} merchant${merchants === 1 ? "" : "s"} so far`),
    row(
      "Keeper",
      operator
        ? `running as ${operator}`
        : "not running: set OPERATOR_PRIVATE_KEY (an account with OPERATOR_ROLE) so that transfers to deposit addresses are collected",
    ),
    row("Metrics, health", `http://127.0.0.1:${statusPort}/metrics, /health`),
    row("Logs", shownPath(folder.log)),
    "",
    "Create a merchant:",
    `  1. Register it on the escrow with this gateway's intent signer, ${intentSigner}`,
    "     (from the signer manager's key; --calldata prints the transaction for a multisig instead):",
    `       npx hardhat register-merchant --network ${network} --merchant 0x<merchant> --payout 0x<payout wallet> --signer ${intentSigner}`,
    `  2. Create it here with its ${mode}-mode API key (printed once), with the same DATABASE_URL:`,
    `       npm run merchant -- create --name "Shop" --address 0x<merchant> --mode ${mode}`,
    "",
    READY_LINE,
  ].join("\n");
}
