import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freshDatabase, schemaKey } from "../../../scripts/stack/databaseTemplate";
import { openStore, type Store } from "../../src/store/database";

/** The PostgreSQL server tests create their databases on (CI and these machines: 127.0.0.1:5432, trust). */
export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export const STORE_KINDS = ["pglite", "postgres"] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** Taken while a process looks for, or makes, the migrated template: two processes never make it at once. */
const TEMPLATE_LOCK = 0x6f70656e;

const databaseUrl = (name: string): string => {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
};

/**
 * Waits for the sessions on `name` to leave: a closed pool's connections may still be saying goodbye (pg's
 * pool.end() does not wait for the sockets), and dropping or renaming the database under them fails or kills them
 * mid-close. Returns whether it is free.
 */
async function sessionsGone(admin: pg.Client, name: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await admin.query("select count(*)::int as sessions from pg_stat_activity where datname = $1", [name]);
    if (rows[0].sessions === 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

let migratedTemplate: Promise<string> | undefined;

/**
 * The name of a migrated database to copy (CREATE DATABASE … TEMPLATE): copying it takes a fraction of the time the
 * migrations take. Named after the migrations as written, so an added or edited migration makes a new one (and the
 * older templates go); made once per server, by whichever test process asks first.
 */
function postgresTemplate(admin: pg.Client): Promise<string> {
  migratedTemplate ??= (async () => {
    const template = `openpay_template_${schemaKey()}`;
    await admin.query("select pg_advisory_lock($1)", [TEMPLATE_LOCK]);
    try {
      const { rowCount } = await admin.query("select 1 from pg_database where datname = $1", [template]);
      if (rowCount) return template;
      const { rows: older } = await admin.query<{ datname: string }>("select datname from pg_database where datname like 'openpay\\_template\\_%'");
      // An older schema's template, or one a killed process was making: not copied by anyone holding this lock.
      for (const { datname } of older) await admin.query(`drop database if exists ${datname}`).catch(() => undefined);
      const making = `${template}_making`;
      await admin.query(`create database ${making}`);
      const store = await openStore({ url: databaseUrl(making) });
      await store.close();
      if (!(await sessionsGone(admin, making))) throw new Error(`the template ${making} still has sessions after its migration`);
      await admin.query(`alter database ${making} rename to ${template}`);
      return template;
    } finally {
      await admin.query("select pg_advisory_unlock($1)", [TEMPLATE_LOCK]);
    }
  })();
  migratedTemplate.catch(() => {
    migratedTemplate = undefined;
  });
  return migratedTemplate;
}

/**
 * A fresh database of a new name on the test server, migrated (a copy of the template) unless `empty`; returns its
 * URL and a function that drops it. Benchmarks ask for `empty` and migrate it, as production's databases are made.
 */
export async function freshPostgresDatabase({ empty = false }: { empty?: boolean } = {}): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `openpay_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}${empty ? "" : ` template ${await postgresTemplate(admin)}`}`);
  } finally {
    await admin.end();
  }
  return {
    url: databaseUrl(name),
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await client.connect();
      // Forced only for what is still there after a wait: forcing at once fails the test with an uncaught
      // "terminating connection due to administrator command" from a connection closing anyway.
      await sessionsGone(client, name);
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** A migrated, empty store of `kind`: PGlite in a folder of its own, or PostgreSQL in a database of its own. */
export async function openTestStore(kind: StoreKind): Promise<Store> {
  if (kind === "pglite") {
    // A copy of the local stack's migrated template (made by `npm install`): initdb and the migrations take seconds.
    const folder = mkdtempSync(path.join(os.tmpdir(), "openpay-test-"));
    const dataDir = path.join(folder, "pglite");
    await freshDatabase(dataDir);
    const store = await openStore({ dataDir });
    return {
      ...store,
      close: async () => {
        await store.close();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  }
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
