/** Markdown tables for the benchmarks' printouts and docs: a header, an alignment row, one line per row. */

export interface Column<Row> {
  header: string;
  /** Numbers align right. */
  align?: "left" | "right";
  cell: (row: Row) => string;
}

export function markdownTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string[] {
  return [
    `| ${columns.map((column) => column.header).join(" | ")} |`,
    `|${columns.map((column) => (column.align === "right" ? "---:" : "---")).join("|")}|`,
    ...rows.map((row) => `| ${columns.map((column) => column.cell(row)).join(" | ")} |`),
  ];
}

/** A figure with `digits` decimals, or "–" when there is none (no responses, a division by zero). */
export const fixed = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : "–");
