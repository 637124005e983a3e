/**
 * The variational bound over a dataset: `variationalBound` batch by batch, with the mean of each part and a 95%
 * confidence interval of the mean over the examples. Example e's noise is addressed by its dataset index, so the
 * per-example results do not depend on the batch size or on which other examples are evaluated.
 */
import type { Dataset } from '../data/dataset.ts';
import type { Denoiser } from '../models/denoiser.ts';
import type { DDPMScheduler } from '../schedulers/ddpm.ts';
import { tidy } from '../tensor.ts';
import { variationalBound, type BoundTerms, type DecoderKind } from './bound.ts';
import { BoundWorkers } from './bound-workers.ts';

/** z of the two-sided 95% interval of a normal distribution. */
const Z95 = 1.959963984540054;

export interface LikelihoodEvaluationOptions {
  /** The decoder term (see `DecoderKind`). Required. */
  decoder: DecoderKind;
  /** The dataset indices to evaluate, in order. Default: every example, 0 .. size-1. */
  indices?: ArrayLike<number>;
  /** Examples per call of the model: an integer >= 1. Default 64. */
  batchSize?: number;
  /** Seed of the noise (see `variationalBound`). Default 0. */
  seed?: number;
  /** The steps of the chain (see `variationalBound`'s numSteps): default every training timestep. */
  numSteps?: number;
  /**
   * For a class-conditional model: `'data'` conditions each example on its own label (the bound on -log p(x | y)),
   * `'null'` on the null label of classifier-free guidance (-log p(x), for a model trained with label dropout).
   * Default 'data'.
   */
  labels?: 'data' | 'null';
  /**
   * Threads computing each batch (this one and workers - 1 worker threads: likelihood/bound-workers.ts; no more
   * than a batch has items): an integer >= 1. The terms are the same with any number. Default 1.
   */
  workers?: number;
  /**
   * Called after every timestep of every batch (with workers, as this thread's share of the batch passes it):
   * examples done before this batch, the batch size, t.
   */
  onProgress?: (done: number, batch: number, timestep: number) => void;
}

/** Mean and 95% confidence half-width of a per-example quantity. */
export interface Estimate {
  mean: number;
  /** 1.96 standard errors (the sample standard deviation / sqrt(n)); null with fewer than 2 examples. */
  ci95: number | null;
}

export interface LikelihoodEvaluation {
  /** How many examples. */
  num: number;
  /** Means over the examples, in nats per dimension, with 95% intervals. */
  total: Estimate;
  prior: Estimate;
  diffusion: Estimate;
  decoder: Estimate;
  /** Every example's terms (nats per dimension), in the order of `indices`. */
  perExample: Omit<BoundTerms, 'perTimestep'>;
}

/**
 * The variational bound of `model` on the examples of `dataset` (see `variationalBound`), in batches; async so
 * that a long evaluation yields to the event loop between batches.
 */
export async function evaluateLikelihood(
  model: Denoiser, scheduler: DDPMScheduler, dataset: Dataset, options: LikelihoodEvaluationOptions,
): Promise<LikelihoodEvaluation> {
  const op = 'evaluateLikelihood';
  const { decoder, batchSize = 64, seed = 0, labels = 'data', numSteps, workers = 1, onProgress } = options;
  const indices = options.indices ? Array.from(options.indices) : Array.from({ length: dataset.size }, (_, i) => i);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`${op}: batchSize must be an integer >= 1, got ${String(batchSize)}`);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`${op}: workers must be an integer >= 1, got ${String(workers)}`);
  if (labels !== 'data' && labels !== 'null') throw new Error(`${op}: labels must be 'data' or 'null', got ${String(labels)}`);
  if (indices.length === 0) throw new Error(`${op}: there are no examples to evaluate`);
  const bad = indices.findIndex((i) => !Number.isInteger(i) || i < 0 || i >= dataset.size);
  if (bad >= 0) throw new Error(`${op}: indices[${bad}] = ${indices[bad]} is not an example of ${dataset.name} (0 .. ${dataset.size - 1})`);
  const num = indices.length;
  const parts = { total: new Float64Array(num), prior: new Float64Array(num), diffusion: new Float64Array(num), decoder: new Float64Array(num) };
  // No more threads than a batch has items.
  const threads = Math.min(workers, batchSize, num);
  const pool = threads > 1 ? await BoundWorkers.start(model, scheduler, threads) : null;
  try {
    for (let start = 0; start < num; start += batchSize) {
      const batchIndices = indices.slice(start, start + batchSize);
      const batch = tidy(() => dataset.batch(Int32Array.from(batchIndices)));
      try {
        const classLabels = model.numClasses === 0 ? null
          : labels === 'null' ? new Int32Array(batchIndices.length).fill(model.numClasses) : batch.labels;
        const boundOptions = {
          decoder, seed, exampleIndices: batchIndices, classLabels, ...(numSteps !== undefined && { numSteps }),
          ...(onProgress && { onTimestep: (t: number) => onProgress(start, batchIndices.length, t) }),
        };
        const terms = pool ? await pool.bound(batch.x, boundOptions) : variationalBound(model, scheduler, batch.x, boundOptions);
        for (const key of ['total', 'prior', 'diffusion', 'decoder'] as const) parts[key].set(terms[key], start);
      } finally {
        batch.x.dispose();
        batch.condition?.dispose();
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    pool?.close();
  }
  return {
    num, total: estimate(parts.total), prior: estimate(parts.prior), diffusion: estimate(parts.diffusion), decoder: estimate(parts.decoder),
    perExample: parts,
  };
}

/** The mean of `values` and its 95% confidence half-width (normal approximation), summed in index order. */
export function estimate(values: ArrayLike<number>): Estimate {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  if (n < 2) return { mean, ci95: null };
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i] - mean) * (values[i] - mean);
  return { mean, ci95: Z95 * Math.sqrt(squares / (n - 1) / n) };
}

/** Nats to bits (per dimension): divide by ln 2. */
export function natsToBits(nats: number): number {
  return nats / Math.LN2;
}
