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

/** Makes a pool's connections run the statements marked by `preparedOnce` by name (Kysely passes text and values). */
export function prepareMarkedStatements(pool: pg.Pool): pg.Pool {
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((text: unknown, values?: unknown, ...rest: unknown[]) => {
      const name = typeof text === "string" && Array.isArray(values) ? names.get(text) : undefined;
      return name ? query({ name, text, values }, ...rest) : query(text, values, ...rest);
    }) as typeof client.query;
  });
  return pool;
}
