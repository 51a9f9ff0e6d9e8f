/**
 * Gas benchmark of the escrow's operations, from transaction receipts on Hardhat's network.
 * Prints a markdown table; with BENCH_WRITE=1 also writes it to docs/gas.md.
 *
 * Every operation is measured in steady state (the escrow, the merchant and the payer already hold
 * the token), as most payments on a live gateway are; the first-ever payment in a token costs more
 * because it creates the escrow's and the merchant's balance slots.
 */
import { writeFileSync } from "node:fs";
import { ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse, TransactionResponse } from "ethers";
import { deployEscrow, NATIVE, PRICE, STALENESS, TOKENS, USD } from "../test/support/fixture";
import { runBenchmark } from "./benchmarkRun";

interface Row {
  operation: string;
  gas: bigint;
  baseline: "transferFrom" | "bnbTransfer";
  target?: bigint;
}

async function gasOf(tx: Promise<ContractTransactionResponse | TransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("transaction was not mined");
  return receipt.gasUsed;
}

interface StructLog {
  op: string;
  gasCost: number;
  depth: number;
}

/** Where one transaction's gas went, from Hardhat's opcode trace (EIP-2028 calldata pricing). */
async function breakdown(operation: string, hash: string): Promise<Record<string, string | number>> {
  const tx = await ethers.provider.getTransaction(hash);
  const receipt = await ethers.provider.getTransactionReceipt(hash);
  const trace = (await network.provider.send("debug_traceTransaction", [hash, { disableStorage: true, disableMemory: true, disableStack: true }])) as {
    structLogs: StructLog[];
  };
  const data = ethers.getBytes(tx!.data);
  const calldata = data.reduce((sum, byte) => sum + (byte === 0 ? 4 : 16), 0);
  const sum = (pick: (log: StructLog) => boolean) => trace.structLogs.filter(pick).reduce((total, log) => total + log.gasCost, 0);
  const isStorage = (log: StructLog) => log.op === "SLOAD" || log.op === "SSTORE";
  const escrowStorage = sum((log) => log.depth === 1 && isStorage(log));
  const calleeStorage = sum((log) => log.depth > 1 && isStorage(log));
  const logs = sum((log) => log.op.startsWith("LOG"));
  const total = Number(receipt!.gasUsed);
  return {
    operation,
    total,
    "intrinsic 21000 + calldata": 21_000 + calldata,
    "escrow storage": escrowStorage,
    "token/feed storage": calleeStorage,
    events: logs,
    "calls, signature, computation": total - 21_000 - calldata - escrowStorage - calleeStorage - logs,
  };
}

async function main() {
  const f = await deployEscrow();
  const { escrow, usdt, customer, other, merchant } = f;
  const usdtAddress = await usdt.getAddress();
  const rows: Row[] = [];

  // Warm up: the escrow and the merchant already hold USDT and BNB, as on a live gateway.
  const warm = await f.signed();
  await escrow.connect(customer).pay(warm.intent, warm.signature, usdtAddress, TOKENS("100"), ethers.ZeroAddress);
  const warmNative = await f.signed({ amountUsd: USD("600") });
  await escrow.connect(customer).payNative(warmNative.intent, warmNative.signature, ethers.ZeroAddress, { value: TOKENS("1") });

  // Baselines, measured in the same run and state.
  await usdt.connect(customer).approve(other.address, ethers.MaxUint256);
  const transferFrom = await gasOf(usdt.connect(other).transferFrom(customer.address, other.address, TOKENS("1")));
  const bnbTransfer = await gasOf(customer.sendTransaction({ to: other.address, value: TOKENS("1") }));

  const full = await f.signed();
  const fullTx = await escrow.connect(customer).pay(full.intent, full.signature, usdtAddress, TOKENS("100"), ethers.ZeroAddress);
  rows.push({ operation: "pay: token payment in full", gas: await gasOf(Promise.resolve(fullTx)), baseline: "transferFrom", target: 100_000n });

  const fee = await f.signed();
  await escrow.setFee(100);
  rows.push({
    operation: "pay: token payment in full, 1% platform fee",
    gas: await gasOf(escrow.connect(customer).pay(fee.intent, fee.signature, usdtAddress, TOKENS("100"), ethers.ZeroAddress)),
    baseline: "transferFrom",
  });
  await escrow.setFee(0);

  // The same payment with USDT's feed behind an optional price band: what a band costs the tokens that have one.
  const band = await (await ethers.getContractFactory("BoundedPriceFeed")).deploy(await f.usdtFeed.getAddress(), PRICE("0.97"), PRICE("1.03"));
  await escrow.setToken(usdtAddress, await band.getAddress(), STALENESS.stable);
  const banded = await f.signed();
  rows.push({
    operation: "pay: token payment in full, feed behind a price band",
    gas: await gasOf(escrow.connect(customer).pay(banded.intent, banded.signature, usdtAddress, TOKENS("100"), ethers.ZeroAddress)),
    baseline: "transferFrom",
  });
  await escrow.setToken(usdtAddress, await f.usdtFeed.getAddress(), STALENESS.stable);

  const native = await f.signed({ amountUsd: USD("600") });
  const nativeTx = await escrow.connect(customer).payNative(native.intent, native.signature, ethers.ZeroAddress, { value: TOKENS("1") });
  rows.push({ operation: "payNative: BNB payment in full", gas: await gasOf(Promise.resolve(nativeTx)), baseline: "bnbTransfer", target: 80_000n });

  const partial = await f.signed();
  const first = await gasOf(escrow.connect(customer).pay(partial.intent, partial.signature, usdtAddress, TOKENS("40"), ethers.ZeroAddress));
  const topUp = await gasOf(escrow.connect(customer).pay(partial.intent, partial.signature, usdtAddress, TOKENS("60"), ethers.ZeroAddress));
  rows.push({ operation: "pay: partial payment (40%)", gas: first, baseline: "transferFrom" });
  rows.push({ operation: "pay: top-up completing it (60%)", gas: topUp, baseline: "transferFrom" });
  rows.push({ operation: "partial payment then top-up, total", gas: first + topUp, baseline: "transferFrom" });

  const expiring = await f.signed();
  await escrow.connect(customer).pay(expiring.intent, expiring.signature, usdtAddress, TOKENS("30"), ethers.ZeroAddress);
  await time.increaseTo(expiring.intent.expiry + 1n);
  rows.push({
    operation: "expire with refund (one payer)",
    gas: await gasOf(escrow.connect(other).expire(expiring.intent, usdtAddress, [customer.address])),
    baseline: "transferFrom",
    target: 70_000n,
  });

  // Within the hour after the expiry, anyone but the operator first checks that the deposit address holds none of the
  // tokens the intent accepts (LateCollectPending); the keeper, which holds OPERATOR_ROLE, and anyone after that hour
  // skip the check.
  const operatorRole = await escrow.OPERATOR_ROLE();
  await escrow.grantRole(operatorRole, other.address);
  const byOperator = await f.signed();
  await escrow.connect(customer).pay(byOperator.intent, byOperator.signature, usdtAddress, TOKENS("30"), ethers.ZeroAddress);
  await time.increaseTo(byOperator.intent.expiry + 1n);
  rows.push({
    operation: "expire with refund (one payer), by the operator",
    gas: await gasOf(escrow.connect(other).expire(byOperator.intent, usdtAddress, [customer.address])),
    baseline: "transferFrom",
  });
  await escrow.revokeRole(operatorRole, other.address);
  // An hour has passed since the warm-up: the feeds answer again, as live ones would have.
  for (const feed of [f.usdtFeed, f.usdcFeed, f.bnbFeed]) await feed.updateAnswer(await feed.latestAnswer());

  // Each accepted token adds up apart: a deposit in a second token, then its refund once the first token paid.
  const twoTokens = await f.signed();
  await escrow.connect(customer).pay(twoTokens.intent, twoTokens.signature, usdtAddress, TOKENS("30"), ethers.ZeroAddress);
  rows.push({
    operation: "pay: partial deposit in a second accepted token",
    gas: await gasOf(escrow.connect(other).pay(twoTokens.intent, twoTokens.signature, await f.usdc.getAddress(), TOKENS("30"), ethers.ZeroAddress)),
    baseline: "transferFrom",
  });
  await escrow.connect(customer).pay(twoTokens.intent, twoTokens.signature, usdtAddress, TOKENS("70"), ethers.ZeroAddress);
  rows.push({
    operation: "expire: refund of a deposit in a token that did not pay (one payer)",
    gas: await gasOf(escrow.connect(customer).expire(twoTokens.intent, await f.usdc.getAddress(), [other.address])),
    baseline: "transferFrom",
  });

  await escrow.connect(merchant).withdraw(usdtAddress, TOKENS("1")); // the payout wallet already holds USDT
  const withdrawTx = await escrow.connect(merchant).withdraw(usdtAddress, TOKENS("50"));
  rows.push({ operation: "withdraw (merchant, token)", gas: await gasOf(Promise.resolve(withdrawTx)), baseline: "transferFrom", target: 50_000n });
  rows.push({
    operation: "withdraw (merchant, BNB)",
    gas: await gasOf(escrow.connect(merchant).withdraw(NATIVE, TOKENS("1"))),
    baseline: "bnbTransfer",
  });

  rows.push({
    operation: "refund (merchant, half of a paid payment)",
    gas: await gasOf(escrow.connect(merchant).refund(full.intent.paymentId, customer.address, TOKENS("50"))),
    baseline: "transferFrom",
  });

  // Deposit addresses: a plain transfer to the payment's address, then collect (by the keeper).
  const byTransfer = await f.signed();
  const tokenDeposit = await escrow.depositAddressOf(byTransfer.intent);
  await usdt.connect(customer).transfer(tokenDeposit, TOKENS("40"));
  rows.push({
    operation: "collect: token, first (deploys the clone; partial)",
    gas: await gasOf(escrow.connect(other).collect(byTransfer.intent, byTransfer.signature, usdtAddress)),
    baseline: "transferFrom",
  });
  await usdt.connect(customer).transfer(tokenDeposit, TOKENS("60"));
  rows.push({
    operation: "collect: token, later top-up completing it",
    gas: await gasOf(escrow.connect(other).collect(byTransfer.intent, "0x", usdtAddress)),
    baseline: "transferFrom",
    target: 80_000n,
  });
  const fullByTransfer = await f.signed();
  await usdt.connect(customer).transfer(await escrow.depositAddressOf(fullByTransfer.intent), TOKENS("100"));
  rows.push({
    operation: "collect: token, first, in full (deploys the clone)",
    gas: await gasOf(escrow.connect(other).collect(fullByTransfer.intent, fullByTransfer.signature, usdtAddress)),
    baseline: "transferFrom",
    target: 150_000n,
  });
  const bnbFull = await f.signed({ amountUsd: USD("600") });
  await customer.sendTransaction({ to: await escrow.depositAddressOf(bnbFull.intent), value: TOKENS("1") });
  rows.push({
    operation: "collect: BNB, first, in full (deploys the clone)",
    gas: await gasOf(escrow.connect(other).collect(bnbFull.intent, bnbFull.signature, NATIVE)),
    baseline: "bnbTransfer",
    target: 150_000n,
  });
  const bnbByTransfer = await f.signed({ amountUsd: USD("600") });
  const bnbDeposit = await escrow.depositAddressOf(bnbByTransfer.intent);
  await customer.sendTransaction({ to: bnbDeposit, value: TOKENS("0.5") });
  rows.push({
    operation: "collect: BNB, first (deploys the clone; partial)",
    gas: await gasOf(escrow.connect(other).collect(bnbByTransfer.intent, bnbByTransfer.signature, NATIVE)),
    baseline: "bnbTransfer",
  });
  const bnbTopUpSend = await gasOf(customer.sendTransaction({ to: bnbDeposit, value: TOKENS("0.25") }));
  rows.push({ operation: "customer's BNB top-up sent to a deployed deposit address", gas: bnbTopUpSend, baseline: "bnbTransfer" });
  // A contract wallet paying with Solidity's `transfer`: the deposit address gets 2,300 gas.
  const stipendSender = await (await ethers.getContractFactory("StipendSender")).deploy();
  rows.push({
    operation: "the same top-up sent by a contract with transfer (2,300-gas stipend)",
    gas: await gasOf(stipendSender.connect(customer).forward(bnbDeposit, { value: TOKENS("0.25") })),
    baseline: "bnbTransfer",
  });
  rows.push({
    operation: "collect: BNB, later top-up completing it",
    gas: await gasOf(escrow.connect(other).collect(bnbByTransfer.intent, "0x", NATIVE)),
    baseline: "bnbTransfer",
    target: 80_000n,
  });

  const baselines = { transferFrom, bnbTransfer };
  const lines = [
    "| operation | gas | baseline | ratio | target | within target |",
    "|---|---:|---|---:|---:|---|",
    ...rows.map((row) => {
      const base = baselines[row.baseline];
      const ratio = (Number((row.gas * 100n) / base) / 100).toFixed(2);
      const target = row.target === undefined ? "" : row.target.toString();
      const ok = row.target === undefined ? "" : row.gas <= row.target ? "yes" : "**no**";
      const baseName = row.baseline === "transferFrom" ? "BEP-20 transferFrom" : "BNB transfer";
      return `| ${row.operation} | ${row.gas} | ${baseName} | ${ratio}× | ${target} | ${ok} |`;
    }),
    `| baseline: plain BEP-20 transferFrom | ${transferFrom} | | 1.00× | | |`,
    `| baseline: plain BNB transfer | ${bnbTransfer} | | 1.00× | | |`,
  ];
  const table = lines.join("\n");
  console.log(table);

  const parts = [
    await breakdown("pay: token payment in full", fullTx.hash),
    await breakdown("payNative: BNB payment in full", nativeTx.hash),
    await breakdown("withdraw (merchant, token)", withdrawTx.hash),
  ];
  const columns = Object.keys(parts[0]);
  const breakdownTable = [
    `| ${columns.join(" | ")} |`,
    `|---|${columns
      .slice(1)
      .map(() => "---:")
      .join("|")}|`,
    ...parts.map((part) => `| ${columns.map((column) => part[column]).join(" | ")} |`),
  ].join("\n");
  console.log("\nWhere the gas goes\n");
  console.log(breakdownTable);

  if (process.env.BENCH_WRITE === "1") {
    const doc = [
      "# Gas benchmark",
      "",
      "Total transaction gas from receipts, measured by `npm run bench:gas` on Hardhat's network",
      "(solc 0.8.28, IR pipeline, optimizer 1,000 runs, EVM cancun), with Chainlink's `MockV3Aggregator` as the feed.",
      "Steady state: the escrow, the merchant and the payer already hold the token. For reference,",
      "Coinbase's commerce-payments escrow `charge` costs 165,167 gas in its own benchmark.",
      "",
      table,
      "",
      "## Targets still missed, what was tried, what comes next",
      "",
      "A full payment's floor here is the transaction itself (21,000 + calldata of the signed intent), one",
      "new storage slot for the payment (22,100), the signature (ecrecover), the Chainlink read (the mock's",
      "four storage reads; real BSC feeds cost about as much through their proxy), the merchant balance and",
      "the per-token ledger that lets `rescue` touch only the surplus (about 5,000 each), and the token's",
      "own transfer with the fee-on-transfer balance check. Checking the feed's decimals on every read",
      "(review finding 6) added about 2,850 to every valued deposit here (the mock keeps its decimals in",
      "storage: a cold read and a call; a Chainlink proxy costs about 1,000, its aggregator being warm after).",
      "",
      "Tried and kept: one event per deposit instead of two (−2,900); the IR pipeline (−2,600 and 2.8 kB",
      "less code); tolerance, fee and pause copied into each token's config slot so that a payment reads",
      "one slot fewer (−2,100); the merchant's id rather than a flag in the signer mapping (one read for",
      "both); a payment packed in one slot; configuration, roles and views moved to the administration",
      "(a second contract run by delegatecall), which left the payment half small enough for 1,000",
      "optimizer runs again (17.3 kB; 200 runs cost about 400 gas a payment, 10,000 save about 400 more",
      "but leave 19.6 kB). Found on the way: one inline assembly block not marked memory-safe (the",
      "fallback's) cost every payment about 2,900 gas, the IR optimizer inlining far less around it.",
      "",
      "Next: drop the on-chain `owed` ledger (−5,000 on every payment and withdrawal, which would meet the",
      "withdraw target) at the price of `rescue` working only for tokens never accepted; compact 64-byte",
      "signatures (EIP-2098, about −500); a deposit-address proxy whose `receive` does not delegate",
      "(cheaper top-ups, and 2,300-gas senders could top up).",
      "",
      "## Where the gas goes",
      "",
      "From the opcode trace of the same transactions: storage is SLOAD/SSTORE (cold reads 2,100;",
      "a new slot 20,000; an update 2,900), the feed's and token's own storage counted apart.",
      "",
      breakdownTable,
      "",
    ].join("\n");
    writeFileSync("docs/gas.md", doc);
    console.log("\nwritten to docs/gas.md");
  }
}

runBenchmark(main);
