import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { CONFIG_VARIABLES } from "../src/config";
import { readPaymentRequestUri } from "../../scripts/stack/scannedPaymentRequest";
import { READY_LINE } from "../../scripts/stack/readyMessages";
import { START_OPTIONS } from "../../scripts/stack/startOptions";
import { INTENT_SIGNER_KEY } from "./support/localChain";

/**
 * `npm start` and `npm run demo` as a user runs them: compiled (`npm run build`, as `npm install` and npm start's
 * prestart do), each its own process (not the chain the other integration tests share), on free ports and a
 * temporary data folder. The one suite that runs the build, so that a build that breaks a program fails here.
 */

const REPOSITORY = path.resolve(__dirname, "../..");
const packageScripts = (JSON.parse(readFileSync(path.join(REPOSITORY, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
/** The compiled file each npm script runs: the children below run the very same. */
const scriptFile = (name: string) => {
  const match = /^node (dist\/\S+\.js)$/.exec(packageScripts[name]);
  if (!match) throw new Error(`package.json's ${name} script is not "node dist/<file>.js": ${packageScripts[name]}`);
  return match[1];
};

/**
 * The test's environment without anything npm start, the demo or the services read: blank values also hide what a
 * developer's .env would give them (a variable already set, even blank, wins over .env).
 */
function environment(variables: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.HARDHAT_NETWORK;
  for (const name of [...CONFIG_VARIABLES, ...START_OPTIONS.map((option) => option.variable), "OPENPAY_URL", "OPENPAY_KEY", "LOCAL_RPC_URL"]) env[name] = "";
  return { ...env, ...variables };
}

/** Every command started here that may still run: the after hook kills their process groups. */
const running = new Set<Command>();

/** A command run as its own process group (so that it and the services it starts can be killed together). */
class Command {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exit?: { code: number | null; signal: NodeJS.Signals | null };

  constructor(
    readonly name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, [scriptFile(name), ...args], {
      cwd: REPOSITORY,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    running.add(this);
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) =>
      this.child.once("close", (code, signal) => {
        this.exit = { code, signal };
        running.delete(this);
        resolve(this.exit);
      }),
    );
  }

  get output(): string {
    return `${this.stdout}\n${this.stderr}`;
  }

  /** Waits for `pattern` in the standard output; fails at once if the command exits first. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.stdout);
      if (match) return match;
      if (this.exit) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before printing ${pattern}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`${this.name} printed no ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Runs to its end (killed after `timeoutMs`). */
  async finished(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL to the whole process group: the command and whatever it started. */
  kill(): void {
    try {
      process.kill(-this.child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function run(name: string, args: string[], variables: Record<string, string> = {}): Command {
  return new Command(name, args, environment(variables));
}

/** A port nothing listens on now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("one command: npm start and npm run demo", function () {
  this.timeout(100_000);
  const folders: string[] = [];
  const folder = () => {
    const dir = mkdtempSync(path.join(tmpdir(), "open-pay-stack-"));
    folders.push(dir);
    return dir;
  };
  before(function () {
    // The build of the sources under test, not whatever an earlier `npm install` left in dist/.
    execFileSync("npm", ["run", "--silent", "build"], { cwd: REPOSITORY, stdio: "pipe" });
  });
  after(async function () {
    for (const command of [...running]) command.kill();
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  it("starts the local stack, whose printed key works; the demo pays a payment up to a verified payment.completed; SIGTERM stops it all", async function () {
    const dataDir = folder();
    const start = run("start", ["--data-dir", dataDir, "--chain-port", "0", "--api-port", "0", "--status-port", "0", "--block-time", "200"]);
    await start.waitFor(new RegExp(READY_LINE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), 90_000);
    // Each step is named, numbered and followed by its seconds; the ready line sums them up by step.
    const steps = ["loading Hardhat and the contracts", "starting a local chain", "deploying Open Pay", "creating the database", "starting the services"];
    for (const [index, step] of steps.entries()) {
      expect(start.stdout).to.match(new RegExp(`\\[${index + 1}/5\\] ${step}[^\\n]*\\n(?: {6}(?!took)[^\\n]*\\n)* {6}took \\d+\\.\\d s\\n`));
    }
    expect(start.stdout).to.match(
      /ready \d+\.\d s since the process started \(contracts \d+\.\d s, chain \d+\.\d s, deploy \d+\.\d s, database \d+\.\d s, services \d+\.\d s\)/,
    );
    const apiUrl = /Merchant API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(start.stdout)![1];
    const rpcUrl = /JSON-RPC\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(start.stdout)![1];
    const key = /API key\s+(op_test_\S+)/.exec(start.stdout)![1];
    expect(start.stdout).to.include(`${apiUrl}/docs`);
    // The dashboard's address is printed with its one click, and its sign-in page offers it: the stack started the
    // chain, so its node signs in as the demo merchant.
    expect(start.stdout).to.match(new RegExp(`Dashboard\\s+${apiUrl}/dashboard\\s+\\(one click: "Sign in as the demo merchant"`));
    const dashboard = await fetch(`${apiUrl}/dashboard`);
    expect(dashboard.status).to.equal(200);
    expect(await dashboard.text())
      .to.include('id="sign-in"')
      .and.include('id="demo-sign-in"');
    const demoSignIn = await fetch(`${apiUrl}/dashboard/sign-in/demo`, { method: "POST", headers: { origin: apiUrl } });
    expect(demoSignIn.status, await demoSignIn.clone().text()).to.equal(200);
    expect(await demoSignIn.json()).to.deep.include({ role: "merchant" });

    const list = await fetch(`${apiUrl}/v1/payments`, { headers: { authorization: `Bearer ${key}` } });
    expect(list.status).to.equal(200);
    expect(await list.json()).to.include({ object: "list" });
    const details = JSON.parse(readFileSync(path.join(dataDir, "stack.json"), "utf8"));
    expect(details).to.include({ apiUrl, apiKey: key, rpcUrl, chainId: 31337 });

    const demo = run("demo", ["--data-dir", dataDir, "--timeout", "60"]);
    const ended = await demo.finished(80_000);
    expect(ended.code, demo.output).to.equal(0);
    expect(demo.stdout).to.match(/history\s+initiated → pending \(checkout_opened\) → confirming \(full_value_received\) → paid \(confirmed\)/);
    expect(demo.stdout).to.match(/webhook payment\.completed\s+status paid\s+confirmations 12\/12\s.*verified/);
    expect(demo.stdout).to.include("payment.completed received and verified");
    const paymentId = /payment (0x[0-9a-f]{64}) created with the SDK/.exec(demo.stdout)![1];
    const payment = await fetch(`${apiUrl}/v1/payments/${paymentId}`, { headers: { authorization: `Bearer ${key}` } });
    expect(await payment.json()).to.include({ status: "paid", amount_usd: "25.00", received_usd: "25.00" });
    // The demo removes the webhook endpoint it registered.
    const endpoints = await fetch(`${apiUrl}/v1/webhook_endpoints`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await endpoints.json()) as { data: unknown[] }).data).to.deep.equal([]);

    // A second stack on the same chain port stops before touching anything, naming the port and how to change it.
    const chainPort = new URL(rpcUrl).port;
    const second = run("start", ["--data-dir", dataDir, "--chain-port", chainPort]);
    expect((await second.finished(30_000)).code).to.equal(2);
    expect(second.stderr).to.match(
      new RegExp(
        `^error: port ${chainPort} on 127\\.0\\.0\\.1, for the local chain's JSON-RPC, is in use .*: choose another with --chain-port or LOCAL_CHAIN_PORT$`,
        "m",
      ),
    );
    expect(existsSync(path.join(dataDir, "stack.json")), "the running stack's folder is not wiped").to.equal(true);

    // Against a chain without a deployment record for it: an error naming the file and how to give one.
    const noRecords = folder();
    const against = run("start", [], {
      RPC_URL: rpcUrl,
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/postgres",
      INTENT_SIGNER_PRIVATE_KEY: INTENT_SIGNER_KEY,
      OPENPAY_DEPLOYMENTS_DIR: noRecords,
    });
    expect((await against.finished(30_000)).code).to.equal(2);
    expect(against.stderr).to.include(`error: ${path.join(noRecords, "31337.json")} not found`);
    expect(against.stderr).to.include("give the record with --deployment or DEPLOYMENT_FILE");

    start.child.kill("SIGTERM");
    expect((await start.finished(30_000)).code).to.equal(0);
    expect(start.stdout).to.match(/stopped\s*$/);
    expect(existsSync(path.join(dataDir, "stack.json"))).to.equal(false);
    const gone = await fetch(`${apiUrl}/health`).then(
      () => "answered",
      () => "refused",
    );
    expect(gone, "the services stopped with npm start").to.equal("refused");
  });

  it("--help lists every option and every variable of the services", async function () {
    const help = run("start", ["--help"]);
    expect((await help.finished(30_000)).code).to.equal(0);
    for (const option of START_OPTIONS) {
      expect(help.stdout).to.include(`--${option.flag}`);
      expect(help.stdout).to.include(option.variable);
    }
    for (const variable of CONFIG_VARIABLES) expect(help.stdout).to.include(variable);
  });

  it("against a chain, an RPC_URL that does not answer stops it with an error naming the variable", async function () {
    const port = await closedPort();
    const start = run("start", [], {
      RPC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/postgres",
      INTENT_SIGNER_PRIVATE_KEY: INTENT_SIGNER_KEY,
    });
    expect((await start.finished(30_000)).code).to.equal(2);
    expect(start.stderr).to.match(new RegExp(`^error: RPC_URL: no JSON-RPC answer from http://127.0.0.1:${port}: connection refused`, "m"));
  });

  it("the demo's wallet reads EIP-681 payment requests exactly, and refuses what it cannot pay", function () {
    const token = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
    const to = "0xE8FD148f3310F5F492CE34CfAECe8CEB940B5AA2";
    expect(readPaymentRequestUri(`ethereum:${token}@31337/transfer?address=${to}&uint256=25000000000000000000`)).to.deep.equal({
      kind: "token",
      token,
      chainId: 31337,
      to,
      amount: 25_000_000_000_000_000_000n,
    });
    expect(readPaymentRequestUri(`ethereum:${to}@56?value=2.5e18`)).to.deep.equal({ kind: "native", chainId: 56, to, amount: 2_500_000_000_000_000_000n });
    expect(readPaymentRequestUri(`ethereum:${to.toLowerCase()}@56?value=1.000000000000000001e18`)).to.include({ amount: 1_000_000_000_000_000_001n });
    expect(() => readPaymentRequestUri(`ethereum:${to}@56?value=1.5e0`)).to.throw(/not a whole number/);
    expect(() => readPaymentRequestUri(`ethereum:${to}?value=1`)).to.throw(/names no chain/);
    expect(() => readPaymentRequestUri(`ethereum:${token}@56/approve?address=${to}&uint256=1`)).to.throw(/approve, not transfer/);
    expect(() => readPaymentRequestUri(`bitcoin:${to}`)).to.throw(/not an EIP-681/);
  });
});
