/**
 * The benchmark process's own peak resident memory over a stretch of work (Linux's VmHWM), for the indexer's memory
 * target. The peak is set back to the current resident size at the start (`/proc/self/clear_refs`, 5), so that an
 * earlier run's peak does not count; the Hardhat chain lives in the same process, and its share is in `startMiB`.
 */
import { readFileSync, writeFileSync } from "node:fs";

const statusKiB = (field: "VmHWM" | "VmRSS") => Number(readFileSync("/proc/self/status", "utf8").match(new RegExp(`${field}:\\s+(\\d+) kB`))![1]);

export interface PeakMemory {
  /** Resident memory when the stretch began (the chain and what the process held before), MiB. */
  startMiB: number;
  /** The highest resident memory during the stretch, MiB. */
  peakMiB: number;
}

/** Starts watching; the returned function gives the stretch's start and peak. */
export function watchPeakMemory(): () => PeakMemory {
  global.gc?.();
  writeFileSync("/proc/self/clear_refs", "5");
  const startMiB = statusKiB("VmRSS") / 1024;
  return () => ({ startMiB, peakMiB: statusKiB("VmHWM") / 1024 });
}
