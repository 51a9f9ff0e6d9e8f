import { escapeHtml } from "./dashboardPage";

/** One bar: its label under it, its value (any integer unit), and the figure as a person reads it. */
export interface Bar {
  label: string;
  value: bigint;
  text: string;
}

const WIDTH = 600;
const PLOT_HEIGHT = 140;
const LABEL_HEIGHT = 24;

/**
 * A bar chart as SVG markup, drawn on the server: the page needs no script or library for it, and the CSP's
 * `style-src 'self'` holds (classes and presentation attributes only, no style attribute). Bars are scaled in integer
 * arithmetic, the tallest PLOT_HEIGHT high; each carries its figure as a tooltip, and the chart's aria-label reads
 * every figure out. `showLabel` says which labels are written under their bar (all by default).
 */
export function barChartSvg(title: string, bars: readonly Bar[], showLabel: (index: number) => boolean = () => true): string {
  const max = bars.reduce((most, bar) => (bar.value > most ? bar.value : most), 0n);
  const slot = Math.floor(WIDTH / Math.max(bars.length, 1));
  const barWidth = Math.max(slot - Math.max(2, Math.floor(slot / 5)), 1);
  const label = `${title}: ${bars.map((bar) => `${bar.label} ${bar.text}`).join("; ")}`;
  const parts = bars.map((bar, i) => {
    const height = max > 0n && bar.value > 0n ? Number((bar.value * BigInt(PLOT_HEIGHT)) / max) : 0;
    const x = i * slot + Math.floor((slot - barWidth) / 2);
    const centre = i * slot + Math.floor(slot / 2);
    const rect = `<rect class="chart-bar" x="${x}" y="${PLOT_HEIGHT - height}" width="${barWidth}" height="${height}"><title>${escapeHtml(`${bar.label}: ${bar.text}`)}</title></rect>`;
    const text = showLabel(i) ? `<text class="chart-label" x="${centre}" y="${PLOT_HEIGHT + 17}" text-anchor="middle">${escapeHtml(bar.label)}</text>` : "";
    return rect + text;
  });
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${PLOT_HEIGHT + LABEL_HEIGHT}" role="img" aria-label="${escapeHtml(label)}"><line class="chart-axis" x1="0" y1="${PLOT_HEIGHT}" x2="${WIDTH}" y2="${PLOT_HEIGHT}"/>${parts.join("")}</svg>`;
}
