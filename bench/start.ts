/**
 * Start-up benchmark: the compiled Open Pay process (`node dist/indexer/src/main.js`, what `npm run indexer` runs)
 * started again and again against a local chain, through a JSON-RPC relay that notes when the first request
 * arrives. For each set of roles and database it gives
 *
 * 1. process start → first RPC request: from the spawn to the first request reaching the relay (Node's own start
 *    included);
 * 2. process start → ready: until the process has logged that each of its roles runs ("indexing", "merchant API
 *    listening", "webhook worker running").
 *
 * Each configuration keeps its database between runs (the first run migrates it), as a restart does.
 * `npm run bench:start` prints the table; BENCH_WRITE=1 also writes it to docs/start-benchmark.md. BENCH_MAIN runs
 * another build's main.js (an earlier commit's, built apart) for a comparison.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { onLines } from "../scripts/stack/outputLines";
import { freePort } from "../scripts/stack/portAvailability";
import { CONFIG_VARIABLES } from "../indexer/src/config";
import { OPERATOR_KEY } from "../indexer/test/support/gatewayProcess";
import { INTENT_SIGNER_KEY, startLocalChain } from "../indexer/test/support/localChain";
import { freshPostgresDatabase } from "../indexer/test/support/stores";
import { fixed, markdownTable } from "./markdownTable";
import { runBenchmark } from "./benchmarkRun";

const REPOSITORY = path.join(__dirname, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
/** Another build's main.js (an earlier commit's, to compare with); this one's by default. */
const MAIN = process.env.BENCH_MAIN ? path.resolve(process.env.BENCH_MAIN) : path.join(REPOSITORY, "dist/indexer/src/main.js");

/** The line each role logs once it runs (main.ts). */
const READY_LINES: Record<string, string> = { indexer: "indexing", api: "merchant API listening", webhooks: "webhook worker running" };

interface Relay {
  url: string;
  /** Resolves with the performance.now() at which the next first request arrives. */
  nextFirstRequest(): Promise<number>;
  close(): Promise<void>;
}

/** A JSON-RPC relay to the chain that notes the moment a request arrives first since `nextFirstRequest()`. */
async function startRelay(chainUrl: string): Promise<Relay> {
  let notify: ((at: number) => void) | undefined;
  const server: Server = createServer((request, response) => {
    const at = performance.now();
    notify?.(at);
    notify = undefined;
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      try {
        const answer = await fetch(chainUrl, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) });
        response.writeHead(answer.status, { "content-type": "application/json" }).end(Buffer.from(await answer.arrayBuffer()));
      } catch {
        response.writeHead(502).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    nextFirstRequest: () => new Promise((resolve) => (notify = resolve)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Configuration {
  name: string;
  roles: string[];
  database: "pglite" | "postgres";
}

const CONFIGURATIONS: Configuration[] = [
  { name: "every role, PostgreSQL", roles: ["indexer", "api", "webhooks"], database: "postgres" },
  { name: "every role, PGlite", roles: ["indexer", "api", "webhooks"], database: "pglite" },
  { name: "indexer (and keeper), PostgreSQL", roles: ["indexer"], database: "postgres" },
  { name: "API, PostgreSQL", roles: ["api"], database: "postgres" },
  { name: "webhook worker, PostgreSQL", roles: ["webhooks"], database: "postgres" },
];

/** One start: the milliseconds from the spawn to the first RPC request and to the last role's ready line. */
async function startOnce(env: NodeJS.ProcessEnv, relay: Relay, roles: readonly string[]): Promise<{ firstRpc: number; ready: number }> {
  const firstRequest = relay.nextFirstRequest();
  const spawned = performance.now();
  const child = spawn(process.execPath, [MAIN], { cwd: REPOSITORY, env, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const waiting = new Set(roles.map((role) => READY_LINES[role]));
  const ready = new Promise<number>((resolve, reject) => {
    onLines(child.stdout!, (line) => {
      output.push(line);
      try {
        waiting.delete(JSON.parse(line).msg);
      } catch {
        return;
      }
      if (waiting.size === 0) resolve(performance.now());
    });
    onLines(child.stderr!, (line) => output.push(line));
    child.once("exit", (code) => reject(new Error(`the process exited (${code}) before it was ready:\n${output.slice(-10).join("\n")}`)));
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    const readyAt = await ready;
    return { firstRpc: (await firstRequest) - spawned, ready: readyAt - spawned };
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: REPOSITORY, stdio: "inherit" });
  const chain = await startLocalChain();
  const relay = await startRelay(chain.url);
  const rows: Array<{ configuration: Configuration; firstRpc: number[]; ready: number[]; load: string }> = [];
  try {
    for (const configuration of CONFIGURATIONS) {
      const postgres = configuration.database === "postgres" ? await freshPostgresDatabase({ empty: true }) : undefined;
      const dataDir = mkdtempSync(path.join(tmpdir(), "open-pay-start-"));
      try {
        const env: NodeJS.ProcessEnv = { ...process.env };
        for (const name of CONFIG_VARIABLES) delete env[name];
        Object.assign(env, {
          ROLES: configuration.roles.join(","),
          RPC_URLS: relay.url,
          OPENPAY_DEPLOYMENTS_DIR: chain.deploymentsDir,
          INTENT_SIGNER_PRIVATE_KEY: INTENT_SIGNER_KEY,
          OPERATOR_PRIVATE_KEY: OPERATOR_KEY,
          API_PORT: String(await freePort("127.0.0.1")),
          STATUS_PORT: String(await freePort("127.0.0.1")),
          ...(postgres ? { DATABASE_URL: postgres.url } : { DATA_DIR: dataDir }),
        });
        const firstRpc: number[] = [];
        const ready: number[] = [];
        const load = loadavg()
          .map((value) => value.toFixed(2))
          .join(" ");
        for (let run = 0; run < RUNS; run++) {
          const figures = await startOnce(env, relay, configuration.roles);
          firstRpc.push(figures.firstRpc);
          ready.push(figures.ready);
        }
        rows.push({ configuration, firstRpc, ready, load });
        console.log(
          `${configuration.name}: first RPC ${firstRpc.map((ms) => ms.toFixed(0)).join(", ")} ms; ready ${ready.map((ms) => ms.toFixed(0)).join(", ")} ms`,
        );
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
        await postgres?.drop();
      }
    }
  } finally {
    await relay.close();
    await chain.close();
  }

  const lines = [
    `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, Node ${process.version}; ${RUNS} starts of each, the chain (Hardhat, in the benchmark's`,
    "process) and PostgreSQL on the same machine. Milliseconds from the spawn of `node dist/indexer/src/main.js`.",
    "",
    ...markdownTable(
      [
        { header: "roles, database", cell: (row: (typeof rows)[number]) => row.configuration.name },
        { header: "first RPC, median (ms)", align: "right", cell: (row) => fixed(median(row.firstRpc), 0) },
        { header: "first RPC, max (ms)", align: "right", cell: (row) => fixed(Math.max(...row.firstRpc), 0) },
        { header: "ready, median (ms)", align: "right", cell: (row) => fixed(median(row.ready), 0) },
        { header: "ready, max (ms)", align: "right", cell: (row) => fixed(Math.max(...row.ready), 0) },
        { header: "load average (1, 5, 15 min)", cell: (row) => row.load },
      ],
      rows,
    ),
  ];
  console.log(`\n${lines.join("\n")}`);
  if (process.env.BENCH_WRITE === "1") {
    const file = path.join(__dirname, "../docs/start-benchmark.md");
    writeFileSync(file, ["# Start-up benchmark", "", "Generated by `BENCH_WRITE=1 npm run bench:start` (bench/start.ts).", "", ...lines, ""].join("\n"));
    console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
  }
}

runBenchmark(main);
