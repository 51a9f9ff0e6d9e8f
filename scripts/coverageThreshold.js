#!/usr/bin/env node
// Fails when any escrow contract's line or branch coverage (from `hardhat coverage`) falls below the bar.
const { readFileSync } = require("node:fs");
const path = require("node:path");

const MIN_PERCENT = 95;
const FILES = [
  "contracts/OpenPayEscrow.sol",
  "contracts/OpenPayEscrowAdmin.sol",
  "contracts/EscrowStorage.sol",
  "contracts/libraries/PriceMath.sol",
  "contracts/DepositForwarder.sol",
  "contracts/BoundedPriceFeed.sol",
  "contracts/libraries/DepositAddressClone.sol",
];

const summary = JSON.parse(readFileSync(path.join(__dirname, "..", "coverage", "coverage-summary.json"), "utf8"));
let failed = false;
for (const file of FILES) {
  const key = Object.keys(summary).find((k) => k.endsWith(file));
  if (!key) {
    console.error(`coverage: no entry for ${file}`);
    failed = true;
    continue;
  }
  for (const metric of ["lines", "branches"]) {
    const pct = summary[key][metric].pct;
    const ok = pct >= MIN_PERCENT;
    console.log(`coverage: ${file} ${metric} ${pct}% ${ok ? "ok" : `below ${MIN_PERCENT}%`}`);
    failed ||= !ok;
  }
}
process.exit(failed ? 1 : 0);
