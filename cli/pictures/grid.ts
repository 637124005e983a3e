/**
 * A grid of images (samples, dataset examples, x_t at one step) as one PNG: cells in rows of `columns`, each
 * image upscaled `scale` times with nearest neighbour (so a 28x28 digit stays crisp), `padding` pixels of the
 * background colour around every cell, an optional caption under each cell and an optional title on top.
 *
 * Values are in the library's image range [-1, 1] and map to bytes as round((x + 1) / 2 * 255), clamped to
 * [0, 255] (NaN becomes 0): one float operation per value, then integers, so the same tensor always gives the
 * same pixels.
 */
import sharp from 'sharp';
import { checkInteger, COLORS, FONT, px, escapeXml } from './svg.ts';

/** Options of `imageGrid`. */
export interface GridOptions {
  /** Cells per row. Default: ceil(sqrt(N)), a square-ish grid. */
  columns?: number;
  /** Integer upscaling factor (nearest neighbour). Default 2. */
  scale?: number;
  /** Pixels of background between cells and around the edge. Default 2. */
  padding?: number;
  /** Background (padding) grey level, 0-255. Default 255 (white). */
  background?: number;
  /** A caption per cell (e.g. the class name), drawn under the image; '' leaves a cell uncaptioned. */
  labels?: readonly string[];
  /** A line of text above the grid (e.g. 't = 999'). */
  title?: string;
}

/** The shape of an image batch: [N, C, H, W] with C = 1 (grey) or 3 (RGB). */
export type ImageShape = readonly [number, number, number, number];

const TITLE_FONT = 13;
const TITLE_BAND = 22;

/** The grid as PNG bytes (grey for C = 1, RGB for C = 3). */
export async function imageGrid(images: Float32Array, shape: readonly number[], options: GridOptions = {}): Promise<Uint8Array> {
  const [N, C, H, W] = checkImageShape('imageGrid', images, shape);
  const o = gridOptions(N, options);
  if (o.labels && o.labels.length !== N) throw new Error(`imageGrid: ${o.labels.length} labels for ${N} images`);
  const layout = gridLayout([N, C, H, W], o);
  const pixels = new Uint8Array(layout.width * layout.height * C).fill(o.background);
  for (let n = 0; n < N; n++) {
    const { left, top } = cellOrigin(layout, n);
    drawImage(pixels, layout.width, left, top, images.subarray(n * C * H * W, (n + 1) * C * H * W), C, H, W, o.scale);
  }
  let image = sharp(pixels, { raw: { width: layout.width, height: layout.height, channels: C as 1 | 3 } });
  const overlay = gridOverlay(layout, o);
  // Compositing text adds an alpha channel, and sharp writes raw grey as RGB unless told: keep C channels.
  if (overlay) image = image.composite([{ input: Buffer.from(overlay), left: 0, top: 0 }]).removeAlpha();
  if (C === 1) image = image.toColourspace('b-w');
  return image.png({ compressionLevel: 9 }).toBuffer();
}

/** Checks [N, C, H, W] (C = 1 or 3, N >= 1) against the data's length; returns the shape. */
export function checkImageShape(where: string, data: Float32Array, shape: readonly number[]): ImageShape {
  const valid = shape.length === 4 && shape.every((d) => Number.isInteger(d) && d > 0) && (shape[1] === 1 || shape[1] === 3);
  if (!valid) throw new Error(`${where}: shape must be [N, C, H, W] with C = 1 (grey) or 3 (RGB), got [${shape.join(', ')}]`);
  const count = shape[0] * shape[1] * shape[2] * shape[3];
  if (data.length !== count) throw new Error(`${where}: ${data.length} values do not fill shape [${shape.join(', ')}] (${count} values)`);
  return shape as unknown as ImageShape;
}

/** A value of the image range [-1, 1] as a byte: round((x + 1) / 2 * 255), clamped; NaN gives 0. */
export function toByte(x: number): number {
  const v = Math.round((x + 1) * 127.5);
  return v >= 0 ? (v <= 255 ? v : 255) : 0;
}

type ResolvedOptions = Required<Omit<GridOptions, 'labels' | 'title'>> & Pick<GridOptions, 'labels' | 'title'>;

function gridOptions(N: number, options: GridOptions): ResolvedOptions {
  const o = {
    ...options,
    columns: options.columns ?? Math.ceil(Math.sqrt(N)), scale: options.scale ?? 2,
    padding: options.padding ?? 2, background: options.background ?? 255,
  };
  checkInteger('imageGrid', 'columns', o.columns);
  checkInteger('imageGrid', 'scale', o.scale);
  checkInteger('imageGrid', 'padding', o.padding, 0);
  if (!(Number.isInteger(o.background) && o.background >= 0 && o.background <= 255)) {
    throw new Error(`imageGrid: background must be a grey level from 0 to 255, got ${o.background}`);
  }
  return o;
}

interface GridLayout {
  columns: number;
  rows: number;
  cellWidth: number;
  cellHeight: number;
  padding: number;
  titleBand: number;
  labelBand: number;
  labelFont: number;
  width: number;
  height: number;
}

function gridLayout([N, , H, W]: ImageShape, o: ResolvedOptions): GridLayout {
  const columns = Math.min(o.columns, N);
  const rows = Math.ceil(N / columns);
  const cellWidth = W * o.scale, cellHeight = H * o.scale;
  const longest = Math.max(1, ...(o.labels ?? []).map((label) => label.length));
  // Shrink the caption font until the longest caption fits its cell (0.6 em is about one character's width).
  const labelFont = Math.max(8, Math.min(12, Math.floor((cellWidth + o.padding) / (0.6 * longest))));
  const labelBand = o.labels?.some((label) => label !== '') ? labelFont + 6 : 0;
  const titleBand = o.title ? TITLE_BAND : 0;
  return {
    columns, rows, cellWidth, cellHeight, padding: o.padding, titleBand, labelBand, labelFont,
    width: columns * cellWidth + (columns + 1) * o.padding,
    height: titleBand + rows * (cellHeight + labelBand) + (rows + 1) * o.padding,
  };
}

function cellOrigin(layout: GridLayout, n: number): { left: number; top: number } {
  const row = Math.floor(n / layout.columns), column = n % layout.columns;
  return {
    left: layout.padding + column * (layout.cellWidth + layout.padding),
    top: layout.titleBand + layout.padding + row * (layout.cellHeight + layout.labelBand + layout.padding),
  };
}

/** Writes one [C, H, W] image into interleaved pixels (row stride `width` * C), each value as a scale x scale block. */
function drawImage(pixels: Uint8Array, width: number, left: number, top: number, image: Float32Array, C: number, H: number, W: number, scale: number): void {
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < C; c++) {
        const byte = toByte(image[(c * H + y) * W + x]);
        for (let dy = 0; dy < scale; dy++) {
          let at = ((top + y * scale + dy) * width + left + x * scale) * C + c;
          for (let dx = 0; dx < scale; dx++, at += C) pixels[at] = byte;
        }
      }
    }
  }
}

/** The title and captions as an SVG the size of the grid, or null when there is no text. */
function gridOverlay(layout: GridLayout, o: ResolvedOptions): string | null {
  if (!o.title && layout.labelBand === 0) return null;
  const ink = o.background < 128 ? '#eeeeee' : COLORS.ink;
  const parts: string[] = [];
  if (o.title) {
    parts.push(`<text x="${px(layout.width / 2)}" y="${TITLE_FONT + 4}" font-size="${TITLE_FONT}" font-weight="bold">${escapeXml(o.title)}</text>`);
  }
  (o.labels ?? []).forEach((label, n) => {
    if (label === '') return;
    const { left, top } = cellOrigin(layout, n);
    const baseline = top + layout.cellHeight + layout.labelFont + 1;
    parts.push(`<text x="${px(left + layout.cellWidth / 2)}" y="${baseline}">${escapeXml(label)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">`
    + `<g font-family="${FONT}" font-size="${layout.labelFont}" fill="${ink}" text-anchor="middle">${parts.join('')}</g></svg>`;
}
