import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { onLines } from "./outputLines";
import { programArguments } from "./programArguments";
import { REPOSITORY } from "./repository";
import { StartError } from "./startError";

/**
 * The Open Pay process — indexer/src/main.ts with every role: indexer and keeper, merchant API with the hosted
 * checkout, webhook worker — as npm start's child. Its JSON log lines go to a file; warnings and errors are also
 * passed to `notice`, shortened, so that the terminal shows what needs attention and nothing else. It is ready
 * when it has logged what main.ts logs once each part runs ("serving /metrics and /health", "merchant API
 * listening", "webhook worker running"), so its LOG_LEVEL is never above info.
 */

const LEVELS: Record<number, string> = { 40: "warning", 50: "error", 60: "fatal" };

export interface ServicesReady {
  /** Where the API listens (http://host:port). */
  apiAddress: string;
  /** The /metrics and /health port. */
  statusPort: number;
  /** The keeper's account, when it runs. */
  operator?: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServicesProcess {
  pid: number;
  /**
   * Resolves when the API listens and the webhook worker runs; rejects with a StartError carrying the process's error
   * and exit code if it exits first.
   */
  ready: Promise<ServicesReady>;
  exited: Promise<Exit>;
  /** SIGTERM, and SIGKILL if it has not stopped after `graceMs`. */
  stop(graceMs?: number): Promise<Exit>;
  /** SIGKILL, at once. */
  kill(): void;
}

/** A pino line as one short sentence: "warning: RPC request failed; retrying (fetch failed)". */
function shortened(entry: { level: number; msg?: string; err?: { message?: string; shortMessage?: string } }): string {
  const detail = entry.err?.shortMessage ?? entry.err?.message;
  return `${LEVELS[entry.level] ?? "log"}: ${entry.msg ?? ""}${detail ? ` (${detail.split("\n")[0]})` : ""}`;
}

export function startServices({ env, logFile, notice }: { env: NodeJS.ProcessEnv; logFile: string; notice: (line: string) => void }): ServicesProcess {
  const log = createWriteStream(logFile, { flags: "a" });
  const level = env.LOG_LEVEL?.trim() || "info";
  const child: ChildProcess = spawn(process.execPath, programArguments("indexer/src/main", { preload: ["scripts/stack/exitWithParent"] }), {
    cwd: REPOSITORY,
    env: { ...env, LOG_LEVEL: ["trace", "debug", "info"].includes(level) ? level : "info" },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const errors: string[] = [];
  const seen: Partial<ServicesReady> & { webhooks?: boolean } = {};
  let settle: { resolve: (ready: ServicesReady) => void; reject: (error: Error) => void } | undefined;
  const ready = new Promise<ServicesReady>((resolve, reject) => (settle = { resolve, reject }));
  ready.catch(() => undefined);
  const checkReady = () => {
    if (settle && seen.apiAddress !== undefined && seen.webhooks && seen.statusPort !== undefined) {
      settle.resolve({ apiAddress: seen.apiAddress, statusPort: seen.statusPort, operator: seen.operator });
      settle = undefined;
    }
  };

  onLines(child.stdout!, (line) => {
    log.write(`${line}\n`);
    let entry: { level: number; msg?: string; [field: string]: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      notice(line);
      return;
    }
    if (entry.msg === "merchant API listening") seen.apiAddress = String(entry.address);
    if (entry.msg === "serving /metrics and /health") seen.statusPort = Number(entry.port);
    if (entry.msg === "keeper running") seen.operator = String(entry.operator);
    if (entry.msg === "webhook worker running") seen.webhooks = true;
    if (entry.level >= 40) notice(shortened(entry as Parameters<typeof shortened>[0]));
    checkReady();
  });
  onLines(child.stderr!, (line) => {
    log.write(`${line}\n`);
    errors.push(line);
    // Before it is ready, its error is the start's failure, said once by whoever awaits `ready`.
    if (!settle) notice(line);
  });

  const exited = new Promise<Exit>((resolve) => {
    child.once("close", (code, signal) => {
      log.end();
      if (settle) {
        const said = errors.filter((line) => line.startsWith("error:")).map((line) => line.slice("error:".length).trim());
        const why = said.length > 0 ? said.join("; ") : errors.slice(-10).join("\n") || `it exited with code ${code}${signal ? ` (${signal})` : ""}`;
        settle.reject(new StartError(`the services stopped while starting: ${why}`, code || 1));
        settle = undefined;
      }
      resolve({ code, signal });
    });
  });

  return {
    pid: child.pid ?? -1,
    ready,
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
