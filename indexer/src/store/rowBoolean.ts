/**
 * The store's one reading of a boolean it selected. pg and PGlite both parse PostgreSQL's booleans to `true` and
 * `false`; a value that reaches a row as text instead (PostgreSQL's own `t`, or `true`) reads the same, and null as
 * false, so that no reader takes the text "false" for true.
 */
export function rowBoolean(value: unknown): boolean {
  return value === true || value === "true" || value === "t";
}
