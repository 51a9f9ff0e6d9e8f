import { invalidField } from "./apiErrors";

/** An opaque page cursor: where the previous page ended, as (created_at, id) — stable while rows are inserted. */
export function encodeCursor(createdAt: string | Date, id: string): string {
  return Buffer.from(`${new Date(createdAt).toISOString()}|${id}`).toString("base64url");
}

/** Cursors carry times of rows this API wrote: 1970 to 9999, which the database can compare (it cannot year -100000). */
const LATEST_CURSOR_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function decodeCursor(cursor: string, field = "starting_after"): { createdAt: Date; id: string } {
  const [time, id, ...rest] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const createdAt = new Date(time);
  const at = createdAt.getTime();
  // Ids are visible ASCII: anything else (a NUL byte above all, which PostgreSQL refuses in text) was not made here.
  const valid = rest.length === 0 && id !== undefined && /^[\x21-\x7e]{1,200}$/.test(id) && at >= 0 && at <= LATEST_CURSOR_TIME;
  if (!valid) throw invalidField(field, "not a cursor this API returned (use next_cursor)");
  return { createdAt, id };
}
