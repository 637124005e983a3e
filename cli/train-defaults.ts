/**
 * The defaults of `ddpm train` for images, derived from the image size S and the number of images N, so that a
 * folder of a few hundred small pictures trains in minutes on a laptop's CPU while the digits (N = 9,000, S = 28)
 * get exactly the recipe of the shipped models (channels 16, 32, 64; batch 64; 4,000 steps; lr 1e-3; EMA 0.999;
 * warm-up 200), so `ddpm train --data mnist --class-cond` retrains models/mnist.safetensors.
 *
 *   levels     the image halves while its side is above 8 and even (28 -> 14 -> 7, 32 -> 16 -> 8: 3 levels)
 *   channels   w, 2w, 4w, 4w, 8w over the levels; w = 16, or 32 from 20,000 images on (more data, a wider model)
 *   lr         1e-3 at w = 16, 5e-4 at w = 32 (inversely to the width, as for Adam on wider layers)
 *   batch      the largest power of two <= N / 8, from 16 to 64 (a few hundred images: 32)
 *   steps      2,700 * sqrt(N) images seen, over the batch, to the nearest 100, at least 500: the number of passes
 *              over the data falls as the data grows (300 images: 1,500 steps of 32, 160 passes; 9,000: 4,000
 *              steps of 64, 28 passes). The constant makes the digits' 4,000 steps.
 *   EMA        0.999 for every run: the trainer warms the decay up as (1 + step) / (10 + step), so at step s it
 *              averages over about the last s / 9 steps until s reaches 9,000; a short run's average already
 *              forgets its noisy start, and a decay derived from the length would change nothing below 4,000 steps
 *   warm-up    200 steps (the trainer's default)
 *
 * At the digits' size these are the recipe the shipped models were trained and judged with; elsewhere they are
 * rules of thumb around it (the width rule for 20,000 images and more is the usual practice: a CPU run of that
 * size takes hours). The time they cost is in the README's "Your own images".
 */
import { TRAINER_DEFAULTS } from '../bindings/index.ts';
import { presetLevels } from './models.ts';

/** The data-derived part of an image run's settings. */
export interface ImageDefaults {
  /** U-Net channels per level, highest resolution first. */
  channels: number[];
  batch: number;
  lr: number;
  /** Steps of the whole run. */
  steps: number;
  emaDecay: number;
  warmup: number;
}

/** Channel multipliers per level, highest resolution first. */
const CHANNEL_MULTIPLIERS = [1, 2, 4, 4, 8];
/** From this many images on, the base width doubles (and the learning rate halves). */
const WIDE_FROM = 20000;
/** Images seen in a run per square root of the data set's size. */
const IMAGES_SEEN_PER_ROOT = 2700;

/** The base width w of the U-Net for `numImages` images. */
function baseWidth(numImages: number): number {
  return numImages >= WIDE_FROM ? 32 : 16;
}

/** The largest power of two <= numImages / 8, from 16 to 64. */
export function defaultBatch(numImages: number): number {
  let batch = 16;
  while (batch < 64 && batch * 2 * 8 <= numImages) batch *= 2;
  return batch;
}

/** The default length of a run on `numImages` images with batches of `batch`. */
export function defaultImageSteps(numImages: number, batch: number): number {
  const seen = IMAGES_SEEN_PER_ROOT * Math.sqrt(numImages);
  return Math.max(500, Math.round(seen / batch / 100) * 100);
}

/**
 * The defaults for images of side `imageSize`, `numImages` of them; a --batch the user gave (`batch`) sets the
 * steps in place of the default batch.
 */
export function imageDefaults(imageSize: number, numImages: number, batch = defaultBatch(numImages)): ImageDefaults {
  const w = baseWidth(numImages);
  return {
    channels: CHANNEL_MULTIPLIERS.slice(0, presetLevels(imageSize)).map((m) => m * w),
    batch,
    lr: 1e-3 * (16 / w),
    steps: defaultImageSteps(numImages, batch),
    emaDecay: TRAINER_DEFAULTS.emaDecay,
    warmup: TRAINER_DEFAULTS.warmupSteps,
  };
}
