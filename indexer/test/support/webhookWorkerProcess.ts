import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { zeroAddress } from "viem";
import { writeDeployment } from "../../src/chain/deployment";

/**
 * The webhook worker as its own operating-system process (`indexer/src/webhooks/workerProcess.ts`), for tests that
 * kill it with SIGKILL or run two of it on one database.
 */

const REPOSITORY = path.resolve(__dirname, "../../..");
const WORKER = "indexer/src/webhooks/workerProcess.ts";

/** The variables workerProcess.ts reads: never inherited from the environment the tests run in. */
const WORKER_VARIABLES = [
  "DATABASE_URL",
  "DATA_DIR",
  "CHAIN_ID",
  "PUBLIC_URL",
  "CONFIRMATIONS",
  "OPENPAY_DEPLOYMENTS_DIR",
  "WEBHOOK_ALLOWED_CIDRS",
  "WEBHOOK_CONCURRENCY",
  "LOG_LEVEL",
];

/** A deployments folder holding a record for `chainId` (addresses made up: the worker only reads its tokens). */
export function fakeDeploymentsDir(chainId: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "openpay-webhooks-"));
  const someone = "0x00000000000000000000000000000000000000aa";
  writeDeployment(
    {
      chainId,
      network: "localhost",
      escrow: "0x00000000000000000000000000000000000000e5",
      depositForwarder: "0x00000000000000000000000000000000000000f0",
      administration: "0x00000000000000000000000000000000000000f1",
      blockNumber: 1,
      abiHash: `0x${"00".repeat(32)}`,
      deployer: someone,
      tokens: {
        USDT: { address: "0x0000000000000000000000000000000000000001", feed: someone, decimals: 18, maxStaleness: 3600 },
        BNB: { address: zeroAddress, feed: someone, decimals: 18, maxStaleness: 3600 },
      },
      roles: { admin: someone, signerManager: someone, pauser: someone, operator: someone, treasury: someone },
      deployedAt: new Date().toISOString(),
    },
    dir,
  );
  return dir;
}

export function workerEnvironment(variables: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of WORKER_VARIABLES) delete env[name];
  for (const [name, value] of Object.entries(variables)) if (value !== undefined) env[name] = value;
  return env;
}

export type LogLine = { msg?: string; level?: number; [field: string]: unknown };

const running = new Set<WorkerProcess>();

export class WorkerProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly text: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive = true;

  constructor(
    readonly name: string,
    variables: Record<string, string | undefined>,
  ) {
    this.child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", WORKER], {
      cwd: REPOSITORY,
      env: workerEnvironment(variables),
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.alive = false;
        running.delete(this);
        resolve({ code, signal });
      });
    });
    const lines = (stream: NodeJS.ReadableStream, onLine: (line: string) => void) => {
      let buffered = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        buffered += chunk;
        const parts = buffered.split("\n");
        buffered = parts.pop()!;
        for (const part of parts) if (part.trim()) onLine(part);
      });
      stream.on("end", () => buffered.trim() && onLine(buffered));
    };
    lines(this.child.stdout!, (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.text.push(line);
      }
    });
    lines(this.child.stderr!, (line) => this.text.push(line));
  }

  tail(count = 20): string {
    return [...this.logs.map((line) => JSON.stringify(line)), ...this.text].slice(-count).join("\n");
  }

  /** Waits for a log line with message `msg`; fails with the process's last output. */
  async log(msg: string, timeoutMs = 30_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find((line) => line.msg === msg);
      if (found) return found;
      if (!this.alive) throw new Error(`${this.name} exited before logging "${msg}":\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no "${msg}" within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async kill(): Promise<void> {
    if (this.alive) this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM, then the exit (SIGKILL after `graceMs`). */
  async stop(graceMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Kills every worker process started here that still runs (after hooks). */
export async function killWorkerProcesses(): Promise<void> {
  await Promise.all([...running].map((worker) => worker.kill()));
}
