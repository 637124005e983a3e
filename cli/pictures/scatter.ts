/**
 * A scatter plot of 2-D samples (the toy datasets) as a PNG: the training data in light grey underneath, the
 * samples on top, equal scales on both axes, a light grid at the ticks, a thin frame and a legend. Drawn as SVG
 * (one small circle per point, translucent so that density shows) and rasterised by sharp.
 */
import sharp from 'sharp';
import { checkInteger, COLORS, FONT, formatTick, niceStep, px, svgToPng, text, ticksBetween } from './svg.ts';

/** Options of `scatterPlot` (and of `scatterFrames`). */
export interface ScatterOptions {
  /** Training data [M, 2], drawn in light grey under the samples. */
  background?: Float32Array;
  /** Width and height of the picture in pixels. Default 512. */
  size?: number;
  /** The axis range [min, max], the same on both axes. Default: symmetric, from the data (see `symmetricRange`). */
  range?: readonly [number, number];
  /** A line of text above the plot. */
  title?: string;
  /**
   * Draw the samples as opaque dots without anti-aliasing: what animations use, as smooth translucent dots
   * multiply the colours of every frame and triple a GIF's size. Default false.
   */
  crisp?: boolean;
  /** Draw the legend (top left). Default true. */
  legend?: boolean;
}

/** The scatter plot of `points` [N, 2] as PNG bytes. */
export async function scatterPlot(points: Float32Array, options: ScatterOptions = {}): Promise<Uint8Array> {
  return svgToPng(scatterSvg(points, options));
}

/** The SVG document of the scatter plot. */
export function scatterSvg(points: Float32Array, options: ScatterOptions = {}): string {
  const plot = new ScatterCanvas(points, options);
  return plot.document(plot.base() + plot.layer(points, options.title));
}

/**
 * Scatter plots of several sets of points (the frames of an animation) with one axis range, as PNG bytes: the
 * parts every frame shares (grid, axes, training data) are rasterised once and each frame's points drawn over.
 * `titles` gives each frame its title. The range defaults to one that fits every frame.
 */
export async function scatterFrames(
  frames: readonly Float32Array[], options: ScatterOptions & { titles?: readonly (string | undefined)[] } = {},
): Promise<Uint8Array[]> {
  const background = options.background ? [options.background] : [];
  const range = options.range ?? symmetricRange(...frames, ...background);
  const plot = new ScatterCanvas(frames[0] ?? new Float32Array(0), { ...options, range });
  const base = Buffer.from(await svgToPng(plot.document(plot.base())));
  return Promise.all(frames.map(async (frame, i) => {
    checkPoints(`frame ${i}`, frame);
    const layer = Buffer.from(plot.document(plot.layer(frame, options.titles?.[i]), false));
    return sharp(base).composite([{ input: layer, left: 0, top: 0 }]).removeAlpha().png({ compressionLevel: 9 }).toBuffer();
  }));
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

/** The geometry of one scatter plot, and its drawing in two layers: `base` (shared) and `layer` (the points). */
class ScatterCanvas {
  private readonly size: number;
  private readonly u: number;
  private readonly font: number;
  private readonly box: Box;
  private readonly range: readonly [number, number];

  constructor(points: Float32Array, private readonly options: ScatterOptions) {
    checkPoints('points', points);
    if (options.background) checkPoints('background', options.background);
    this.size = options.size ?? 512;
    checkInteger('scatterPlot', 'size', this.size);
    if (this.size < 128) throw new Error(`scatterPlot: size must be at least 128 pixels, got ${this.size}`);
    const range = options.range ?? symmetricRange(points, ...(options.background ? [options.background] : []));
    if (!(range.length === 2 && Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[0] < range[1])) {
      throw new Error(`scatterPlot: range must be [min, max] with min < max, got [${range.join(', ')}]`);
    }
    this.range = range;
    this.u = this.size / 512; // everything scales with the picture
    const u = this.u;
    this.font = Math.max(9, Math.round(12 * u));
    // Margins scale with the picture but never get too small for the tick labels and the title.
    const left = Math.round(Math.max(52 * u, 3.4 * this.font)), top = Math.round(Math.max(38 * u, 2.6 * this.font));
    const right = Math.round(Math.max(18 * u, this.font)), bottom = Math.round(Math.max(30 * u, 2.2 * this.font));
    this.box = { left, top, side: Math.min(this.size - left - right, this.size - top - bottom) };
  }

  document(content: string, opaque = true): string {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${this.size}" height="${this.size}" font-family="${FONT}" font-size="${this.font}">`
      + (opaque ? '<rect width="100%" height="100%" fill="white"/>' : '') + content + '</svg>';
  }

  /** White, the grid and tick labels, the training data, the frame. */
  base(): string {
    const { box, options } = this;
    const data = options.background ? this.dots(options.background, COLORS.data, 0.6).svg : '';
    return axes(this.range, box, this.toX, this.toY, this.font)
      + `<g clip-path="url(#plot)">${data}</g>`
      + `<rect x="${box.left}" y="${box.top}" width="${box.side}" height="${box.side}" fill="none" stroke="${COLORS.frame}" stroke-width="1"/>`
      + this.clipPath();
  }

  /** The points, the legend and the title. */
  layer(points: Float32Array, title: string | undefined): string {
    const { box, font, size } = this;
    const samples = this.dots(points, COLORS.samples, 0.75, this.options.crisp ?? false);
    const dataCount = this.options.background ? this.options.background.length / 2 : null;
    return this.clipPath()
      + `<g clip-path="url(#plot)">${samples.svg}</g>`
      + (this.options.legend === false ? '' : legend(box, this.u, font, dataCount, samples.count, samples.outside))
      + (title ? text(size / 2, box.top / 2 + font / 2, title, `text-anchor="middle" font-weight="bold" fill="${COLORS.ink}" font-size="${font + 1}"`) : '');
  }

  private readonly toX = (v: number) => this.box.left + ((v - this.range[0]) / (this.range[1] - this.range[0])) * this.box.side;
  private readonly toY = (v: number) => this.box.top + this.box.side - ((v - this.range[0]) / (this.range[1] - this.range[0])) * this.box.side;

  private clipPath(): string {
    const { box } = this;
    return `<clipPath id="plot"><rect x="${box.left}" y="${box.top}" width="${box.side}" height="${box.side}"/></clipPath>`;
  }

  private dots(values: Float32Array, color: string, opacity: number, crisp = false) {
    return dots(values, this.toX, this.toY, this.box, color, this.u, opacity, crisp);
  }
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
function dots(
  values: Float32Array, toX: (v: number) => number, toY: (v: number) => number, box: Box, color: string, u: number, baseOpacity: number, crisp: boolean,
) {
  const n = values.length / 2;
  const radius = Math.max(1, u * Math.max(1.4, Math.min(3.2, 3.2 / Math.sqrt(Math.max(1, n / 400)))));
  const opacity = Math.max(0.35, Math.min(baseOpacity, baseOpacity * Math.sqrt(2000 / Math.max(1, n))));
  const r = px(radius);
  const side = Math.max(2, Math.round(2 * radius)); // crisp dots are whole-pixel squares
  const circles: string[] = [];
  let outside = 0;
  for (let i = 0; i < n; i++) {
    const x = toX(values[2 * i]), y = toY(values[2 * i + 1]);
    const inside = x >= box.left - radius && x <= box.left + box.side + radius && y >= box.top - radius && y <= box.top + box.side + radius;
    if (!inside) outside++;
    else if (crisp) circles.push(`<rect x="${Math.round(x - side / 2)}" y="${Math.round(y - side / 2)}" width="${side}" height="${side}"/>`);
    else circles.push(`<circle cx="${px(x)}" cy="${px(y)}" r="${r}"/>`);
  }
  const style = crisp ? 'shape-rendering="crispEdges"' : `fill-opacity="${opacity.toFixed(2)}"`;
  return { svg: `<g fill="${color}" ${style}>${circles.join('')}</g>`, count: n, outside };
}

/** Grid lines and tick labels at round values, and the two axes through 0 when they are in view. */
function axes(range: readonly [number, number], box: Box, toX: (v: number) => number, toY: (v: number) => number, font: number): string {
  // About one tick per 48 pixels, but at least three.
  let count = Math.max(3, Math.min(8, Math.floor(box.side / 48)));
  let step = niceStep(range[1] - range[0], count);
  while (ticksBetween(range[0], range[1], step).length < 3 && count < 20) step = niceStep(range[1] - range[0], ++count);
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
  const height = rows.length * line + 8 * u;
  const parts = [`<rect x="${px(x)}" y="${px(y)}" width="${px(width)}" height="${px(height)}" rx="${px(3 * u)}" fill="white" fill-opacity="0.85" stroke="#d0d0d0"/>`];
  rows.forEach(([color, label], i) => {
    const cy = y + 4 * u + line * (i + 0.5);
    parts.push(`<circle cx="${px(x + 12 * u)}" cy="${px(cy)}" r="${px(4 * u)}" fill="${color}"/>`);
    parts.push(text(x + 22 * u, cy + font * 0.35, label, `fill="${COLORS.ink}"`));
  });
  return parts.join('');
}
