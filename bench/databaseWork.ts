/**
 * What a benchmark run asked of the database (bench/indexer.ts): the rows it wrote, from PostgreSQL's own table
 * statistics, and the CPU the backends of its database used, from /proc.
 */
import pg from "pg";
import { processSeconds } from "./cpuAccounting";

/** Rows inserted, updated and deleted, by table (only tables with any). */
export type RowsWritten = Map<string, number>;

export const totalRows = (rows: RowsWritten) => [...rows.values()].reduce((sum, n) => sum + n, 0);

/** Reads the rows written once the database's sessions, which flush their statistics as they end, are gone. */
export async function rowsWrittenAfterClose(url: string): Promise<RowsWritten> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let i = 0; i < 100; i++) {
      const { rows } = await client.query(
        "select count(*)::int as sessions from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
      );
      if (rows[0].sessions === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const { rows } = await client.query<{ relname: string; written: string }>(
      "select relname, (n_tup_ins + n_tup_upd + n_tup_del)::text as written from pg_stat_user_tables",
    );
    return new Map(rows.filter((row) => Number(row.written) > 0).map((row) => [row.relname, Number(row.written)]));
  } finally {
    await client.end();
  }
}

/**
 * Counts the CPU of the backends serving `url`'s database while it runs, sampling them every 200 ms from a session of
 * its own (not counted): a backend that starts during the run counts from its start, one already there from the
 * first sample. The server's shared processes (WAL writer, checkpointer) also work for other databases on the
 * machine and are left out.
 */
export async function countBackendCpu(url: string): Promise<() => Promise<number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const seconds = new Map<number, number>();
  const sample = async () => {
    const { rows } = await client.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'",
    );
    for (const { pid } of rows) {
      const used = processSeconds(pid);
      if (used > 0) seconds.set(pid, used);
    }
  };
  await sample();
  const before = new Map(seconds);
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(sample, () => undefined);
  }, 200);
  return async () => {
    clearInterval(timer);
    await sampling;
    await sample();
    await client.end();
    return [...seconds].reduce((sum, [pid, used]) => sum + used - (before.get(pid) ?? 0), 0);
  };
}
