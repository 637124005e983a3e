/**
 * Per-item weights and noise of diffusion training, with diffusers' arithmetic (v0.27.2,
 * examples/text_to_image/train_text_to_image.py and training_utils.compute_snr):
 *
 * - Min-SNR-gamma (Hang et al. 2023, "Efficient Diffusion Training via Min-SNR Weighting Strategy", §3.4):
 *   snr_t = (sqrt(ab_t) / sqrt(1 - ab_t))², and the squared error of an item at t is weighted by
 *   min(snr_t, gamma) / snr_t for epsilon prediction, min(snr_t, gamma) / (snr_t + 1) for v prediction and
 *   min(snr_t, gamma) for sample prediction (diffusers leaves the weight undivided there).
 * - Offset noise (Guttenberg 2023, "Diffusion with offset noise"): eps + noiseOffset · r with one normal number r
 *   per (sample, channel), so the model also learns to shift an image's mean.
 */
import { randn } from '../ops/random.ts';
import { schedulerAddNoise } from '../ops/scheduler.ts';
import { STREAMS } from '../random-streams.ts';
import type { PredictionType } from '../schedulers/index.ts';
import { Tensor } from '../tensor.ts';

/** The signal-to-noise ratio of timestep t: (sqrt(ab_t) / sqrt(1 - ab_t))², as diffusers' compute_snr. */
export function snrAt(alphasCumprod: Float64Array, t: number): number {
  const ratio = Math.sqrt(alphasCumprod[t]) / Math.sqrt(1 - alphasCumprod[t]);
  return ratio * ratio;
}

/** The Min-SNR-gamma weight of each item's squared error (see the top of the file). */
export function minSnrWeights(alphasCumprod: Float64Array, timesteps: ArrayLike<number>, gamma: number, predictionType: PredictionType): Float64Array {
  return Float64Array.from(timesteps, (t) => {
    const snr = snrAt(alphasCumprod, t);
    const clipped = Math.min(snr, gamma);
    return predictionType === 'epsilon' ? clipped / snr : predictionType === 'v_prediction' ? clipped / (snr + 1) : clipped;
  });
}

/**
 * noise + noiseOffset · r[n, c] on every element of channel c of item n (noise [N, C, ...]), with r the normal
 * numbers first·C .. (first + N)·C - 1 of (seed, STREAMS.trainNoiseOffset): one per (sample, channel) of the run.
 */
export function offsetNoise(noise: Tensor, noiseOffset: number, seed: number, first: number): Tensor {
  const [N, C] = noise.shape;
  return addOffsets(noise, noiseOffset, randn([N * C], { seed, offset: first * C, stream: STREAMS.trainNoiseOffset }).toFloat32Array());
}

/** noise + noiseOffset · r[n, c] on every element of channel c of item n (r: N·C values, item-major). */
export function addOffsets(noise: Tensor, noiseOffset: number, r: Float32Array): Tensor {
  const [N, C] = noise.shape;
  const planes = N * C, size = noise.size / planes;
  if (r.length !== planes) throw new Error(`addOffsets: ${r.length} offsets for ${N} x ${C} channels`);
  const ones = new Tensor([planes, size]);
  ones.view().fill(1);
  const shifted = schedulerAddNoise(noise.subview(0, [planes, size]), ones, new Array(planes).fill(1), Array.from(r, (v) => noiseOffset * v));
  ones.dispose();
  const out = shifted.reshape(noise.shape);
  shifted.dispose();
  return out;
}
