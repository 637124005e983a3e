/**
 * The training loss against the step as a PNG: the raw per-step loss in a light colour, an exponential moving
 * average over it in a strong one (debiased as TensorBoard does, so the start is not pulled towards 0), on a
 * logarithmic y axis (diffusion losses fall over a decade or two). Long runs are drawn per pixel column: the
 * band between the lowest and highest raw loss, and the average's last value, so the SVG stays small.
 */
import { checkInteger, COLORS, FONT, formatTick, niceStep, px, svgToPng, text, ticksBetween } from './svg.ts';

/** One logged training step. */
export interface LossRow {
  step: number;
  loss: number;
}

/** Options of `lossCurve`. */
export interface LossCurveOptions {
  /** Weight of the exponential moving average, in [0, 1); 0 draws no average. Default 0.98. */
  smoothing?: number;
  /** Picture size in pixels. Defaults 720 x 400. */
  width?: number;
  height?: number;
  /** Default 'Training loss'. */
  title?: string;
}

/** The loss curve as PNG bytes. Rows with a loss that is not a positive finite number are left out. */
export async function lossCurve(rows: readonly LossRow[], options: LossCurveOptions = {}): Promise<Uint8Array> {
  return svgToPng(lossCurveSvg(rows, options));
}

/** The SVG document of the loss curve. */
export function lossCurveSvg(rows: readonly LossRow[], options: LossCurveOptions = {}): string {
  const { smoothing = 0.98, width = 720, height = 400, title = 'Training loss' } = options;
  if (!(smoothing >= 0 && smoothing < 1)) throw new Error(`lossCurve: smoothing must be in [0, 1), got ${smoothing}`);
  checkInteger('lossCurve', 'width', width);
  checkInteger('lossCurve', 'height', height);
  if (width < 200 || height < 150) throw new Error(`lossCurve: the picture must be at least 200 x 150 pixels, got ${width} x ${height}`);
  const points = rows.filter((r) => Number.isFinite(r.step) && Number.isFinite(r.loss) && r.loss > 0).sort((a, b) => a.step - b.step);
  if (points.length === 0) throw new Error(`lossCurve: no rows with a positive finite loss to plot (${rows.length} row${rows.length === 1 ? '' : 's'} given)`);

  const box = { left: 64, top: 40, width: width - 64 - 24, height: height - 40 - 48 };
  const first = points[0].step, last = points[points.length - 1].step;
  const steps = last > first ? { lo: first, hi: last } : { lo: first - 1, hi: first + 1 }; // one step: centred
  const logs = yDomain(points);
  const toX = (step: number) => box.left + ((step - steps.lo) / (steps.hi - steps.lo)) * box.width;
  const toY = (loss: number) => box.top + box.height - ((Math.log10(loss) - logs.lo) / (logs.hi - logs.lo)) * box.height;
  const smoothed = smoothing > 0 ? movingAverage(points, smoothing) : null;
  const columns = byColumn(points, smoothed, toX, box.width);
  const middle = box.top + box.height / 2;

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}" font-size="12">`
    + `<rect width="100%" height="100%" fill="white"/>`
    + xAxis(steps, box, toX) + yAxis(logs, box, toY)
    + `<clipPath id="plot"><rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}"/></clipPath>`
    + `<g clip-path="url(#plot)">${rawCurve(columns, points, toX, toY)}${smoothed ? smoothedCurve(columns, points, smoothed, toX, toY) : ''}</g>`
    + `<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="none" stroke="${COLORS.frame}"/>`
    + legend(box, smoothing)
    + text(width / 2, 24, title, `text-anchor="middle" font-weight="bold" font-size="14" fill="${COLORS.ink}"`)
    + text(box.left + box.width / 2, height - 8, 'step', `text-anchor="middle" fill="${COLORS.muted}"`)
    + text(16, middle, 'loss (log scale)', `text-anchor="middle" fill="${COLORS.muted}" transform="rotate(-90 16 ${px(middle)})"`)
    + `</svg>`;
}

type Box = { left: number; top: number; width: number; height: number };

/** log10 of the y range: the data's extent with a 5% margin each side, at least a factor 1.5 wide. */
function yDomain(points: readonly LossRow[]): { lo: number; hi: number } {
  let lo = Infinity, hi = -Infinity;
  for (const { loss } of points) { lo = Math.min(lo, loss); hi = Math.max(hi, loss); }
  let logLo = Math.log10(lo), logHi = Math.log10(hi);
  const minimum = Math.log10(1.5);
  if (logHi - logLo < minimum) { const mid = (logLo + logHi) / 2; logLo = mid - minimum / 2; logHi = mid + minimum / 2; }
  const margin = (logHi - logLo) * 0.05;
  return { lo: logLo - margin, hi: logHi + margin };
}

/** Debiased EMA: a_i = w a_{i-1} + (1 - w) x_i from a_{-1} = 0, divided by 1 - w^(i+1). */
function movingAverage(points: readonly LossRow[], weight: number): Float64Array {
  const out = new Float64Array(points.length);
  let average = 0, bias = 1;
  points.forEach(({ loss }, i) => {
    average = weight * average + (1 - weight) * loss;
    bias *= weight;
    out[i] = average / (1 - bias);
  });
  return out;
}

interface Column { x: number; min: number; max: number; smoothed: number }

/** Per pixel column of the plot: the raw extremes and the last smoothed value (null when there are few points). */
function byColumn(points: readonly LossRow[], smoothed: Float64Array | null, toX: (s: number) => number, plotWidth: number): Column[] | null {
  if (points.length <= plotWidth) return null;
  const columns: Column[] = [];
  points.forEach(({ step, loss }, i) => {
    const x = Math.floor(toX(step)) + 0.5;
    const last = columns[columns.length - 1];
    const value = smoothed ? smoothed[i] : loss;
    if (last && last.x === x) { last.min = Math.min(last.min, loss); last.max = Math.max(last.max, loss); last.smoothed = value; }
    else columns.push({ x, min: loss, max: loss, smoothed: value });
  });
  return columns;
}

function rawCurve(columns: Column[] | null, points: readonly LossRow[], toX: (s: number) => number, toY: (l: number) => number): string {
  if (columns === null) {
    const line = points.map(({ step, loss }) => `${px(toX(step))},${px(toY(loss))}`).join(' ');
    // A few points also get dots, so that a run of one or two logged steps still shows.
    const dots = points.length <= 40 ? points.map(({ step, loss }) => `<circle cx="${px(toX(step))}" cy="${px(toY(loss))}" r="2.5"/>`).join('') : '';
    return `<polyline points="${line}" fill="none" stroke="${COLORS.raw}" stroke-width="1.2" stroke-linejoin="round"/><g fill="#5b9bd5">${dots}</g>`;
  }
  // The band between each column's extremes: what a dense polyline would paint, in far fewer bytes.
  const upper = columns.map((c) => `${c.x},${px(toY(c.max) - 0.5)}`);
  const lower = columns.map((c) => `${c.x},${px(toY(c.min) + 0.5)}`).reverse();
  return `<polygon points="${[...upper, ...lower].join(' ')}" fill="${COLORS.raw}" stroke="${COLORS.raw}" stroke-width="1" stroke-linejoin="round"/>`;
}

function smoothedCurve(
  columns: Column[] | null, points: readonly LossRow[], smoothed: Float64Array, toX: (s: number) => number, toY: (l: number) => number,
): string {
  const line = columns
    ? columns.map((c) => `${c.x},${px(toY(c.smoothed))}`)
    : points.map(({ step }, i) => `${px(toX(step))},${px(toY(smoothed[i]))}`);
  return `<polyline points="${line.join(' ')}" fill="none" stroke="${COLORS.smoothed}" stroke-width="2" stroke-linejoin="round"/>`;
}

/** Step ticks along the bottom, with vertical grid lines. */
function xAxis(steps: { lo: number; hi: number }, box: Box, toX: (s: number) => number): string {
  const step = Math.max(1, niceStep(steps.hi - steps.lo, Math.max(2, Math.floor(box.width / 90))));
  const bottom = box.top + box.height;
  return ticksBetween(steps.lo, steps.hi, step).map((t) => {
    const x = px(toX(t));
    return `<line x1="${x}" y1="${box.top}" x2="${x}" y2="${bottom}" stroke="${COLORS.grid}"/>`
      + text(toX(t), bottom + 17, formatTick(t, step, true), `text-anchor="middle" fill="${COLORS.muted}"`);
  }).join('');
}

/**
 * Loss ticks: powers of ten when the range spans three decades or more, else 1-2-5 multiples, else every
 * integer multiple of the decade (for a narrow range); always at least two labelled ticks.
 */
function yAxis(logs: { lo: number; hi: number }, box: Box, toY: (l: number) => number): string {
  const values = lossTicks(logs);
  const end = box.left + box.width;
  return values.map((v) => {
    const y = px(toY(v));
    return `<line x1="${box.left}" y1="${y}" x2="${end}" y2="${y}" stroke="${COLORS.grid}"/>`
      + text(box.left - 6, toY(v) + 4, formatLoss(v), `text-anchor="end" fill="${COLORS.muted}"`);
  }).join('');
}

function lossTicks(logs: { lo: number; hi: number }): number[] {
  const inside = (multipliers: number[]) => {
    const out: number[] = [];
    for (let k = Math.floor(logs.lo) - 1; k <= Math.ceil(logs.hi); k++) {
      for (const m of multipliers) {
        const v = m * 10 ** k;
        if (Math.log10(v) >= logs.lo && Math.log10(v) <= logs.hi) out.push(v);
      }
    }
    return out;
  };
  for (const multipliers of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const ticks = inside(multipliers);
    if (ticks.length >= (multipliers.length === 1 ? 3 : 2)) return ticks;
  }
  // A very narrow range: ordinary linear ticks.
  const lo = 10 ** logs.lo, hi = 10 ** logs.hi;
  return ticksBetween(lo, hi, niceStep(hi - lo, 5));
}

/** A loss tick label: plain decimals between 0.001 and 10^4, else scientific (1e-5). */
function formatLoss(v: number): string {
  if (v >= 1e-3 && v < 1e4) return String(Number(v.toPrecision(6)));
  const exponent = Math.floor(Math.log10(v) + 1e-9);
  const mantissa = Number((v / 10 ** exponent).toPrecision(3));
  return `${mantissa === 1 ? '' : `${mantissa}\u00d7`}1e${exponent}`.replace('-', '\u2212');
}

/** The legend, top right: raw loss and its moving average. */
function legend(box: Box, smoothing: number): string {
  const rows: [string, string][] = [[COLORS.raw, 'loss per step']];
  if (smoothing > 0) rows.push([COLORS.smoothed, `moving average (${smoothing})`]);
  const width = Math.max(...rows.map(([, label]) => label.length)) * 7.2 + 40;
  const x = box.left + box.width - width - 8, y = box.top + 8;
  const parts = [`<rect x="${px(x)}" y="${y}" width="${px(width)}" height="${rows.length * 18 + 8}" rx="3" fill="white" fill-opacity="0.85" stroke="#d0d0d0"/>`];
  rows.forEach(([color, label], i) => {
    const cy = y + 4 + 18 * (i + 0.5);
    parts.push(`<line x1="${px(x + 8)}" y1="${px(cy)}" x2="${px(x + 28)}" y2="${px(cy)}" stroke="${color}" stroke-width="${i === 0 ? 3 : 2}"/>`);
    parts.push(text(x + 34, cy + 4, label, `fill="${COLORS.ink}"`));
  });
  return parts.join('');
}
