import { esc } from './portal-pages.js';

/**
 * Small charts drawn on the server as SVG (decision 0031): bars and lines, no library, no script.
 * Each is an image with a `<title>` and a `<desc>` (role="img", aria-labelledby), and the page puts
 * the same numbers in a table beside it. Pure functions of their input.
 */

export interface ChartInput {
  /** Unique in the page: the ids of the title and description derive from it. */
  id: string;
  title: string;
  desc: string;
  /** One per bar or point, left to right. */
  labels: readonly string[];
}
export interface Series {
  name: string;
  values: readonly (number | null)[];
}

const W = 640;
const H = 220;
const PAD = { left: 48, right: 8, top: 10, bottom: 40 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;
/** Colours that stay apart for common colour blindness (Okabe–Ito). */
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7'];

/** A round top for the axis (1, 2, 5 × 10ⁿ) at or above the largest value; 1 when all are zero. */
export function niceMax(values: readonly (number | null)[]): number {
  const max = Math.max(0, ...values.filter((v): v is number => v !== null));
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].find((m) => m * power >= max) as number) * power;
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

function frame(c: ChartInput, top: number, inner: string): string {
  const n = c.labels.length;
  const every = Math.max(1, Math.ceil(n / 12));
  const ticks = c.labels
    .map((l, i) =>
      i % every === 0 ? `<text x="${fmt(PAD.left + ((i + 0.5) * PLOT_W) / n)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${esc(l)}</text>` : '',
    )
    .join('');
  const axis = `<line x1="${PAD.left}" y1="${PAD.top + PLOT_H}" x2="${W - PAD.right}" y2="${PAD.top + PLOT_H}" stroke="#555"/>
<text x="${PAD.left - 4}" y="${PAD.top + 4}" text-anchor="end">${fmt(top)}</text><text x="${PAD.left - 4}" y="${PAD.top + PLOT_H}" text-anchor="end">0</text>`;
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="${c.id}-title ${c.id}-desc" font-size="11" font-family="sans-serif">
<title id="${c.id}-title">${esc(c.title)}</title><desc id="${c.id}-desc">${esc(c.desc)}</desc>
${axis}${ticks}
${inner}
</svg>`;
}

const y = (v: number, top: number) => PAD.top + PLOT_H - (v / top) * PLOT_H;

/** One bar per label. */
export function barChart(c: ChartInput, values: readonly number[]): string {
  const top = niceMax(values);
  const slot = PLOT_W / Math.max(1, values.length);
  const bars = values.map((v, i) => {
    const [x, top_] = [PAD.left + i * slot + slot * 0.1, y(v, top)];
    const box = `x="${fmt(x)}" y="${fmt(top_)}" width="${fmt(slot * 0.8)}" height="${fmt(PAD.top + PLOT_H - top_)}"`;
    return `<rect ${box} fill="${COLOURS[0]}"><title>${esc(c.labels[i] ?? '')}: ${v}</title></rect>`;
  });
  return frame(c, top, bars.join('\n'));
}

/** One line per series; a missing value (null) breaks the line. A legend names the series. */
export function lineChart(c: ChartInput, series: readonly Series[]): string {
  const top = niceMax(series.flatMap((s) => s.values));
  const slot = PLOT_W / Math.max(1, c.labels.length);
  const lines = series.map((s, k) => {
    const points = s.values.map((v, i) => (v === null ? null : `${fmt(PAD.left + (i + 0.5) * slot)},${fmt(y(v, top))}`));
    const runs = points
      .map((p) => p ?? '|')
      .join(' ')
      .split('|')
      .filter((r) => r.trim());
    const colour = COLOURS[k % COLOURS.length];
    const dots = points.map((p) => (p ? `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${colour}"/>` : '')).join('');
    const legend = `<text x="${PAD.left + 8 + k * 110}" y="${H - 6}" fill="${colour}">— ${esc(s.name)}</text>`;
    return `${runs.map((r) => `<polyline points="${r.trim()}" fill="none" stroke="${colour}" stroke-width="2"/>`).join('')}${dots}${legend}`;
  });
  return frame(c, top, lines.join('\n'));
}
