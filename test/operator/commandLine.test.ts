/**
 * The operator commands as an operator runs them: `npx hardhat <command>`, in a child process, against this
 * process's Hardhat chain served over JSON-RPC on 127.0.0.1 (the `localhost` network reads LOCAL_RPC_URL).
 * Each child costs a few seconds, so only a handful run; the rest of the command line is checked in-process.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import hre from "hardhat";
import { expect } from "chai";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import { parseEther } from "viem";
import type { JsonRpcServer } from "hardhat/types";
import { KEY_VARIABLES } from "../../deploy/networks";
import { operatorCommand } from "../../scripts/operator/commandLine";
import { KEYLESS, statusOf, useLocalOpenPay } from "./support";

interface Finished {
  code: number | null;
  stdout: string[];
  stderr: string[];
}

const ROOT = hre.config.paths.root;
const HARDHAT = path.join(ROOT, "node_modules", ".bin", "hardhat");

/** Runs the project's Hardhat directly (not through npx, whose warnings would mix into stderr). */
function hardhat(args: string[], env: NodeJS.ProcessEnv): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(HARDHAT, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "");
      resolve({ code, stdout: lines(stdout), stderr: lines(stderr) });
    });
  });
}

/** Every operator command with its options (flags apart), as `hardhat <command> --help` lists them. */
const COMMANDS: Record<string, { options: string[]; flags: string[] }> = {
  deploy: { options: ["parameters"], flags: ["quiet"] },
  "verify-deployment": { options: [], flags: ["dryRun"] },
  "register-merchant": { options: ["merchant", "payout", "signer", "from"], flags: ["calldata"] },
  "allow-token": { options: ["token", "feed", "maxStaleness", "from"], flags: ["calldata"] },
  "disallow-token": { options: ["token", "from"], flags: ["calldata"] },
  "set-tolerance": { options: ["token", "bps", "from"], flags: ["calldata"] },
  "set-fee": { options: ["bps", "from"], flags: ["calldata"] },
  "set-max-ttl": { options: ["hours", "from"], flags: ["calldata"] },
  pause: { options: ["from"], flags: ["calldata"] },
  unpause: { options: ["from"], flags: ["calldata"] },
  withdraw: { options: ["token", "amount", "from"], flags: ["all", "calldata"] },
  refund: { options: ["payment", "to", "amount", "from"], flags: ["calldata"] },
  expire: { options: ["intent", "token", "payers", "fromBlock", "from"], flags: ["calldata"] },
  simulate: { options: ["scenario", "token", "usd", "via", "intent", "accept", "save"], flags: ["collect"] },
};

describe("operator: the command line", function () {
  const world = useLocalOpenPay();
  let server: JsonRpcServer;
  let childEnv: NodeJS.ProcessEnv;

  before(async function () {
    server = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
    const { port } = await server.listen();
    childEnv = { ...process.env, LOCAL_RPC_URL: `http://127.0.0.1:${port}`, OPENPAY_DEPLOYMENTS_DIR: world.dir };
  });

  after(async function () {
    await server?.close();
  });

  describe("in a child process", function () {
    it("simulate --scenario partial --token BNB prints one JSON line whose payment this chain then holds open", async function () {
      const run = await hardhat(["simulate", "--network", "localhost", "--scenario", "partial", "--token", "BNB"], childEnv);
      expect(run.stderr, run.stderr.join("\n")).to.deep.equal([]);
      expect(run.code).to.equal(0);
      expect(run.stdout).to.have.length(1);
      const result = JSON.parse(run.stdout[0]);
      expect(result).to.include({ scenario: "partial", via: "direct", token: "BNB", status: "open" });

      expect(await statusOf(world.escrow, result.paymentId)).to.equal("open");
      const payment = await world.escrow.paymentOf(result.paymentId);
      expect(payment.amount).to.equal(parseEther(result.amount));
      expect(await world.escrow.depositOf(result.paymentId, world.record.tokens.BNB.address, world.customer.address)).to.equal(parseEther(result.amount));
      expect(parseEther(result.remainingUsd) > 0n).to.equal(true);
    });

    it("a bad argument prints one line on stderr, `error: ` and the option, and exits 1", async function () {
      const run = await hardhat(
        ["withdraw", "--network", "localhost", "--token", "USDT", "--amount", "1.0000000000000000001", "--from", world.merchant.address],
        childEnv,
      );
      expect(run.code).to.equal(1);
      expect(run.stderr).to.deep.equal(["error: --amount: 1.0000000000000000001 has 19 decimals but USDT has 18"]);
      expect(run.stdout).to.deep.equal([]);
    });

    it("simulate --help exits 0 and lists every option with its description", async function () {
      const run = await hardhat(["simulate", "--help"], childEnv);
      expect(run.code).to.equal(0);
      const help = run.stdout.join("\n");
      for (const [name, definition] of Object.entries(hre.tasks.simulate.paramDefinitions)) {
        const line = run.stdout.find((text) => text.trim().startsWith(`--${name}`));
        expect(line, `--${name} in\n${help}`).to.not.equal(undefined);
        expect(line).to.contain(definition.description);
      }
      expect(help).to.contain(hre.tasks.simulate.description);
    });

    it("deploy --network bsc without BSC_RPC_URL prints one line naming it and exits 1", async function () {
      // Empty values stand for unset ones (a copied .env.example) and, being in the environment already,
      // win over anything a .env file beside hardhat.config.ts could set.
      const env: NodeJS.ProcessEnv = { ...childEnv, BSC_RPC_URL: "" };
      for (const name of KEY_VARIABLES) env[name] = "";
      const run = await hardhat(["deploy", "--network", "bsc"], env);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.deep.equal(["error: BSC_RPC_URL is not set: the JSON-RPC URL of bsc (see .env.example)"]);
      expect(run.stdout).to.deep.equal([]);
    });
  });

  describe("in this process", function () {
    it("registers every operator command with a description, and a description for each option", function () {
      for (const [name, { options, flags }] of Object.entries(COMMANDS)) {
        const definition = hre.tasks[name];
        expect(definition, name).to.not.equal(undefined);
        expect(definition.isSubtask, name).to.equal(false);
        expect(definition.description, name).to.be.a("string").that.is.not.empty;
        const params = Object.values(definition.paramDefinitions);
        expect(params.map((param) => param.name).sort(), name).to.deep.equal([...options, ...flags].sort());
        for (const param of params) {
          expect(param.description, `${name} --${param.name}`).to.be.a("string").that.is.not.empty;
          // Hardhat never refuses a command for a missing option: the command names it in one line itself.
          expect(param.isOptional, `${name} --${param.name}`).to.equal(true);
          expect(param.isFlag, `${name} --${param.name}`).to.equal(flags.includes(param.name));
        }
        expect(definition.positionalParamDefinitions, name).to.deep.equal([]);
      }
    });

    it("a command's refusal becomes `error: <message>` on stderr and exit code 1; success leaves the exit code alone", async function () {
      const errors: string[] = [];
      const [originalError, originalLog, exitCode] = [console.error, console.log, process.exitCode];
      console.error = (...parts: unknown[]) => void errors.push(parts.map(String).join(" "));
      console.log = () => undefined;
      let failedWith: typeof process.exitCode;
      let succeededWith: typeof process.exitCode;
      try {
        process.exitCode = undefined;
        await hre.run("set-fee", { bps: "501" });
        await hre.run("pause", { from: KEYLESS });
        failedWith = process.exitCode;
        process.exitCode = undefined;
        await hre.run("set-fee", { bps: "25" });
        succeededWith = process.exitCode;
      } finally {
        [console.error, console.log, process.exitCode] = [originalError, originalLog, exitCode];
      }
      expect(errors).to.deep.equal(["error: --bps: 501 is outside 0..500 basis points", `error: --from: no key configured for ${KEYLESS} on hardhat`]);
      expect(failedWith).to.equal(1);
      expect(succeededWith).to.equal(undefined);
      expect((await world.escrow.settings()).feeBps).to.equal(25n);
      expect((await world.escrow.settings()).paused).to.equal(false);
    });

    it("operatorCommand lets an error that is no OperatorError through unchanged (a bug keeps its stack)", async function () {
      const bug = new TypeError("a bug");
      const received: unknown[] = [];
      operatorCommand("operator-test-bug", "Throws a bug", [["value", "Any value"]], async (_hre, args: { value?: string }) => {
        received.push(args.value);
        throw bug;
      });
      let thrown: unknown;
      const exitCode = process.exitCode;
      try {
        await hre.run("operator-test-bug", { value: "x" });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.equal(bug);
      expect(received).to.deep.equal(["x"]);
      expect(process.exitCode).to.equal(exitCode);
      expect(hre.tasks["operator-test-bug"].paramDefinitions.value.isOptional).to.equal(true);
    });
  });
});
