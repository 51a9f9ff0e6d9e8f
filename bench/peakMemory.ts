/**
 * A process's own peak resident memory (Linux's VmHWM in /proc/<pid>/status), for the indexer's memory target:
 * read from the indexer's process while it still runs (the benchmark's chain lives in another).
 */
import { readFileSync } from "node:fs";

/** The peak resident memory of process `pid` so far, MiB. */
export function peakResidentMiB(pid: number): number {
  const match = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/);
  if (!match) throw new Error(`process ${pid} reports no VmHWM (has it exited?)`);
  return Number(match[1]) / 1024;
}
