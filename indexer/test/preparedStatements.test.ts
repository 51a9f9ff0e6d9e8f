import { expect } from "chai";
import { CompiledQuery, sql, type Kysely } from "kysely";
import type { Store } from "../src/store/database";
import { preparedOnce } from "../src/store/preparedStatements";
import type { Database } from "../src/store/schema";
import { describeEachStore, openTestStore } from "./support/stores";

describeEachStore("statements prepared once", (store) => {
  it("runs a marked statement by name on PostgreSQL, with its parameters each time; PGlite runs it as it is", async function () {
    const text = preparedOnce("probe_sum", "select $1::int + $2::int as sum");
    const rows = await store()
      .db.transaction()
      .execute(async (trx) => {
        const sums: number[] = [];
        for (const [a, b] of [
          [1, 2],
          [40, 2],
        ]) {
          sums.push((await trx.executeQuery<{ sum: number }>(CompiledQuery.raw(text, [a, b]))).rows[0].sum);
        }
        const prepared =
          store().kind === "postgres"
            ? (await sql<{ name: string }>`select name from pg_prepared_statements where statement = ${text}`.execute(trx)).rows.map((row) => row.name)
            : [];
        return { sums, prepared };
      });
    expect(rows.sums).to.deep.equal([3, 42]);
    // One connection (the transaction's) prepared it once, under its name.
    expect(rows.prepared).to.have.length(store().kind === "postgres" ? 1 : 0);
    if (store().kind === "postgres") expect(rows.prepared[0]).to.equal("probe_sum_0");
    // An unmarked statement stays unnamed.
    const unmarked = "select $1::int * 2 as twice";
    await store().db.executeQuery(CompiledQuery.raw(unmarked, [2]));
    if (store().kind === "postgres") {
      const named = await sql<{ name: string }>`select name from pg_prepared_statements where statement = ${unmarked}`.execute(store().db);
      expect(named.rows).to.deep.equal([]);
    }
  });

  it("prepares a statement again once a migration changed its result columns: only the request in between fails", async function () {
    const text = preparedOnce("probe_read", "select * from prepared_probe where a = $1");
    const outcomes = await store()
      .db.connection()
      .execute(async (connection) => {
        await sql`create table prepared_probe (a int)`.execute(connection);
        await sql`insert into prepared_probe values (1)`.execute(connection);
        const read = () =>
          connection.executeQuery(CompiledQuery.raw(text, [1])).then(
            (result) => result.rows,
            (error: { code?: string }) => error.code,
          );
        const before = await read();
        await sql`alter table prepared_probe add column b int`.execute(connection);
        return [before, await read(), await read(), await read()];
      });
    // On PostgreSQL the connection that prepared it refuses it once after the migration; PGlite never prepared it.
    const between = store().kind === "postgres" ? "0A000" : [{ a: 1, b: null }];
    expect(outcomes).to.deep.equal([[{ a: 1 }], between, [{ a: 1, b: null }], [{ a: 1, b: null }]]);
  });
});

describe("statements prepared once (postgres, two connections)", function () {
  let store: Store;
  beforeEach(async function () {
    store = await openTestStore("postgres");
  });
  afterEach(async function () {
    await store.close();
  });

  it("fails one request after a migration changed the result columns, not one per connection that prepared it", async function () {
    const text = preparedOnce("probe_pool", "select * from prepared_probe where a = $1");
    await sql`create table prepared_probe (a int)`.execute(store.db);
    await sql`insert into prepared_probe values (1)`.execute(store.db);
    const read = (connection: Kysely<Database>) =>
      connection.executeQuery(CompiledQuery.raw(text, [1])).then(
        (result) => result.rows,
        (error: { code?: string }) => error.code,
      );
    const outcomes = await store.db.connection().execute((first) =>
      store.db.connection().execute(async (second) => {
        const before = [await read(first), await read(second)];
        await sql`alter table prepared_probe add column b int`.execute(first);
        return [...before, await read(first), await read(second), await read(first)];
      }),
    );
    // The second connection prepared it before the migration too, but takes the new name the first's refusal gave.
    expect(outcomes).to.deep.equal([[{ a: 1 }], [{ a: 1 }], "0A000", [{ a: 1, b: null }], [{ a: 1, b: null }]]);
  });
});
