import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { CONFIG_VARIABLES } from "../../src/config";

/**
 * A webhook worker as its own operating-system process (`indexer/src/main.ts` with ROLES=webhooks), for tests that
 * kill it with SIGKILL or run two of it on one database.
 */

const REPOSITORY = path.resolve(__dirname, "../../..");
const MAIN = "indexer/src/main.ts";

/** The process's environment: config.ts's variables never inherited from the one the tests run in, ROLES=webhooks. */
export function workerEnvironment(variables: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONFIG_VARIABLES) delete env[name];
  for (const [name, value] of Object.entries({ ROLES: "webhooks", ...variables })) if (value !== undefined) env[name] = value;
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
    this.child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", MAIN], {
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
