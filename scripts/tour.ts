/**
 * `npm run tour`, the escrow's tour: deploys Open Pay on Hardhat's in-process chain with the local Ignition module,
 * then a simulated customer pays the demo merchant in every way a payment can go (in full, underpaid then topped up,
 * overpaid, to a deposit address, partly in one token then in full in another, in a token the payment does not
 * accept, too late, expired with a refund) and the merchant refunds and withdraws, all
 * through the same operator commands an operator runs against BSC. Contracts only: no indexer, API or webhooks
 * (`npm start` runs those).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { deployOpenPay } from "../deploy/deployOpenPay";
import { expire } from "./operator/expire";
import { refund, withdraw } from "./operator/merchantFunds";
import { simulate, type SimulationResult } from "./operator/simulate";

async function main() {
  // The in-process chain's record must not replace the one of a `npx hardhat node` chain (both are chain 31337).
  process.env.OPENPAY_DEPLOYMENTS_DIR = mkdtempSync(path.join(tmpdir(), "open-pay-tour-"));
  const { record } = await deployOpenPay(hre, { deploymentsDir: process.env.OPENPAY_DEPLOYMENTS_DIR, displayUi: false });
  const { merchant } = record.demoMerchant!;
  const intentFile = (name: string) => path.join(process.env.OPENPAY_DEPLOYMENTS_DIR!, `${name}.json`);
  const quiet = () => undefined;

  const rows: Array<Record<string, string>> = [];
  const show = (story: string, result: SimulationResult) =>
    rows.push({
      story,
      token: result.token,
      sent: result.amount,
      status: result.refused ? `refused: ${result.refused.split(": ")[1].split("(")[0]}` : result.status,
      "received USD": result.receivedUsd,
      "still due USD": result.remainingUsd,
    });

  const paid = await simulate(hre, { scenario: "full", token: "USDT", usd: "25" }, quiet);
  show("paid in full", paid);

  const under = await simulate(hre, { scenario: "partial", token: "USDC", usd: "40", save: intentFile("under") }, quiet);
  show("underpaid ($40 asked)", under);
  show("... then topped up", await simulate(hre, { scenario: "full", token: "USDC", intent: intentFile("under") }, quiet));

  show("overpaid with BNB ($300 asked)", await simulate(hre, { scenario: "over", token: "BNB", usd: "300" }, quiet));
  show(
    "sent to the deposit address, collected",
    await simulate(hre, { scenario: "full", token: "USDT", usd: "60", via: "deposit-address", collect: true }, quiet),
  );

  const switched = await simulate(hre, { scenario: "partial", token: "USDT", usd: "50", save: intentFile("switched") }, quiet);
  show("partly paid in USDT ($50 asked)", switched);
  show("... then paid in full in BNB", await simulate(hre, { scenario: "full", token: "BNB", intent: intentFile("switched") }, quiet));
  show("BNB for a payment accepting only USDT", await simulate(hre, { scenario: "full", token: "BNB", usd: "20", accept: "USDT" }, quiet));

  const abandoned = await simulate(hre, { scenario: "partial", token: "USDT", usd: "80", save: intentFile("abandoned") }, quiet);
  show("underpaid and abandoned ($80 asked)", abandoned);
  show("paid after the expiry", await simulate(hre, { scenario: "late", token: "BNB", usd: "10" }, quiet));

  console.log("\nThe customer abandoned a payment; once it expired anyone may expire it, which refunds the deposit:");
  await expire(hre, { intent: intentFile("abandoned") });
  console.log("\nThe payment paid in BNB holds the customer's USDT apart; anyone may send it back at once:");
  await expire(hre, { intent: intentFile("switched") });
  console.log(`\nThe merchant ${merchant} refunds $5 of the first payment and withdraws its USDC:`);
  await refund(hre, { payment: paid.paymentId, to: record.roles.treasury, amount: "5", from: merchant });
  await withdraw(hre, { token: "USDC", all: true, from: merchant });

  console.log(`\nOpen Pay deployed on the local chain: escrow ${record.escrow}`);
  console.table(rows);
  rmSync(process.env.OPENPAY_DEPLOYMENTS_DIR, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
