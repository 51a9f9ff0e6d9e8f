import type { PaymentTally } from "../store/paymentTallies";

/**
 * The dashboard's "At a glance" figures, from the tallies of the merchant's payments (store/paymentTallies.ts). Pure.
 *
 * The funnel counts the payments created in a period by how far each got, as recorded:
 * - created: every payment;
 * - opened: it left `initiated` for `pending` or `confirming`, which the gateway records when the hosted checkout was
 *   shown to a person (the page's `checkout_opened` report) or money arrived at its deposit address. A payment that is
 *   still `initiated`, or expired or failed straight from `initiated`, was not opened;
 * - paid: it was paid (`paid`, and later refunds: `refunding`, `refunded`, `partially_refunded`);
 * - expired: its time ran out before full payment.
 *
 * Volume is what the paid payments were for: their amounts in USD, and what they were paid with, per token.
 */

const PAID: ReadonlySet<string> = new Set(["paid", "refunding", "refunded", "partially_refunded"]);

export const OVERVIEW_DAYS = 30;

export interface PeriodFigures {
  created: number;
  opened: number;
  paid: number;
  expired: number;
  /** The paid payments' amounts, in USD's 18-decimal units. */
  volumeUsd: bigint;
  /** What the paid payments were paid with: token address (lower case) → smallest units. */
  volumeByToken: Map<string, bigint>;
}

export interface DayFigures {
  day: string;
  paid: number;
  volumeUsd: bigint;
}

export interface OverviewFigures {
  /** Today's UTC day, YYYY-MM-DD. */
  today: string;
  todays: PeriodFigures;
  lastDays: PeriodFigures;
  /** Each of the last OVERVIEW_DAYS UTC days, today last, with a day without payments at zero. */
  days: DayFigures[];
}

const emptyPeriod = (): PeriodFigures => ({ created: 0, opened: 0, paid: 0, expired: 0, volumeUsd: 0n, volumeByToken: new Map() });

const DAY_MS = 86_400_000;
const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);

/** The window the figures cover at `now`: from the start of the UTC day OVERVIEW_DAYS − 1 days ago to tomorrow's. */
export function overviewWindow(now: Date): { from: Date; to: Date } {
  const startOfToday = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  return { from: new Date(startOfToday - (OVERVIEW_DAYS - 1) * DAY_MS), to: new Date(startOfToday + DAY_MS) };
}

function add(period: PeriodFigures, tally: PaymentTally): void {
  period.created += tally.count;
  if (tally.opened) period.opened += tally.count;
  if (tally.status === "expired") period.expired += tally.count;
  if (PAID.has(tally.status)) {
    period.paid += tally.count;
    period.volumeUsd += tally.amountUsd;
    if (tally.token) period.volumeByToken.set(tally.token, (period.volumeByToken.get(tally.token) ?? 0n) + tally.paidAmount);
  }
}

/** Today's and the last OVERVIEW_DAYS days' figures, and each day's, at `now`; tallies outside the window are left out. */
export function overviewFigures(tallies: readonly PaymentTally[], now: Date): OverviewFigures {
  const { from } = overviewWindow(now);
  const days = Array.from({ length: OVERVIEW_DAYS }, (_, i) => ({ day: dayOf(from.getTime() + i * DAY_MS), paid: 0, volumeUsd: 0n }));
  const byDay = new Map(days.map((day) => [day.day, day]));
  const today = days[days.length - 1].day;
  const todays = emptyPeriod();
  const lastDays = emptyPeriod();
  for (const tally of tallies) {
    const day = byDay.get(tally.day);
    if (!day) continue;
    add(lastDays, tally);
    if (tally.day === today) add(todays, tally);
    if (PAID.has(tally.status)) {
      day.paid += tally.count;
      day.volumeUsd += tally.amountUsd;
    }
  }
  return { today, todays, lastDays, days };
}
