/** What the benchmarks' docs say a run was measured on: the machine, Node and the PostgreSQL server. */
import { cpus, release, totalmem, type } from "node:os";
import { sql, type Kysely } from "kysely";
import type { Database } from "../indexer/src/store/schema";

/** "2 × Intel(R) Xeon(R) Processor (24 GiB, Linux 6.1…), Node v20…, PostgreSQL 15… on 127.0.0.1 (default settings)". */
export async function machineDescription(db: Kysely<Database>): Promise<string> {
  const postgres = (await sql<{ version: string }>`select version()`.execute(db)).rows[0].version.split(" on ")[0];
  return (
    `${cpus().length} × ${cpus()[0]?.model ?? "CPU"} (${Math.round(totalmem() / 2 ** 30)} GiB, ${type()} ${release()}), ` +
    `Node ${process.version}, ${postgres} on 127.0.0.1 (default settings)`
  );
}
