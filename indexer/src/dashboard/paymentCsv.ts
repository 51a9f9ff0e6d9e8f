import type { PaymentResource } from "../payments/paymentResource";

/** The export's columns: the payment resource's fields a merchant reconciles by, amounts as the API writes them. */
const COLUMNS: ReadonlyArray<[string, (payment: PaymentResource) => string | null]> = [
  ["id", (p) => p.id],
  ["created_at", (p) => p.created_at],
  ["status", (p) => p.status],
  ["order_id", (p) => p.order_id],
  ["description", (p) => p.description],
  ["amount_usd", (p) => p.amount_usd],
  ["received_usd", (p) => p.received_usd],
  ["excess_usd", (p) => p.excess_usd],
  ["token", (p) => p.token?.symbol ?? null],
  ["paid_amount", (p) => p.paid_amount],
  ["fee", (p) => p.fee],
  ["refunded_amount", (p) => p.refunded_amount],
  ["deposit_address", (p) => p.deposit_address],
  ["updated_at", (p) => p.updated_at],
];

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Text a spreadsheet would run as a
 * formula (=, +, -, @, tab, CR first) is kept as text with a leading apostrophe: an order id or description can come
 * from a shopper.
 */
export function csvField(value: string | null): string {
  if (value === null) return "";
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const CSV_HEADER = `${COLUMNS.map(([name]) => name).join(",")}\r\n`;

/** Payments as CSV lines, each ended by CRLF. */
export function csvLines(payments: readonly PaymentResource[]): string {
  return payments.map((payment) => `${COLUMNS.map(([, field]) => csvField(field(payment))).join(",")}\r\n`).join("");
}
