/**
 * CPU accounting from /proc for the HTTP benchmarks (bench/api.ts, bench/checkout.ts): who used the machine's cores
 * during a run — the API, the load generator, PostgreSQL's processes and everything else on the machine.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { sql, type Kysely } from "kysely";
import type { Database } from "../indexer/src/store/schema";

const TICKS_PER_SECOND = 100;

/** Busy and total jiffies of all CPUs together. */
function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - fields[3] - fields[4], total };
}

/** CPU seconds a process has used (user and system), 0 once it is gone. */
export function processSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * PostgreSQL's processes working for this benchmark: the backends of its database and the server's own (WAL writer,
 * checkpointer…). Backends of other databases on the same server belong to "others".
 */
export async function postgresPids(db: Kysely<Database>): Promise<number[]> {
  const { rows } = await sql<{ pid: number }>`
    select pid from pg_stat_activity where datname = current_database() or backend_type <> 'client backend'`.execute(db);
  return rows.map((row) => Number(row.pid));
}

export interface CpuShare {
  /** Cores' worth of CPU, averaged over the run. */
  api: number;
  load: number;
  postgres: number;
  others: number;
  /** The machine's cores in use, all parties. */
  machine: number;
}

/**
 * Starts counting; the returned function ends the count and gives each party's share. `loadPid` is the load
 * generator's process (undefined when it runs inside the API's process, where it counts in the API's figure);
 * `loadSeconds` the CPU seconds the load process reported for the run itself.
 */
export function countCpu(apiPids: () => number[], loadPid: number | undefined, pgPids: readonly number[]): (loadSeconds: number) => CpuShare {
  const started = performance.now();
  const machine = machineTicks();
  const pg = pgPids.map(processSeconds);
  const api = apiPids().map(processSeconds);
  const load = loadPid === undefined ? 0 : processSeconds(loadPid);
  return (loadSeconds) => {
    const wall = (performance.now() - started) / 1000;
    const now = machineTicks();
    const cores = cpus().length;
    const machineCores = ((now.busy - machine.busy) / (now.total - machine.total)) * cores;
    const apiCores = apiPids().reduce((sum, pid, i) => sum + processSeconds(pid) - (api[i] ?? 0), 0) / wall;
    // autocannon in the API's process counts in the API's figure; reported by the load process itself otherwise.
    const loadCores = loadPid === undefined ? 0 : Math.max(processSeconds(loadPid) - load, loadSeconds) / wall;
    const postgresCores = pgPids.reduce((sum, pid, i) => sum + Math.max(0, processSeconds(pid) - pg[i]), 0) / wall;
    return {
      api: apiCores,
      load: loadCores,
      postgres: postgresCores,
      others: Math.max(0, machineCores - apiCores - loadCores - postgresCores),
      machine: machineCores,
    };
  };
}
