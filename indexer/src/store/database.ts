import { mkdirSync } from "node:fs";
import { Kysely, PostgresDialect } from "kysely";
import type pg from "pg";
import { migrateToLatest } from "./migrate";
import { prepareMarkedStatements } from "./preparedStatements";
import type { Database } from "./schema";

/** The payload a listener gets after its session was lost and opened again: notifications may have been missed. */
export const RESYNC = "*resync";

export interface Store {
  db: Kysely<Database>;
  kind: "pglite" | "postgres";
  /** The PostgreSQL connection string when `kind` is postgres (the advisory lock opens its own session). */
  url?: string;
  /**
   * Calls `onNotify` with the payload of each NOTIFY of `channel` (PostgreSQL's LISTEN on a session of its own, or
   * PGlite's); returns the function that stops listening.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Why the database a process was given cannot be used, naming the variable its operator set (DATABASE_URL or DATA_DIR). */
export function unusableDatabase({ url, dataDir }: { url?: string; dataDir?: string }, error: unknown): string {
  return `${url ? "DATABASE_URL" : `DATA_DIR (${dataDir})`}: cannot use the database: ${(error as Error).message}`;
}

/**
 * Opens the indexer's database and migrates it: PostgreSQL when `url` (DATABASE_URL) is given, else PGlite with
 * its data in `dataDir` (in memory when that is absent too). Both speak the same SQL, so every query runs on both.
 */
export async function openStore({ url, dataDir }: { url?: string; dataDir?: string }): Promise<Store> {
  let db: Kysely<Database>;
  let kind: Store["kind"];
  let listen: Store["listen"];
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`DATABASE_URL: must start with postgres:// or postgresql://, got "${url}"`);
    // Each client is loaded only by the processes that use it: PGlite's WebAssembly is no PostgreSQL process's cost.
    const { default: pg } = await import("pg");
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: prepareMarkedStatements(new pg.Pool({ connectionString: url, max: 10 })) }) });
    kind = "postgres";
    listen = async (channel, onNotify) => {
      let stopped = false;
      let client: pg.Client;
      const session = async () => {
        const next = new pg.Client({ connectionString: url });
        next.on("notification", (message) => message.channel === channel && onNotify(message.payload ?? ""));
        // A lost session is opened again (a second later, until it opens); what was announced meanwhile is lost, so
        // the listener is told to catch up with RESYNC.
        next.on("error", () => undefined);
        next.once("end", () => {
          if (stopped) return;
          const retry = () =>
            session().then(
              () => onNotify(RESYNC),
              () => setTimeout(retry, 1000).unref(),
            );
          setTimeout(retry, 1000).unref();
        });
        await next.connect();
        if (stopped) return void (await next.end());
        await next.query(`listen ${pg.escapeIdentifier(channel)}`);
        client = next;
      };
      await session();
      return async () => {
        stopped = true;
        await client.end().catch(() => undefined);
      };
    };
  } else {
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    const [{ PGlite }, { PGliteDialect }] = await Promise.all([import("@electric-sql/pglite"), import("kysely-pglite-dialect")]);
    // PostgreSQL's default 128 MB of shared buffers, which PGlite touches at start inside its WebAssembly memory
    // (that never shrinks), were a third of the indexer's peak RSS; 32 MB hold the working set, the OS caches the rest.
    const pglite = new PGlite(dataDir, { startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=32MB"] });
    db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    kind = "pglite";
    listen = async (channel, onNotify) => {
      const stop = await pglite.listen(channel, (payload) => onNotify(payload));
      return async () => {
        await stop().catch(() => undefined);
      };
    };
  }
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { db, kind, url, listen, close: () => db.destroy() };
}
