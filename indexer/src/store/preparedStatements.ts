import type pg from "pg";

/** How a statement's text names it for preparing: `/* prepared NAME *\/ ` before the statement. */
const MARK = "/* prepared ";
const MARK_END = " */ ";

/**
 * Marks a statement to be prepared once on each PostgreSQL connection under `name` and run by name from then on: the
 * server parses and plans it once rather than on every call, and the driver sends only its parameters. For the
 * hottest statements (a payment's creation, its GET), each always one text per name. The name rides in the text, as
 * a comment: Kysely hands the driver only a text and its values (never pg's `{ name, text, values }`), and PGlite,
 * which has no named statements, runs the text as it is.
 */
export function preparedOnce(name: string, text: string): string {
  return `${MARK}${name}${MARK_END}${text}`;
}

/** PostgreSQL's refusal to run a prepared statement whose result columns a migration changed since it was prepared. */
const RESULT_TYPE_CHANGED = "0A000";

/**
 * Makes a pool's connections run the statements marked by `preparedOnce` as pg's named query config. Should a
 * migration change a marked statement's result columns while this process runs, PostgreSQL refuses the prepared one
 * for good: that request fails, and the pool's marked statements take new names, which each connection prepares
 * afresh on its next use (one generation for the pool, so that the other connections do not each fail a request).
 */
export function prepareMarkedStatements(pool: pg.Pool): pg.Pool {
  let generation = 0;
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    client.query = ((text: unknown, values?: unknown, ...rest: unknown[]) => {
      if (typeof text !== "string" || !text.startsWith(MARK)) return query(text, values, ...rest);
      const prepared = generation;
      const name = `${text.slice(MARK.length, text.indexOf(MARK_END))}_${prepared}`;
      return query({ name, text, values }, ...rest).catch((error: { code?: string }) => {
        if (error?.code === RESULT_TYPE_CHANGED && generation === prepared) generation++;
        throw error;
      });
    }) as typeof client.query;
  });
  return pool;
}
