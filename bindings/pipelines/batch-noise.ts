/**
 * The check of `firstSample`, the place of a batch in a larger run. Sample n of a run takes numbers
 * n*M .. n*M + M - 1 of the initial-noise stream and of each step's block of the sampler-noise stream (M numbers
 * per sample; see SAMPLER_NOISE_STRIDE), so a batch starting at k draws from offset k*M on (pipelines/noise.ts,
 * NoiseScheduler.firstSample), and a run split into batches gives the same samples as one batch.
 */
import { SAMPLER_NOISE_STRIDE } from '../schedulers/base.ts';

/** Checks `firstSample`: a non-negative integer with the batch's noise inside one step's block. */
export function checkFirstSample(name: string, firstSample: unknown, batchSize: number, sampleShape: readonly number[]): void {
  if (typeof firstSample !== 'number' || !Number.isSafeInteger(firstSample) || firstSample < 0) {
    throw new Error(`${name}: firstSample must be a non-negative integer, got ${String(firstSample)}`);
  }
  const perItem = sampleShape.reduce((a, b) => a * b, 1);
  if ((firstSample + batchSize) * perItem > SAMPLER_NOISE_STRIDE) {
    throw new Error(`${name}: samples up to ${firstSample + batchSize} of ${perItem} numbers each do not fit a step's ` +
      `block of 2^36 noise numbers; lower firstSample or batchSize`);
  }
}
