/**
 * The noise of a batch that starts at sample k of a larger run (`firstSample`). Sample n of a run takes numbers
 * n*M .. n*M + M - 1 of the initial-noise stream and of each timestep's block of the sampler-noise stream
 * (M numbers per sample; see SAMPLER_NOISE_STRIDE), so a batch starting at k draws from offset k*M on, and a run
 * split into batches of bounded memory gives the same samples as one batch.
 */
import { randn } from '../ops/random.ts';
import { STREAMS } from '../random-streams.ts';
import { SAMPLER_NOISE_STRIDE } from '../schedulers/base.ts';
import type { Tensor } from '../tensor.ts';

/** Checks `firstSample`: a non-negative integer with the batch's noise inside one timestep's block. */
export function checkFirstSample(name: string, firstSample: unknown, batchSize: number, sampleShape: readonly number[]): void {
  if (typeof firstSample !== 'number' || !Number.isSafeInteger(firstSample) || firstSample < 0) {
    throw new Error(`${name}: firstSample must be a non-negative integer, got ${String(firstSample)}`);
  }
  const perItem = sampleShape.reduce((a, b) => a * b, 1);
  if ((firstSample + batchSize) * perItem > SAMPLER_NOISE_STRIDE) {
    throw new Error(`${name}: samples up to ${firstSample + batchSize} of ${perItem} numbers each do not fit a timestep's ` +
      `block of 2^36 noise numbers; lower firstSample or batchSize`);
  }
}

/**
 * The `noise` step option for the batch whose current sample is `x` at timestep t: nothing for a batch that
 * starts at sample 0 or a step that draws no noise (the scheduler draws its own, at the same numbers), else the
 * noise of samples firstSample .. firstSample + N - 1.
 */
export function stepNoiseAt(x: Tensor, t: number, o: { seed: number; firstSample: number }, drawsNoise: boolean): { noise?: Tensor } {
  if (o.firstSample === 0 || !drawsNoise) return {};
  const perItem = x.size / x.shape[0];
  return { noise: randn(x.shape, { seed: o.seed, stream: STREAMS.samplerNoise, offset: t * SAMPLER_NOISE_STRIDE + o.firstSample * perItem }) };
}
