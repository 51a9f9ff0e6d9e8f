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

/**
 * A page of a list fetched with one row more than `limit`: the extra row only says whether there is more, and the
 * cursor points after the page's last row.
 */
export async function pageOf<Row, Item>(
  rows: readonly Row[],
  limit: number,
  cursorOf: (row: Row) => { createdAt: Date; id: string },
  toItems: (page: Row[]) => Item[] | Promise<Item[]>,
): Promise<{ object: "list"; data: Item[]; has_more: boolean; next_cursor: string | null }> {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const hasMore = rows.length > limit && last !== undefined;
  const next = hasMore ? cursorOf(last) : undefined;
  return { object: "list", data: await toItems(page), has_more: hasMore, next_cursor: next ? encodeCursor(next.createdAt, next.id) : null };
}
