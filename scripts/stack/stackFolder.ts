import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { REPOSITORY, shownPath } from "./repository";
import { StartError } from "./startError";

/** The file that marks a folder as npm start's own, and so safe to wipe. */
const MARKER = ".openpay-stack";

/** npm start's folder and what it keeps there. */
export interface StackFolder {
  dir: string;
  /** PGlite's data (local chain only). */
  database: string;
  /** The local deployment's record, <chainId>.json (local chain only). */
  deployments: string;
  /** Every log line of the services (pino JSON). */
  log: string;
  /** How to reach the running local stack: read by `npm run demo`. */
  details: string;
}

export const DEFAULT_LOCAL_DIR = path.join(REPOSITORY, "data", "local");

export function stackFolder(dir: string): StackFolder {
  return {
    dir,
    database: path.join(dir, "database"),
    deployments: path.join(dir, "deployments"),
    log: path.join(dir, "openpay.log"),
    details: path.join(dir, "stack.json"),
  };
}

/**
 * The local stack's folder, emptied: the local chain lives in memory, so its database and deployment record from
 * an earlier start describe a chain that is gone. Only a folder npm start made (or an empty one) is wiped: any
 * other folder stops the start, so that a mistyped --data-dir never deletes someone's files.
 */
export function freshStackFolder(dir: string, changedWith: string): StackFolder {
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new StartError(
        `${shownPath(dir)} is not empty and was not made by npm start, which wipes its folder at every start: choose another with ${changedWith}`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return keptStackFolder(dir);
}

/** npm start's folder, kept as it is (against a chain it holds only logs). */
export function keptStackFolder(dir: string): StackFolder {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, MARKER), "This folder belongs to `npm start`, which may wipe it at its next start.\n");
  return stackFolder(dir);
}
