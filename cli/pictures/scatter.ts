/**
 * A scatter plot of 2-D samples (the toy datasets) as a PNG: the training data in light grey underneath, the
 * samples on top, equal scales on both axes, a light grid at the ticks, a thin frame and a legend. Drawn as SVG
 * (one small circle per point, translucent so that density shows) and rasterised by sharp.
 */
import { checkInteger, COLORS, FONT, formatTick, niceStep, px, svgToPng, text, ticksBetween } from './svg.ts';

export interface ScatterOptions {
  /** Training data [M, 2], drawn in light grey under the samples. */
  background?: Float32Array;
  /** Width and height of the picture in pixels. Default 512. */
  size?: number;
  /** The axis range [min, max], the same on both axes. Default: symmetric, from the data (see `symmetricRange`). */
  range?: readonly [number, number];
  /** A line of text above the plot. */
  title?: string;
}

/** The scatter plot of `points` [N, 2] as PNG bytes. */
export async function scatterPlot(points: Float32Array, options: ScatterOptions = {}): Promise<Uint8Array> {
  return svgToPng(scatterSvg(points, options));
}

/**
 * The default axis range: [-r, r] with r a round number just above nearly all |coordinates| (the 99.9th
 * percentile, so that a few diverged points do not shrink everything else to a dot), at least 1e-3.
 */
export function symmetricRange(...sets: Float32Array[]): [number, number] {
  const magnitudes = new Float32Array(sets.reduce((n, s) => n + s.length, 0));
  let count = 0;
  for (const set of sets) for (const v of set) if (Number.isFinite(v)) magnitudes[count++] = Math.abs(v);
  if (count === 0) return [-1, 1];
  const sorted = magnitudes.subarray(0, count).sort();
  const extent = Math.max(1e-3, sorted[Math.min(count - 1, Math.floor(count * 0.999))] * 1.06);
  const step = niceStep(extent, 4) / 2;
  const r = Math.ceil(extent / step - 1e-9) * step;
  return [-r, r];
}

/** The SVG document of the scatter plot. */
export function scatterSvg(points: Float32Array, options: ScatterOptions = {}): string {
  checkPoints('points', points);
  if (options.background) checkPoints('background', options.background);
  const size = options.size ?? 512;
  checkInteger('scatterPlot', 'size', size);
  if (size < 64) throw new Error(`scatterPlot: size must be at least 64 pixels, got ${size}`);
  const range = options.range ?? symmetricRange(points, ...(options.background ? [options.background] : []));
  if (!(range.length === 2 && Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[0] < range[1])) {
    throw new Error(`scatterPlot: range must be [min, max] with min < max, got [${range.join(', ')}]`);
  }
  const u = size / 512; // everything scales with the picture
  const box = { left: Math.round(52 * u), top: Math.round(38 * u), side: size - Math.round(52 * u) - Math.round(18 * u) };
  box.side = Math.min(box.side, size - box.top - Math.round(30 * u));
  const toX = (v: number) => box.left + ((v - range[0]) / (range[1] - range[0])) * box.side;
  const toY = (v: number) => box.top + box.side - ((v - range[0]) / (range[1] - range[0])) * box.side;

  const data = options.background ? dots(options.background, toX, toY, box, COLORS.data, u, 0.6) : null;
  const samples = dots(points, toX, toY, box, COLORS.samples, u, 0.75);
  const font = Math.max(9, Math.round(12 * u));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" font-family="${FONT}" font-size="${font}">`
    + `<rect width="100%" height="100%" fill="white"/>`
    + axes(range, box, toX, toY, font)
    + `<clipPath id="plot"><rect x="${box.left}" y="${box.top}" width="${box.side}" height="${box.side}"/></clipPath>`
    + `<g clip-path="url(#plot)">${data?.svg ?? ''}${samples.svg}</g>`
    + `<rect x="${box.left}" y="${box.top}" width="${box.side}" height="${box.side}" fill="none" stroke="${COLORS.frame}" stroke-width="1"/>`
    + legend(box, u, font, data ? data.count : null, samples.count, samples.outside)
    + (options.title ? text(size / 2, box.top / 2 + font / 2, options.title, `text-anchor="middle" font-weight="bold" fill="${COLORS.ink}" font-size="${font + 1}"`) : '')
    + `</svg>`;
}

type Box = { left: number; top: number; side: number };

function checkPoints(name: string, values: Float32Array): void {
  if (!(values instanceof Float32Array) || values.length % 2 !== 0) {
    throw new Error(`scatterPlot: ${name} must be a Float32Array of [N, 2] coordinates, got ${values?.length} values`);
  }
}

/**
 * One circle per point inside the box (with a point's radius of slack). The radius and opacity shrink as the
 * count grows, so 100 points read as dots and 10,000 as a density.
 */
function dots(values: Float32Array, toX: (v: number) => number, toY: (v: number) => number, box: Box, color: string, u: number, baseOpacity: number) {
  const n = values.length / 2;
  const radius = u * Math.max(1.4, Math.min(3.2, 3.2 / Math.sqrt(Math.max(1, n / 400))));
  const opacity = Math.max(0.35, Math.min(baseOpacity, baseOpacity * Math.sqrt(2000 / Math.max(1, n))));
  const r = px(radius);
  const circles: string[] = [];
  let outside = 0;
  for (let i = 0; i < n; i++) {
    const x = toX(values[2 * i]), y = toY(values[2 * i + 1]);
    const inside = x >= box.left - radius && x <= box.left + box.side + radius && y >= box.top - radius && y <= box.top + box.side + radius;
    if (inside) circles.push(`<circle cx="${px(x)}" cy="${px(y)}" r="${r}"/>`);
    else outside++;
  }
  return { svg: `<g fill="${color}" fill-opacity="${opacity.toFixed(2)}">${circles.join('')}</g>`, count: n, outside };
}

/** Grid lines and tick labels at round values, and the two axes through 0 when they are in view. */
function axes(range: readonly [number, number], box: Box, toX: (v: number) => number, toY: (v: number) => number, font: number): string {
  const step = niceStep(range[1] - range[0], 6);
  const ticks = ticksBetween(range[0], range[1], step);
  const end = box.left + box.side, bottom = box.top + box.side;
  const parts: string[] = [];
  for (const t of ticks) {
    const x = px(toX(t)), y = px(toY(t));
    const zero = Math.abs(t) < step * 1e-9;
    const stroke = zero ? '#c4c4c4' : COLORS.grid;
    parts.push(`<line x1="${x}" y1="${box.top}" x2="${x}" y2="${bottom}" stroke="${stroke}"/>`);
    parts.push(`<line x1="${box.left}" y1="${y}" x2="${end}" y2="${y}" stroke="${stroke}"/>`);
    parts.push(text(toX(t), bottom + font + 4, formatTick(t, step), `text-anchor="middle" fill="${COLORS.muted}"`));
    parts.push(text(box.left - 6, toY(t) + font * 0.35, formatTick(t, step), `text-anchor="end" fill="${COLORS.muted}"`));
  }
  return parts.join('');
}

/** The legend box in the top-left corner: 'data' (when drawn) and 'samples', with counts. */
function legend(box: Box, u: number, font: number, dataCount: number | null, sampleCount: number, outside: number): string {
  const rows: [string, string][] = [];
  if (dataCount !== null) rows.push([COLORS.data, `data (${dataCount.toLocaleString('en-US')})`]);
  rows.push([COLORS.samples, `samples (${sampleCount.toLocaleString('en-US')}${outside > 0 ? `, ${outside.toLocaleString('en-US')} outside` : ''})`]);
  const line = font + 6 * u;
  const width = Math.max(...rows.map(([, label]) => label.length)) * font * 0.6 + 30 * u;
  const x = box.left + 8 * u, y = box.top + 8 * u;
  const parts = [`<rect x="${px(x)}" y="${px(y)}" width="${px(width)}" height="${px(rows.length * line + 8 * u)}" rx="${px(3 * u)}" fill="white" fill-opacity="0.85" stroke="#d0d0d0"/>`];
  rows.forEach(([color, label], i) => {
    const cy = y + 4 * u + line * (i + 0.5);
    parts.push(`<circle cx="${px(x + 12 * u)}" cy="${px(cy)}" r="${px(4 * u)}" fill="${color}"/>`);
    parts.push(text(x + 22 * u, cy + font * 0.35, label, `fill="${COLORS.ink}"`));
  });
  return parts.join('');
}
