import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import path from "node:path";
import { onLines } from "../../../scripts/stack/outputLines";
import { CONFIG_VARIABLES } from "../../src/config";

/**
 * The indexer as its own operating-system process (`node -r ts-node/register/transpile-only indexer/src/main.ts`,
 * or the compiled build that production runs), for tests that kill it, run two of it, or read its /metrics and
 * /health, and for benchmarks that measure it apart from the chain; and a JSON-RPC link between it and the test
 * chain that can refuse, delay or watch its requests.
 */

const REPOSITORY = path.resolve(__dirname, "../../..");
/** The sources through ts-node (tests: no build needed), or the build of `npm run build` (production, benchmarks). */
const MAIN = { source: ["-r", "ts-node/register/transpile-only", "indexer/src/main.ts"], compiled: ["dist/indexer/src/main.js"] };
export type IndexerBuild = keyof typeof MAIN;

/** The variables main.ts reads (config.ts's list): never inherited from the environment the tests run in. */
const INDEXER_VARIABLES = CONFIG_VARIABLES;

/**
 * The test's environment without the indexer's variables, plus `variables` (undefined ones left out). The process
 * runs only the indexer (and keeper) unless `variables` name other ROLES.
 */
export function indexerEnvironment(variables: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of INDEXER_VARIABLES) delete env[name];
  env.ROLES = "indexer";
  for (const [name, value] of Object.entries(variables)) if (value !== undefined) env[name] = value;
  return env;
}

function spawnIndexer(env: NodeJS.ProcessEnv, build: IndexerBuild = "source", nodeOptions: readonly string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeOptions, ...MAIN[build]], {
    cwd: REPOSITORY,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A pino line of the process's standard output. */
export type LogLine = { msg?: string; level?: number; [field: string]: unknown };

/** Every process started here and not yet seen to exit: `killIndexerProcesses` ends them (after hooks). */
const running = new Set<IndexerProcess>();

export class IndexerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logs: LogLine[] = [];
  /** Standard output lines that are not JSON, and standard error. */
  readonly text: string[] = [];
  readonly exited: Promise<Exit>;
  exit?: Exit;
  private readonly waiters = new Set<() => void>();
  private statusPort?: number;

  constructor(
    readonly name: string,
    env: NodeJS.ProcessEnv,
    { build, nodeOptions }: { build?: IndexerBuild; nodeOptions?: readonly string[] } = {},
  ) {
    this.child = spawnIndexer(env, build, nodeOptions);
    if (this.child.pid === undefined) throw new Error(`${name}: could not start the indexer process`);
    this.pid = this.child.pid;
    running.add(this);
    this.exited = new Promise<Exit>((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        running.delete(this);
        this.notify();
        resolve(this.exit);
      });
    });
    onLines(this.child.stdout!, (line) => {
      try {
        const parsed = JSON.parse(line) as LogLine;
        this.logs.push(parsed);
        if (parsed.msg === "serving /metrics and /health") this.statusPort = Number(parsed.port);
      } catch {
        this.text.push(line);
      }
      this.notify();
    });
    onLines(this.child.stderr!, (line) => {
      this.text.push(line);
      this.notify();
    });
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  private notify() {
    for (const wake of [...this.waiters]) wake();
  }

  /** The last lines it wrote, for failure messages. */
  tail(count = 25): string {
    const all = [...this.logs.map((line) => JSON.stringify(line)), ...this.text];
    return all.slice(-count).join("\n");
  }

  /**
   * Waits until `check` returns something other than undefined (checked now and at each output line, exit and every
   * `pollMs`); fails after `timeoutMs`, or at once if the process exits first, with its last output.
   */
  async until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, { timeoutMs = 30_000, pollMs = 100 } = {}): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (!this.alive) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before ${what}:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(pollMs, Math.max(1, deadline - Date.now())));
        this.waiters.add(wake);
      });
    }
  }

  /** The first log line with message `msg` (and matching `fields`), waiting for it. */
  log(msg: string | RegExp, options?: { timeoutMs?: number }): Promise<LogLine> {
    const matches = (line: LogLine) => (typeof msg === "string" ? line.msg === msg : msg.test(String(line.msg)));
    return this.until(`log "${msg}"`, () => this.logs.find(matches), options);
  }

  /** The port of /metrics and /health, once the process serves them. */
  port(options?: { timeoutMs?: number }): Promise<number> {
    return this.until("status server", () => this.statusPort, options);
  }

  async health(): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`http://127.0.0.1:${await this.port()}/health`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async metrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${await this.port()}/metrics`);
    if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
    return response.text();
  }

  /** Sends SIGKILL and waits for the exit. */
  async kill(): Promise<Exit> {
    if (this.alive) this.child.kill("SIGKILL");
    return this.exited;
  }

  /** Sends SIGTERM and waits for the exit (SIGKILL after `graceMs`). */
  async stop(graceMs = 15_000): Promise<Exit> {
    if (!this.alive) return this.exited;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface IndexerProcessOptions {
  rpcUrl: string;
  deploymentsDir: string;
  /** PostgreSQL; else PGlite in `dataDir`. */
  databaseUrl?: string;
  dataDir?: string;
  /** Further variables: CONFIRMATIONS, POLL_INTERVAL_MS, HEALTH_MAX_LAG_BLOCKS, LOG_LEVEL… */
  env?: Record<string, string | undefined>;
  /** The sources (default) or the compiled build. */
  build?: IndexerBuild;
  /** Node's own options (--cpu-prof…), before the program. */
  nodeOptions?: readonly string[];
}

/** Starts `main.ts` with its status server on a free port. */
export function startIndexerProcess(name: string, options: IndexerProcessOptions): IndexerProcess {
  return new IndexerProcess(
    name,
    indexerEnvironment({
      RPC_URLS: options.rpcUrl,
      OPENPAY_DEPLOYMENTS_DIR: options.deploymentsDir,
      DATABASE_URL: options.databaseUrl,
      DATA_DIR: options.dataDir,
      STATUS_PORT: "0",
      LOG_LEVEL: "info",
      ...options.env,
    }),
    { build: options.build, nodeOptions: options.nodeOptions },
  );
}

/** Runs the process with exactly `variables` (besides the test's environment) until it exits by itself. */
export async function runIndexerToExit(variables: Record<string, string | undefined>, timeoutMs = 60_000): Promise<Exit & { stdout: string; stderr: string }> {
  const child = spawnIndexer(indexerEnvironment(variables));
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    // "close" comes after the exit and the end of its output.
    const [code, signal] = (await new Promise((resolve) => child.once("close", (...args) => resolve(args)))) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Kills (SIGKILL, by pid) every indexer process started here that is still running, and waits for them. */
export async function killIndexerProcesses(): Promise<void> {
  await Promise.all([...running].map((process) => process.kill()));
}

/** The value of a Prometheus sample in `/metrics` text (`name` with any labels); undefined when absent. */
export function metricValue(text: string, name: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match && match[1] === name) return Number(match[3]);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The JSON-RPC link between an indexer process and the test chain.

export interface RpcCall {
  method: string;
  params: unknown[];
}

/** What the link does with a call: forward it (undefined), answer it with a JSON-RPC error, or wait first. */
export type RpcRule = (call: RpcCall) => undefined | { error: { code: number; message: string } } | Promise<void>;

export interface RpcLink {
  url: string;
  /** Calls seen, in order (method and params). */
  calls: RpcCall[];
  /** Replaces the rule (undefined: forward everything). */
  setRule(rule: RpcRule | undefined): void;
  /** Called for every call, before the rule: kill triggers and progress logs. */
  onCall(listener: ((call: RpcCall) => void) | undefined): void;
  close(): Promise<void>;
}

/**
 * An HTTP JSON-RPC server that forwards to `target`, so that a test can do to the indexer what providers do:
 * refuse a log range as too large, fail, stall. Requests are handled one by one as they come (single or batch).
 */
export async function startRpcLink(target: string): Promise<RpcLink> {
  let rule: RpcRule | undefined;
  let listener: ((call: RpcCall) => void) | undefined;
  const calls: RpcCall[] = [];

  const handle = async (request: { jsonrpc?: string; id?: unknown; method: string; params?: unknown[] }) => {
    const call = { method: request.method, params: request.params ?? [] };
    calls.push(call);
    listener?.(call);
    const decided = rule?.(call);
    if (decided && "error" in decided) return { jsonrpc: "2.0", id: request.id, error: decided.error };
    if (decided) await decided;
    const response = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
    });
    return response.json();
  };

  const server: Server = createServer(async (request, response) => {
    try {
      const body = JSON.parse(await readBody(request));
      const answer = Array.isArray(body) ? await Promise.all(body.map(handle)) : await handle(body);
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(answer));
    } catch (error) {
      if (response.headersSent || response.destroyed) return;
      response.writeHead(502, { "content-type": "application/json" });
      response.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32603, message: `rpc link: ${(error as Error).message}` } }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    setRule: (next) => (rule = next),
    onCall: (next) => (listener = next),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => resolve(body));
    request.on("error", reject);
  });
}

/**
 * A rule that refuses `eth_getLogs` over more than `maxBlocks` blocks as public BSC endpoints do, so that the
 * indexer's adaptive range shrinks and a backfill takes many batches. Counts its refusals.
 */
export function logRangeLimit(maxBlocks: number): RpcRule & { refusals: number } {
  const rule = ((call: RpcCall) => {
    if (call.method !== "eth_getLogs") return undefined;
    const filter = call.params[0] as { fromBlock?: string; toBlock?: string; blockHash?: string };
    if (filter.blockHash || !filter.fromBlock || !filter.toBlock) return undefined;
    const blocks = Number(BigInt(filter.toBlock) - BigInt(filter.fromBlock)) + 1;
    if (blocks <= maxBlocks) return undefined;
    rule.refusals += 1;
    return { error: { code: -32000, message: `exceed maximum block range: ${maxBlocks}` } };
  }) as RpcRule & { refusals: number };
  rule.refusals = 0;
  return rule;
}

/**
 * A rule that holds calls of the given methods until released, as a stalled provider does: the held calls are
 * forwarded (and answered with the chain as it is then) on `release`.
 */
export class RpcGate {
  private methods: Set<string>;
  private readonly held: Array<{ method: string; release: () => void }> = [];

  constructor(methods: readonly string[]) {
    this.methods = new Set(methods);
  }

  readonly rule: RpcRule = (call) => {
    if (!this.methods.has(call.method)) return undefined;
    return new Promise<void>((release) => this.held.push({ method: call.method, release }));
  };

  /** Calls waiting now. */
  get waiting(): number {
    return this.held.length;
  }

  /** Lets the calls waiting now through, and keeps holding the ones that come later. */
  release(): void {
    for (const call of this.held.splice(0)) call.release();
  }

  /** Lets `methods` through from now on, and the waiting calls of them at once. */
  open(methods: readonly string[] = [...this.methods]): void {
    for (const method of methods) this.methods.delete(method);
    const released = this.held.filter((call) => methods.includes(call.method));
    this.held.splice(0, this.held.length, ...this.held.filter((call) => !methods.includes(call.method)));
    for (const call of released) call.release();
  }
}
