#!/usr/bin/env node
// Fails when a deployed escrow contract exceeds its code budget: 22,000 bytes, so that fixes still fit under
// EIP-170's 24,576-byte limit. Reads Hardhat's artifacts (run after `hardhat compile` or `hardhat test`); a check
// apart from the mocha tests because `hardhat coverage` runs those against instrumented, much larger code.
const { readFileSync } = require("node:fs");
const path = require("node:path");

const BUDGET = 22_000;
const LIMIT = 24_576;
const CONTRACTS = ["OpenPayEscrow", "OpenPayEscrowAdmin", "DepositForwarder", "BoundedPriceFeed"];

let failed = false;
for (const name of CONTRACTS) {
  const file = path.join(__dirname, "..", "artifacts", "contracts", `${name}.sol`, `${name}.json`);
  const { deployedBytecode } = JSON.parse(readFileSync(file, "utf8"));
  const size = (deployedBytecode.length - 2) / 2;
  const ok = size <= BUDGET;
  console.log(`code size: ${name} ${size} bytes (budget ${BUDGET}, limit ${LIMIT}) ${ok ? "ok" : "over budget"}`);
  failed ||= !ok;
}
process.exit(failed ? 1 : 0);
