import { invalidField } from "./apiErrors";

/** An opaque page cursor: where the previous page ended, as (created_at, id) — stable while rows are inserted. */
export function encodeCursor(createdAt: string | Date, id: string): string {
  return Buffer.from(`${new Date(createdAt).toISOString()}|${id}`).toString("base64url");
}

export function decodeCursor(cursor: string, field = "starting_after"): { createdAt: Date; id: string } {
  const [time, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const createdAt = new Date(time);
  if (!id || Number.isNaN(createdAt.getTime())) throw invalidField(field, "not a cursor this API returned (use next_cursor)");
  return { createdAt, id };
}
