import type { IndexerHealth } from "../ledger/merchantOverview";
import { OVERVIEW_DAYS, type OverviewFigures, type PeriodFigures } from "../ledger/overviewFigures";
import type { TokenInfo } from "../payments/paymentResource";
import { formatDecimal, formatUsd } from "../prices/decimalAmounts";
import { escapeHtml } from "./dashboardPage";
import { barChartSvg } from "./overviewCharts";

const isoOfSeconds = (seconds: bigint) => new Date(Number(seconds) * 1000).toISOString();

/** A period's figures as the dashboard's JSON writes them: counts, and amounts as exact decimal strings per token symbol. */
function periodJson(period: PeriodFigures, tokens: readonly TokenInfo[]) {
  return {
    created: period.created,
    opened: period.opened,
    paid: period.paid,
    expired: period.expired,
    volume_usd: formatUsd(period.volumeUsd),
    volume_by_token: Object.fromEntries(
      tokens.map((token) => [token.symbol, formatDecimal(period.volumeByToken.get(token.address.toLowerCase()) ?? 0n, token.decimals)]),
    ),
  };
}

/** The overview's charts: the last days' paid volume in USD, and the last days' funnel. */
function charts(figures: OverviewFigures) {
  const volume = barChartSvg(
    `Paid volume per day in USD, the last ${OVERVIEW_DAYS} days`,
    figures.days.map((day) => ({ label: day.day.slice(5), value: day.volumeUsd, text: `${formatUsd(day.volumeUsd)} USD` })),
    (i) => i % 7 === 1 || i === figures.days.length - 1,
  );
  const period = figures.lastDays;
  const conversion = barChartSvg(
    `Payments of the last ${OVERVIEW_DAYS} days by how far they got`,
    (["created", "opened", "paid", "expired"] as const).map((stage) => ({ label: stage, value: BigInt(period[stage]), text: String(period[stage]) })),
  );
  return { volume, conversion };
}

/** The indexer's health as JSON: its last block and time, the chain's head, how far behind it is. */
function healthJson(health: IndexerHealth) {
  return {
    checkpoint_block: health.checkpoint?.blockNumber ?? null,
    checkpoint_time: health.checkpoint ? isoOfSeconds(health.checkpoint.timestamp) : null,
    head_block: health.head?.toString() ?? null,
    lag_blocks:
      health.head !== undefined && health.checkpoint
        ? (health.head > BigInt(health.checkpoint.blockNumber) ? health.head - BigInt(health.checkpoint.blockNumber) : 0n).toString()
        : null,
    head_error: health.headError ?? null,
  };
}

/** The overview as GET /dashboard/api/overview answers it: figures, the indexer's health and the charts' markup. */
export function overviewJson(figures: OverviewFigures, health: IndexerHealth, tokens: readonly TokenInfo[]) {
  return {
    today: figures.today,
    periods: { today: periodJson(figures.todays, tokens), last_30_days: periodJson(figures.lastDays, tokens) },
    days: figures.days.map((day) => ({ day: day.day, paid: day.paid, volume_usd: formatUsd(day.volumeUsd) })),
    indexer: healthJson(health),
    charts: charts(figures),
  };
}

/** What the merchant is told of the indexer: whether the statuses shown are current. */
function healthText(health: ReturnType<typeof healthJson>): { state: string; text: string } {
  if (health.checkpoint_block === null) return { state: "unknown", text: "The indexer has not recorded a block yet: payment statuses are not current." };
  const at = `block ${health.checkpoint_block} (block time ${health.checkpoint_time})`;
  if (health.lag_blocks === null)
    return { state: "unknown", text: `The indexer is at ${at}. The chain's head could not be read (${health.head_error}): how far behind it is is unknown.` };
  const behind = health.lag_blocks === "0" ? "up to date with the chain" : `${health.lag_blocks} blocks behind the chain's head (block ${health.head_block})`;
  return { state: health.lag_blocks === "0" ? "current" : "behind", text: `The indexer is at ${at}: ${behind}.` };
}

/**
 * The "At a glance" section's content: the indexer's health, the periods' figures, and the charts with their tables.
 * The signed-in page is sent with the heading alone (dashboardPage.ts) and its script puts this in, from GET
 * /dashboard/api/overview.html: the page waits neither for the figures nor for the chain's head (seconds when the RPC is down).
 */
export function overviewContent(overview: ReturnType<typeof overviewJson>, tokens: readonly TokenInfo[]): string {
  const health = healthText(overview.indexer);
  const { today, last_30_days: last } = overview.periods;
  const row = (name: string, a: string | number, b: string | number) =>
    `<tr><th scope="row">${escapeHtml(name)}</th><td class="amount">${escapeHtml(String(a))}</td><td class="amount">${escapeHtml(String(b))}</td></tr>`;
  const rows = [
    row("Payments created", today.created, last.created),
    row("Opened", today.opened, last.opened),
    row("Paid", today.paid, last.paid),
    row("Expired", today.expired, last.expired),
    row("Paid volume (USD)", today.volume_usd, last.volume_usd),
    ...tokens.map((token) => row(`Paid in ${token.symbol}`, today.volume_by_token[token.symbol], last.volume_by_token[token.symbol])),
  ];
  const dayRows = overview.days
    .map((day) => `<tr><th scope="row">${day.day}</th><td class="amount">${day.paid}</td><td class="amount">${day.volume_usd}</td></tr>`)
    .join("");
  return `<h2 id="overview-heading">At a glance</h2>
      <p id="indexer-health" class="health" data-state="${health.state}">${escapeHtml(health.text)}</p>
      <div class="table-wrap">
        <table id="overview-figures">
          <caption>Your payments created today (${overview.today}, UTC) and in the last ${OVERVIEW_DAYS} days</caption>
          <thead><tr><th scope="col">Figure</th><th scope="col">Today</th><th scope="col">Last ${OVERVIEW_DAYS} days</th></tr></thead>
          <tbody>${rows.join("")}</tbody>
        </table>
      </div>
      <figure id="volume-chart">${overview.charts.volume}<figcaption>Paid volume per day (USD), the last ${OVERVIEW_DAYS} days</figcaption></figure>
      <details>
        <summary>Each day's figures</summary>
        <div class="table-wrap"><table id="overview-days"><caption>Paid payments per day, UTC</caption><thead><tr><th scope="col">Day</th><th scope="col">Paid</th><th scope="col">Volume (USD)</th></tr></thead><tbody>${dayRows}</tbody></table></div>
      </details>
      <figure id="conversion-chart">${overview.charts.conversion}<figcaption>Conversion, the last ${OVERVIEW_DAYS} days: created → opened → paid, and expired</figcaption></figure>`;
}
