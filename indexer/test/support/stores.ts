import { randomBytes } from "node:crypto";
import pg from "pg";
import { openStore, type Store } from "../../src/store/database";

/** The PostgreSQL server tests create their databases on (CI and these machines: 127.0.0.1:5432, trust). */
export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export const STORE_KINDS = ["pglite", "postgres"] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** A fresh empty database of a new name on the test server; returns its URL and a function that drops it. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `openpay_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await client.connect();
      // A closed pool's connections may still be saying goodbye (pg's pool.end() does not wait for the sockets):
      // forcing the drop then would kill them mid-close and fail the test with an uncaught "terminating connection
      // due to administrator command". Wait a little for them to leave; force only what is still there after that.
      for (let i = 0; i < 100; i++) {
        const { rows } = await client.query("select count(*)::int as sessions from pg_stat_activity where datname = $1", [name]);
        if (rows[0].sessions === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** A migrated, empty store of `kind`: PGlite in memory, or PostgreSQL in a database of its own. */
export async function openTestStore(kind: StoreKind): Promise<Store> {
  if (kind === "pglite") return openStore({});
  const database = await freshPostgresDatabase();
  const store = await openStore({ url: database.url });
  return {
    ...store,
    close: async () => {
      await store.close();
      await database.drop();
    },
  };
}

/** Runs the same tests against PGlite and PostgreSQL: `suite` gets a function returning the current store. */
export function describeEachStore(title: string, suite: (store: () => Store) => void): void {
  for (const kind of STORE_KINDS) {
    describe(`${title} (${kind})`, function () {
      let store: Store | undefined;
      beforeEach(async function () {
        store = await openTestStore(kind);
      });
      afterEach(async function () {
        await store?.close();
        store = undefined;
      });
      suite(() => {
        if (!store) throw new Error("the store is opened in beforeEach");
        return store;
      });
    });
  }
}
