import type pg from "pg";

/** The names of the statements marked by `preparedOnce`, by their text. */
const names = new Map<string, string>();
/** Each connection keeps what it prepared until it closes: a bound, should a marked text ever vary. */
const MAX_PREPARED = 32;

/**
 * Marks a statement's text to be prepared once on each PostgreSQL connection and run by name from then on: the
 * server parses and plans it once rather than on every call, and the driver sends only its parameters. For the
 * hottest statements (a payment's creation), whose text is one of a few. Returns the text; PGlite runs it as it is.
 */
export function preparedOnce(text: string): string {
  if (!names.has(text) && names.size < MAX_PREPARED) names.set(text, `openpay_${names.size + 1}`);
  return text;
}

/** PostgreSQL's refusal to run a prepared statement whose result columns a migration changed since it was prepared. */
const RESULT_TYPE_CHANGED = "0A000";
let renames = 0;

/**
 * Makes a pool's connections run the statements marked by `preparedOnce` by name (Kysely passes text and values, and
 * awaits the promise). Should a migration change a marked statement's result columns while this process runs,
 * PostgreSQL refuses the prepared one: that request fails, and the text gets a new name, which each connection
 * prepares afresh on its next use.
 */
export function prepareMarkedStatements(pool: pg.Pool): pg.Pool {
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    client.query = ((text: unknown, values?: unknown, ...rest: unknown[]) => {
      const name = typeof text === "string" && Array.isArray(values) ? names.get(text) : undefined;
      if (!name) return query(text, values, ...rest);
      return query({ name, text, values }, ...rest).catch((error: { code?: string }) => {
        if (error?.code === RESULT_TYPE_CHANGED && names.get(text as string) === name) names.set(text as string, `${name}_${++renames}`);
        throw error;
      });
    }) as typeof client.query;
  });
  return pool;
}
