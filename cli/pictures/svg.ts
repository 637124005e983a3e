/**
 * What the plots share: a font, colours, tick placement and number formatting, XML escaping, and rasterising an
 * SVG document to PNG with sharp (librsvg). Plots are SVG text so that they need no plotting dependency; this
 * is presentation only (nothing here feeds a numeric result), so plain JavaScript Math is fine.
 */
import sharp from 'sharp';

/** Font stack: DejaVu Sans ships with most Linux systems, the rest cover macOS and Windows. */
export const FONT = "'DejaVu Sans', 'Liberation Sans', Helvetica, Arial, sans-serif";

/** The palette of the plots: ink and grid greys, training data grey, samples and loss blues. */
export const COLORS = {
  ink: '#222222',
  muted: '#666666',
  grid: '#e6e6e6',
  frame: '#9a9a9a',
  data: '#9a9a9a',
  samples: '#1f6fb4',
  raw: '#9ec5e8',
  smoothed: '#1f6fb4',
} as const;

/** Escapes text for use inside SVG elements and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A coordinate with one decimal (enough for anti-aliased drawing, and keeps big plots small). */
export function px(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** The smallest step of 1, 2 or 5 times a power of ten that cuts `span` into at most `count` intervals. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  let power = 1;
  while (power > raw) power /= 10;
  while (power * 10 <= raw) power *= 10;
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/** Multiples of `step` inside [lo, hi] (with a little slack for rounding). */
export function ticksBetween(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let k = first; k * step <= hi + step * 1e-9; k++) out.push(k * step);
  return out;
}

/** A tick label: as few decimals as the step needs; thousands as 'k' on step axes. */
export function formatTick(value: number, step: number, thousands = false): string {
  if (Math.abs(value) < step * 1e-9) return '0';
  if (thousands && Math.abs(value) >= 1000 && step >= 1000 && value % 1000 === 0) return `${value / 1000}k`;
  let decimals = 0;
  while (decimals < 10 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-9) decimals++;
  return value.toFixed(decimals).replace('-', '\u2212');
}

/** Rasterises an SVG document to PNG bytes. */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  return sharp(Buffer.from(svg)).png({ compressionLevel: 9 }).toBuffer();
}

/** A `<text>` element. */
export function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${px(x)}" y="${px(y)}" ${attributes}>${escapeXml(content)}</text>`;
}

/** Checks an option that must be an integer of at least `min` (pixels, columns, counts). */
export function checkInteger(where: string, name: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${where}: ${name} must be ${min === 1 ? 'a positive integer' : `an integer >= ${min}`}, got ${value}`);
  }
}
