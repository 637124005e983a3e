/**
 * The forward-process figure of the DDPM paper (Ho et al. 2020, figures 6 and 7), backwards: x_t at a few
 * timesteps side by side, one row per sample (images) or one scatter panel per timestep (2-D points), with a
 * caption under each column (e.g. 't = 1000' ... 't = 0'). One PNG.
 */
import sharp from 'sharp';
import { checkImageShape, imageGrid, type GridOptions } from './grid.ts';
import { scatterFrames, type ScatterOptions } from './scatter.ts';
import { COLORS, FONT, px, escapeXml } from './svg.ts';

/** Options of `strip`. */
export interface StripOptions {
  /** A caption per column (frame). */
  captions?: readonly string[];
  /** Image frames: scale, padding and background grey level. */
  grid?: Omit<GridOptions, 'title' | 'labels' | 'columns'>;
  /** Point frames: the training data, each panel's size (default 256), the range (default: fits every frame). */
  scatter?: Omit<ScatterOptions, 'title'>;
}

const CAPTION_FONT = 12;
const CAPTION_BAND = 20;

/**
 * The strip as PNG bytes: `frames` in the order they should appear, each of `shape` ([N, C, H, W] images in
 * [-1, 1], or [N, 2] points).
 */
export async function strip(frames: readonly Float32Array[], shape: readonly number[], options: StripOptions = {}): Promise<Uint8Array> {
  if (frames.length === 0) throw new Error('strip: no frames');
  const { captions } = options;
  if (captions && captions.length !== frames.length) throw new Error(`strip: ${captions.length} captions for ${frames.length} frames`);
  if (shape.length === 2 && shape[1] === 2) {
    const panels = await scatterFrames(frames, { size: 256, legend: false, ...options.scatter, titles: captions });
    return sharp(panels.map((p) => Buffer.from(p)), { join: { across: panels.length, shim: 0 } }).removeAlpha().png({ compressionLevel: 9 }).toBuffer();
  }
  if (shape.length !== 4) throw new Error(`strip: shape must be [N, C, H, W] (images) or [N, 2] (points), got [${shape.join(', ')}]`);
  frames.forEach((frame, i) => checkImageShape(`strip: frame ${i}`, frame, shape));
  const [N, C, H, W] = shape;
  const F = frames.length, size = C * H * W;
  // Row n holds sample n at every frame: cell (n, f) is frame f's image n.
  const cells = new Float32Array(N * F * size);
  for (let n = 0; n < N; n++) for (let f = 0; f < F; f++) cells.set(frames[f].subarray(n * size, (n + 1) * size), (n * F + f) * size);
  const grid = await imageGrid(cells, [N * F, C, H, W], { ...options.grid, columns: F });
  return captions ? addCaptions(grid, captions, W * (options.grid?.scale ?? 2), options.grid?.padding ?? 2, options.grid?.background ?? 255, C) : grid;
}

/** Adds a band under the grid with one caption centred under each column. */
async function addCaptions(grid: Uint8Array, captions: readonly string[], cellWidth: number, padding: number, background: number, C: number): Promise<Uint8Array> {
  const { width = 0, height = 0 } = await sharp(grid).metadata();
  const ink = background < 128 ? '#eeeeee' : COLORS.ink;
  const labels = captions.map((caption, f) => {
    const x = padding + f * (cellWidth + padding) + cellWidth / 2;
    return `<text x="${px(x)}" y="${CAPTION_FONT + 1}">${escapeXml(caption)}</text>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${CAPTION_BAND}">`
    + `<g font-family="${FONT}" font-size="${CAPTION_FONT}" fill="${ink}" text-anchor="middle">${labels.join('')}</g></svg>`;
  const grey = { r: background, g: background, b: background };
  let image = sharp(grid).extend({ bottom: CAPTION_BAND, background: grey })
    .composite([{ input: Buffer.from(svg), left: 0, top: height }]).removeAlpha();
  if (C === 1) image = image.toColourspace('b-w');
  return image.png({ compressionLevel: 9 }).toBuffer();
}
