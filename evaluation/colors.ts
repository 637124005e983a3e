/**
 * Reading colored digits (coloredMnistDataset: a grayscale digit times one PALETTE color, in [-1, 1]):
 *
 * - the digit: the maximum over the channels, which undoes any palette tint (every palette color has a channel
 *   at full strength), so the grayscale classifier can read it;
 * - the color: the mean RGB of the stroke pixels (those whose brightest channel is clearly above the background,
 *   above `STROKE_THRESHOLD`), divided by its largest channel (so a faint stroke and a bright one of the same hue
 *   agree), then the nearest palette color in RGB.
 */
import { PALETTE } from '../bindings/node.ts';

/** A pixel is part of the stroke when its brightest channel exceeds this value ([-1, 1] scale: 0 is mid-grey). */
export const STROKE_THRESHOLD = 0;

/**
 * The grayscale of N images [C, H, W] given back to back: [N, 1, H, W] holding the maximum over the channels.
 * `planeSize` is H * W.
 */
export function maxOverChannels(images: Float32Array, channels: number, planeSize: number): Float32Array {
  checkImages('maxOverChannels', images, channels, planeSize);
  const N = images.length / (channels * planeSize);
  const gray = new Float32Array(N * planeSize);
  for (let n = 0; n < N; n++) {
    const at = n * channels * planeSize;
    for (let i = 0; i < planeSize; i++) {
      let value = images[at + i];
      for (let c = 1; c < channels; c++) value = Math.max(value, images[at + c * planeSize + i]);
      gray[n * planeSize + i] = value;
    }
  }
  return gray;
}

/**
 * The mean color of the stroke of one RGB image [3, H, W] (in [-1, 1]) at `offset` of `images`, as RGB in
 * [0, 1]; null when no pixel is above the threshold (a blank image has no color).
 */
export function strokeColor(images: Float32Array, offset: number, planeSize: number, threshold = STROKE_THRESHOLD): [number, number, number] | null {
  const sums = [0, 0, 0];
  let count = 0;
  for (let i = 0; i < planeSize; i++) {
    const r = images[offset + i], g = images[offset + planeSize + i], b = images[offset + 2 * planeSize + i];
    if (Math.max(r, g, b) <= threshold) continue;
    sums[0] += r;
    sums[1] += g;
    sums[2] += b;
    count++;
  }
  if (count === 0) return null;
  const [r, g, b] = sums.map((s) => Math.min(1, Math.max(0, (s / count + 1) / 2)));
  return [r, g, b];
}

/**
 * The PALETTE color nearest to `rgb` (in [0, 1]) once scaled so its largest channel is 1, and the Euclidean
 * distance to it; black has no hue and matches none (index -1, distance Infinity).
 */
export function nearestPaletteColor(rgb: readonly number[]): { index: number; distance: number } {
  const peak = Math.max(rgb[0], rgb[1], rgb[2]);
  if (!(peak > 0)) return { index: -1, distance: Infinity };
  let index = -1, squared = Infinity;
  PALETTE.forEach(({ rgb: p }, k) => {
    const [dr, dg, db] = [rgb[0] / peak - p[0], rgb[1] / peak - p[1], rgb[2] / peak - p[2]];
    const distance = dr * dr + dg * dg + db * db;
    if (distance < squared) [index, squared] = [k, distance];
  });
  return { index, distance: Math.sqrt(squared) };
}

/** The palette color of each of N RGB images [3, H, W] given back to back; -1 for an image with no stroke. */
export function classifyColors(images: Float32Array, planeSize: number, threshold = STROKE_THRESHOLD): Int32Array {
  checkImages('classifyColors', images, 3, planeSize);
  const N = images.length / (3 * planeSize);
  return Int32Array.from({ length: N }, (_, n) => {
    const rgb = strokeColor(images, n * 3 * planeSize, planeSize, threshold);
    return rgb ? nearestPaletteColor(rgb).index : -1;
  });
}

function checkImages(name: string, images: Float32Array, channels: number, planeSize: number): void {
  if (!Number.isInteger(channels) || channels < 1 || !Number.isInteger(planeSize) || planeSize < 1) {
    throw new Error(`${name}: channels and planeSize must be positive integers, got ${channels} and ${planeSize}`);
  }
  if (images.length % (channels * planeSize) !== 0) {
    throw new Error(`${name}: ${images.length} values do not make whole images of ${channels} channels of ${planeSize} pixels`);
  }
}
