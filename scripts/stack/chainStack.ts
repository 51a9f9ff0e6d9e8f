import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { DEFAULT_DEPLOYMENTS_DIR, readDeployment, type DeploymentRecord } from "../../indexer/src/chain/deployment";
import { readConfig, ROLES } from "../../indexer/src/config";
import { openStore, unusableDatabase } from "../../indexer/src/store/database";
import { checkPortsFree } from "./portAvailability";
import { Progress } from "./progress";
import { chainStackReady } from "./readyMessages";
import { REPOSITORY, shownPath, userPath } from "./repository";
import { startServices, type ServicesProcess } from "./servicesProcess";
import { keptStackFolder } from "./stackFolder";
import { readyUnlessStopped, serveUntilStopped, stopOnSignals } from "./stackLifetime";
import { StartError } from "./startError";
import { changedWith, type StartSettings } from "./startOptions";

/** An endpoint answered, but not with a chain id. */
class NotJsonRpc extends Error {}

/** Why a JSON-RPC endpoint gave no chain id, in a few words. */
function unreachable(error: unknown): string {
  if (error instanceof NotJsonRpc) return error.message;
  if ((error as Error).name === "TimeoutError") return "no answer within 10 s";
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const words: Record<string, string> = {
    ECONNREFUSED: "connection refused",
    ENOTFOUND: "no such host",
    ECONNRESET: "connection reset",
    ETIMEDOUT: "timed out",
  };
  if (cause?.code) return words[cause.code] ? `${words[cause.code]} (${cause.code})` : cause.code;
  return cause?.message ?? (error as Error).message;
}

/** The chain id the first answering URL gives; the error names the setting and each URL's problem. */
async function chainIdOf(urls: string[], source: string, out: (line: string) => void): Promise<number> {
  const problems: string[] = [];
  for (const url of urls) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      if (!response.ok) throw new NotJsonRpc(`HTTP ${response.status} ${response.statusText}`);
      let body: { result?: string; error?: { message?: string } };
      try {
        body = JSON.parse(text);
      } catch {
        throw new NotJsonRpc("the answer is not JSON-RPC");
      }
      if (typeof body.result !== "string") throw new NotJsonRpc(body.error?.message ?? "eth_chainId gave no result");
      if (problems.length > 0) out(`      warning: ${problems.join("; ")}`);
      return Number(BigInt(body.result));
    } catch (error) {
      problems.push(`${url}: ${unreachable(error)}`);
    }
  }
  throw new StartError(`${source}: no JSON-RPC answer from ${problems.join("; ")}`);
}

/**
 * The chain's deployment record: the file given, else deployments/<chainId>.json (or in OPENPAY_DEPLOYMENTS_DIR).
 * The services read <dir>/<chainId>.json, so a file of another name is handed to them as a copy of that name.
 */
function deploymentFor(
  chainId: number,
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): { record: DeploymentRecord; file: string; dir: string; cleanup: () => void } {
  const given = file !== undefined;
  const wanted =
    file ?? path.join(env.OPENPAY_DEPLOYMENTS_DIR?.trim() ? userPath(env.OPENPAY_DEPLOYMENTS_DIR.trim()) : DEFAULT_DEPLOYMENTS_DIR, `${chainId}.json`);
  let dir = path.dirname(wanted);
  let cleanup: () => void = () => undefined;
  if (path.basename(wanted) !== `${chainId}.json`) {
    dir = mkdtempSync(path.join(tmpdir(), "open-pay-deployment-"));
    cleanup = () => rmSync(dir, { recursive: true, force: true });
    try {
      copyFileSync(wanted, path.join(dir, `${chainId}.json`));
    } catch (error) {
      cleanup();
      const code = (error as NodeJS.ErrnoException).code;
      throw new StartError(
        `--deployment / DEPLOYMENT_FILE: ${shownPath(wanted)} ${code === "ENOENT" ? "not found" : `cannot be read (${code ?? (error as Error).message})`}`,
      );
    }
  }
  try {
    const record = readDeployment(chainId, dir);
    return { record, file: wanted, dir, cleanup };
  } catch (error) {
    cleanup();
    const message = (error as Error).message.split(path.join(dir, `${chainId}.json`)).join(shownPath(wanted));
    throw new StartError(given ? message : `${message}; or give the record with --deployment or DEPLOYMENT_FILE`);
  }
}

/**
 * `npm start` against a chain (RPC_URL): no chain started, nothing deployed. Checks the chain, its deployment record
 * and the database, runs the Open Pay process with every role against them, and says how to add a merchant.
 */
export async function runAgainstChain(settings: StartSettings, out: (line: string) => void = console.log): Promise<number> {
  const urls = settings.rpcUrls!;
  const env: NodeJS.ProcessEnv = { ...settings.env, RPC_URLS: urls.join(","), ROLES: ROLES.join(",") };
  if (!env.DATABASE_URL?.trim()) {
    throw new StartError(
      "DATABASE_URL is not set: against a chain npm start keeps payments and merchants in PostgreSQL " +
        "(postgres://user:password@host:5432/openpay), which `npm run merchant` and further processes share",
    );
  }
  if (!env.INTENT_SIGNER_PRIVATE_KEY?.trim()) {
    throw new StartError(
      "INTENT_SIGNER_PRIVATE_KEY is not set: the API signs payment intents with it, and each merchant registers its " +
        "address on the escrow as their signer (docs/operations.md)",
    );
  }
  let config;
  try {
    config = readConfig(env);
  } catch (error) {
    throw new StartError((error as Error).message);
  }

  const progress = new Progress(4, out);
  out(
    `Open Pay: starting the services against ${urls[0]}${urls.length > 1 ? ` (and ${urls.length - 1} more)` : ""}; no chain is started and nothing is deployed`,
  );
  progress.step(`asking the chain for its id (${settings.rpcSource})`, "chain");
  const chainId = await chainIdOf(urls, settings.rpcSource!, out);
  progress.detail(`chain ${chainId}`);

  progress.step("reading the deployment record", "deployment");
  const deployment = deploymentFor(chainId, settings.deploymentFile, env);
  try {
    env.OPENPAY_DEPLOYMENTS_DIR = deployment.dir;
    progress.detail(`${shownPath(deployment.file)}: escrow ${deployment.record.escrow}, indexed from block ${deployment.record.blockNumber}`);
    await checkPortsFree([
      { host: config.apiHost, port: config.apiPort, what: "the merchant API", changedWith: changedWith("api-port") },
      { host: "127.0.0.1", port: config.statusPort, what: "/metrics and /health", changedWith: changedWith("status-port") },
    ]);

    progress.step("checking the database (DATABASE_URL) and bringing its schema up to date", "database");
    let merchants: number;
    try {
      const store = await openStore({ url: config.databaseUrl });
      try {
        const row = await store.db
          .selectFrom("merchants")
          .select((eb) => eb.fn.countAll<string>().as("count"))
          .executeTakeFirstOrThrow();
        merchants = Number(row.count);
      } finally {
        await store.close();
      }
    } catch (error) {
      throw new StartError(unusableDatabase({ url: config.databaseUrl }, error));
    }

    const folder = keptStackFolder(settings.dataDir ?? path.join(REPOSITORY, "data", `chain-${chainId}`));
    let services: ServicesProcess | undefined;
    const signal = stopOnSignals(out, () => {
      services?.kill();
      process.exit(130);
    });
    process.once("exit", () => void services?.stop());
    progress.step("starting the services: indexer" + (config.operatorKey ? ", keeper" : "") + ", merchant API, hosted checkout, webhook worker", "services");
    services = startServices({ env, logFile: folder.log, notice: (line) => out(`  [services] ${line}`) });
    const ready = await readyUnlessStopped(services, signal);
    if (!ready) {
      out("stopped");
      return 0;
    }
    progress.detail(`ready ${progress.finish()}`);
    out(
      chainStackReady({
        apiUrl: config.publicUrl.replace(/\/+$/, ""),
        listening: ready.apiAddress,
        rpcUrls: urls,
        record: deployment.record,
        deploymentFile: deployment.file,
        merchants,
        operator: ready.operator,
        intentSigner: privateKeyToAccount(config.intentSignerKey!).address,
        statusPort: ready.statusPort,
        folder,
      }),
    );
    const code = await serveUntilStopped(services, signal, folder.log, out);
    out("stopped");
    return code;
  } finally {
    deployment.cleanup();
  }
}
