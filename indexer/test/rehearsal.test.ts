import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";

/**
 * `npm run rehearse` as an operator runs it: its own process (and process group), a chain of its own with chain id
 * 56. It must end with every payment paid, having gone the mainnet way — Hardhat's bsc network, the OpenPay module,
 * the verification dry run — and have written nothing where real deployments are kept.
 */

const REPOSITORY = path.resolve(__dirname, "../..");
const script = (JSON.parse(readFileSync(path.join(REPOSITORY, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.rehearse;

describe("npm run rehearse: the mainnet deployment rehearsed on a local chain 56", function () {
  this.timeout(240_000);

  it("deploys with the OpenPay module and bsc.json5, dry-runs the verification, takes a USDT, a USDC and a BNB payment to paid, resumes and hands the admin role over", async function () {
    const match = /^ts-node --transpile-only (\S+)$/.exec(script ?? "");
    expect(match, `package.json's rehearse script: ${script}`).to.not.equal(null);
    const realRecord = path.join(REPOSITORY, "deployments", "56.json");
    const realJournal = path.join(REPOSITORY, "ignition", "deployments", "chain-56");
    const before = { record: existsSync(realRecord), journal: existsSync(realJournal) };

    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.HARDHAT_NETWORK;
    const started = Date.now();
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", match![1]], {
      cwd: REPOSITORY,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const killGroup = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(killGroup, 200_000);
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve)).finally(() => {
      clearTimeout(timer);
      killGroup();
    });
    const seconds = (Date.now() - started) / 1000;
    console.log(`      npm run rehearse took ${seconds.toFixed(1)} s`);

    expect(code, output).to.equal(0);
    expect(output).to.not.include("FINDING");
    expect(output).to.include("deploying OpenPay to bsc (chain 56)");
    expect(output).to.match(/escrow 0x[0-9a-fA-F]{40} \(block \d+\); recorded in /);
    expect(output).to.include("dry run: nothing is sent; for bsc (chain 56) these would be posted to https://api.etherscan.io/v2/api?chainid=56");
    for (const contract of [
      "contracts/OpenPayEscrow.sol:OpenPayEscrow",
      "contracts/OpenPayEscrowAdmin.sol:OpenPayEscrowAdmin",
      "contracts/DepositForwarder.sol:DepositForwarder",
    ]) {
      expect(output).to.include(`would verify ${contract} at 0x`);
    }
    expect(output).to.include("ok: the escrow's creation transaction");
    expect(output).to.match(
      /USDT: payment .* scanned ethereum:0x55d398326f99059fF775485246999027B3197955@56\/transfer\?address=0x[0-9a-fA-F]{40}&uint256=\d+; sent/,
    );
    expect(output).to.match(
      /USDC: payment .* scanned ethereum:0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d@56\/transfer\?address=0x[0-9a-fA-F]{40}&uint256=\d+; sent/,
    );
    expect(output).to.match(/BNB: payment .* scanned ethereum:0x[0-9a-fA-F]{40}@56\?value=\d+; sent/);
    expect(output).to.include("every payment is paid");
    for (const symbol of ["USDT", "USDC", "BNB"]) expect(output).to.match(new RegExp(`^  ${symbol}\\s+0x[0-9a-f]{64}  \\$[\\d.]+ → paid in`, "m"));
    expect(output).to.include(`the checkout page says "BNB Smart Chain"`);
    expect(output).to.include("run again, the deployment resumes from Ignition's journal to nothing");
    expect(output).to.match(/accepted: it is the one admin, the deployer holds nothing/);

    // Nothing of the rehearsal is left, and nothing was written where real deployments are kept.
    const folder = /its files in (\S+)\)/.exec(output)?.[1];
    expect(folder && existsSync(path.resolve(REPOSITORY, folder)), `the rehearsal's folder ${folder} is removed`).to.equal(false);
    expect({ record: existsSync(realRecord), journal: existsSync(realJournal) }).to.deep.equal(before);
  });
});
