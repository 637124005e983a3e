/**
 * The variational bound on -log p(x0) of a diffusion model, term by term (Ho et al. 2020, eq. 5; computed as
 * improved-diffusion's `calc_bpd_loop` does, Nichol & Dhariwal 2021):
 *
 *   L = KL(q(x_T | x0) || N(0, I))                                        the prior term (closed form)
 *     + sum over t = 1 .. T-1 of KL(q(x_{t-1} | x_t, x0) || p(x_{t-1} | x_t))    the diffusion terms
 *     + -log p(x0 | x_1)                                                  the decoder term (t = 0)
 *
 * with timesteps 0-indexed as everywhere here (the schedule's t = 0 is the paper's t = 1), each term at one draw
 * x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps, and every term a mean over the item's dimensions, in nats (divide by
 * ln 2 for bits). The reverse step p(x_{t-1} | x_t) = N(mu, sigma²) has the model's mean, the posterior mean
 * mu~(x0_hat, x_t) of its x0 estimate (from eps, x0 or v, clipped to [-clipSampleRange, clipSampleRange] when the
 * scheduler's clipSample is set, as calc_bpd_loop's clip_denoised), and a fixed variance (the scheduler's
 * varianceType), as improved-diffusion's p_mean_variance sets it:
 *
 * - 'fixed_small': the posterior variance beta~_t; at t = 0, where beta~_0 = 0, beta~_1 (its clipped log-variance);
 * - 'fixed_large': beta_t for t >= 1; at t = 0, beta~_1 for 8-bit images (improved-diffusion: "a better decoder
 *   log likelihood") and beta_0 for continuous data (Ho et al.'s sigma_1² = beta_1: the variance of q(x0 | x_1)
 *   for data that are smooth at the scale of the noise, which a Gaussian decoder needs; beta~_1 would cost
 *   0.5 (beta_0 / beta~_1 - 1 - ln(beta_0 / beta~_1)) nats per dimension, 0.15 at T = 1000).
 *
 * - 'learned_range' / 'learned' (a model that predicts its variance, Nichol & Dhariwal 2021): the model's own,
 *   from the variance channels of its output, between log beta~_t (clipped at t = 0) and log beta_t for
 *   'learned_range', as improved-diffusion's p_mean_variance.
 *
 * The decoder term is the discretised Gaussian of 8-bit data (`'discretized'`: images in [-1, 1]) or the Gaussian
 * density (`'gaussian'`: continuous data such as the 2-D toys).
 *
 * With `numSteps` K below T the bound is that of the respaced K-step chain on the timesteps DDPM-K samples
 * (setTimesteps(K)), as improved-diffusion's SpacedDiffusion computes it: beta_i = 1 - ab_{t_i} / ab_{t_{i-1}},
 * the prior at the largest of them and the decoder at the smallest.
 *
 * Noise: the eps of item n's term at timestep t is `randn` of (seed, STREAMS.likelihoodNoise), numbers
 * t·2^36 + e·M .. t·2^36 + (e + 1)·M - 1, with e the item's example index and M its size; so an example's bound
 * depends on (seed, its index) alone, never on the batch it is evaluated in or on the batch size.
 */
import { predictsVariance, type Denoiser } from '../models/denoiser.ts';
import { concatChannelsBackward, scale } from '../ops/elementwise.ts';
import { learnedRangeLogVariance } from '../ops/learned-variance.ts';
import { log } from '../ops/math.ts';
import { normalKL, discretizedGaussianLogLikelihood, gaussianLogLikelihood } from '../ops/likelihood.ts';
import { randnInto } from '../ops/random.ts';
import { schedulerAddNoise, schedulerStep } from '../ops/scheduler.ts';
import { tensorArg } from '../ops/check.ts';
import { STREAMS } from '../random-streams.ts';
import { DDPMScheduler, isLearnedVariance } from '../schedulers/ddpm.ts';
import { originalSampleCoefficients, posteriorTables, type PosteriorTables } from '../schedulers/posterior-tables.ts';
import { Tensor, tidy } from '../tensor.ts';

/** The decoder term: `'discretized'` for 8-bit images in [-1, 1], `'gaussian'` for continuous data. */
export type DecoderKind = 'discretized' | 'gaussian';

export const DECODER_KINDS: readonly DecoderKind[] = ['discretized', 'gaussian'];

/** Numbers of the likelihood stream per timestep: item e of a term takes e·M .. (e + 1)·M - 1 of its block. */
export const LIKELIHOOD_NOISE_STRIDE = 2 ** 36;

/** Options of `variationalBound`. */
export interface BoundOptions {
  /** The decoder term (see `DecoderKind`). Required. */
  decoder: DecoderKind;
  /** Seed of the noise of every term: a non-negative safe integer. Default 0. */
  seed?: number;
  /**
   * Each item's example index, the address of its noise (non-negative integers; (index + 1) · M at most 2^36).
   * Default 0 .. N-1.
   */
  exampleIndices?: ArrayLike<number>;
  /** One class label per item for a class-conditional model (its null label for the unconditional bound). */
  classLabels?: Int32Array | null;
  /**
   * The steps of the chain: numTrainTimesteps (default) for the full bound, fewer for the respaced chain on the
   * timesteps of setTimesteps(numSteps) (see the top of the file). An integer in [1, numTrainTimesteps].
   */
  numSteps?: number;
  /** Called after each timestep's term, t from T-1 down to 0 (e.g. for progress). */
  onTimestep?: (t: number) => void;
}

/** The bound of each item of a batch, in nats per dimension. */
export interface BoundTerms {
  /** prior + diffusion + decoder. */
  total: Float64Array;
  /** KL(q(x_T | x0) || N(0, I)). */
  prior: Float64Array;
  /** The sum of the diffusion terms, t = 1 .. T-1. */
  diffusion: Float64Array;
  /** -log p(x0 | x_1) (t = 0). */
  decoder: Float64Array;
  /** The term of each step of the chain: perTimestep[i][n] at the i-th smallest timestep (perTimestep[0] is the decoder term). */
  perTimestep: Float64Array[];
}

/**
 * The variational bound of each item of `x0` [N, ...model.sampleShape] under `model` and `scheduler` (all T of its
 * training timesteps, or the numSteps of a respaced chain; setTimesteps is not consulted), term by term: see the top
 * of this file. Runs the model once per step on the batch.
 */
export function variationalBound(model: Denoiser, scheduler: DDPMScheduler, x0: Tensor, options: BoundOptions): BoundTerms {
  const op = 'variationalBound';
  const o = checkBoundArguments(op, model, scheduler, x0, options);
  const shape = x0.shape, N = shape[0], M = x0.size / Math.max(1, N);
  const tables = boundTables(scheduler, o.chain, o.decoder);
  const K = tables.timesteps.length;
  const terms = { perTimestep: new Array<Float64Array>(K), diffusion: new Float64Array(N) };
  for (let i = K - 1; i >= 0; i--) {
    const t = tables.timesteps[i];
    const term = tidy(() => {
      const noise = termNoise(shape, M, o.seed, t, o.exampleIndices);
      const timesteps = new Int32Array(N).fill(t);
      const xt = scheduler.addNoise(x0, noise, timesteps);
      const output = model.forward(xt, timesteps, o.classLabels);
      return timestepTerm(scheduler, tables, i, x0, xt, output, o.decoder, predictsVariance(model));
    });
    checkFinite(op, term, `the term at timestep ${t}`);
    terms.perTimestep[i] = term;
    if (i > 0) for (let n = 0; n < N; n++) terms.diffusion[n] += term[n];
    o.onTimestep?.(t);
  }
  const prior = tidy(() => priorTerm(x0, scheduler.alphasCumprod[tables.timesteps[K - 1]]));
  checkFinite(op, prior, 'the prior term');
  const decoder = terms.perTimestep[0];
  const total = Float64Array.from(prior, (p, n) => p + terms.diffusion[n] + decoder[n]);
  return { total, prior, diffusion: terms.diffusion, decoder, perTimestep: terms.perTimestep };
}

/**
 * `variationalBound`'s checks, with its one-line errors under the name `op`, before any model call: for a caller
 * that splits a batch (bound-workers.ts) and refuses it whole. Returns the resolved options and the chain's grid.
 */
export function checkBoundArguments(op: string, model: Denoiser, scheduler: DDPMScheduler, x0: Tensor, options: BoundOptions): ResolvedOptions & { chain: Int32Array | undefined } {
  if (!(scheduler instanceof DDPMScheduler)) {
    throw new Error(`${op}: scheduler must be a DDPMScheduler (its varianceType is the reverse process's variance), got ${(scheduler as object | null)?.constructor?.name ?? String(scheduler)}`);
  }
  const shape = tensorArg(op, 'x0', x0);
  const resolved = checkOptions(op, model, shape, options);
  checkVariance(op, model, scheduler);
  return { ...resolved, chain: chainOf(op, scheduler, resolved.numSteps) };
}

/** The chain's posterior tables, with the reverse step's log-variance for the fixed types (see the top of the file). */
interface BoundTables extends PosteriorTables {
  /** The fixed reverse step's log-variance per step, or null when the model predicts it. */
  modelLogVariance: Float64Array | null;
}

/** The grid of the chain: every training timestep, or those of setTimesteps(numSteps) in increasing order. */
function chainOf(op: string, scheduler: DDPMScheduler, numSteps: number | undefined): Int32Array | undefined {
  const T = scheduler.config.numTrainTimesteps;
  if (numSteps === undefined || numSteps === T) return undefined;
  if (!Number.isInteger(numSteps) || numSteps < 1 || numSteps > T) {
    throw new Error(`${op}: options.numSteps must be an integer in [1, ${T}] (numTrainTimesteps), got ${String(numSteps)}`);
  }
  const spaced = DDPMScheduler.fromConfig(scheduler.config);
  spaced.setTimesteps(numSteps);
  return Int32Array.from(spaced.timesteps).reverse();
}

function boundTables(scheduler: DDPMScheduler, grid: Int32Array | undefined, decoder: DecoderKind): BoundTables {
  const tables = posteriorTables(scheduler, grid);
  const varianceType = scheduler.config.varianceType;
  const clippedFirst = tables.posteriorLogVarianceClipped[0];
  const modelLogVariance = isLearnedVariance(varianceType) ? null
    : varianceType === 'fixed_large'
      ? Float64Array.from(tables.logBetas, (logBeta, i) => (i > 0 || decoder === 'gaussian' ? logBeta : clippedFirst))
      : tables.posteriorLogVarianceClipped;
  return { ...tables, modelLogVariance };
}

/** The term of step i (timestep t_i) for each item, given x_t and the model's output there (see the top of the file). */
function timestepTerm(
  scheduler: DDPMScheduler, tables: BoundTables, i: number, x0: Tensor, xt: Tensor, output: Tensor, decoder: DecoderKind, withVariance: boolean,
): Float64Array {
  const { predictionType, clipSample, clipSampleRange } = scheduler.config;
  const x0Hat = originalSampleCoefficients(predictionType, scheduler.alphasCumprod[tables.timesteps[i]]);
  const C = x0.shape[1];
  const { da: prediction, db: v } = withVariance ? concatChannelsBackward(output, C) : { da: output, db: null };
  // The model's mean: mu~_t(clip(x0_hat), x_t), through the generic scheduler step with no noise.
  const { prevSample: modelMean } = schedulerStep(xt, prediction, {
    a: x0Hat.onSample, b: x0Hat.onOutput, c: 0, d: 0, e: 0, f: tables.coef1[i], g: tables.coef2[i], h: 0,
    sigma: 0, clipRange: clipSample ? clipSampleRange : Infinity,
  });
  const N = x0.shape[0];
  const logVariance = (halved: boolean): Tensor => {
    const factor = halved ? 0.5 : 1;
    if (tables.modelLogVariance !== null) return constant(x0.shape, factor * tables.modelLogVariance[i]);
    if (scheduler.config.varianceType === 'learned') return halved ? scale(v!, 0.5) : v!;
    const minLog = factor * tables.posteriorLogVarianceClipped[i], maxLog = factor * tables.logBetas[i];
    return learnedRangeLogVariance(v!, new Array(N).fill(minLog), new Array(N).fill(maxLog));
  };
  if (i === 0) {
    const logScales = logVariance(true);
    const logLikelihood = decoder === 'discretized'
      ? discretizedGaussianLogLikelihood(x0, modelMean, logScales)
      : gaussianLogLikelihood(x0, modelMean, logScales);
    return logLikelihood.map((value) => -value);
  }
  const trueMean = schedulerAddNoise(x0, xt, new Array(N).fill(tables.coef1[i]), new Array(N).fill(tables.coef2[i]));
  return normalKL(trueMean, constant(x0.shape, tables.posteriorLogVarianceClipped[i]), modelMean, logVariance(false));
}

/**
 * A learned varianceType needs a model that predicts its variance. A fixed one on such a model is a comparison
 * the caller asked for: its variance channels are then ignored.
 */
function checkVariance(op: string, model: Denoiser, scheduler: DDPMScheduler): void {
  const learned = isLearnedVariance(scheduler.config.varianceType);
  if (learned && !predictsVariance(model)) {
    throw new Error(`${op}: varianceType '${scheduler.config.varianceType}' takes the variance from the model, but this model predicts none ` +
      `(its output has the sample's ${model.sampleShape[0]} channels): use 'fixed_small' or 'fixed_large'`);
  }
}

/** KL(N(sqrt(ab_T) x0, (1 - ab_T) I) || N(0, I)) per item. */
function priorTerm(x0: Tensor, abLast: number): Float64Array {
  const N = x0.shape[0];
  // sqrt(ab_T) x0 with a float64 coefficient (the second term is 0 · x0).
  const mean = schedulerAddNoise(x0, x0, new Array(N).fill(Math.sqrt(abLast)), new Array(N).fill(0));
  const zeros = constant(x0.shape, 0);
  return normalKL(mean, constant(x0.shape, log(1 - abLast)), zeros, zeros);
}

/** A tensor of `shape` filled with `value` rounded to float32. */
function constant(shape: readonly number[], value: number): Tensor {
  const t = new Tensor(shape);
  t.view().fill(value);
  return t;
}

/** The eps of each item's term at timestep t (see the top of the file), drawn run by run of consecutive indices. */
function termNoise(shape: readonly number[], M: number, seed: number, t: number, indices: readonly number[]): Tensor {
  const noise = new Tensor(shape);
  for (let start = 0; start < indices.length;) {
    let end = start + 1;
    while (end < indices.length && indices[end] === indices[end - 1] + 1) end++;
    randnInto(noise.subview(start * M, [(end - start) * M]), {
      seed, stream: STREAMS.likelihoodNoise, offset: t * LIKELIHOOD_NOISE_STRIDE + indices[start] * M,
    });
    start = end;
  }
  return noise;
}

function checkFinite(op: string, values: Float64Array, what: string): void {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new Error(`${op}: ${what} is ${values[bad]} for item ${bad}: the model's output or the data hold NaN or Infinity`);
  }
}

interface ResolvedOptions {
  decoder: DecoderKind;
  seed: number;
  exampleIndices: number[];
  classLabels: Int32Array | null;
  numSteps?: number;
  onTimestep?: (t: number) => void;
}

const OPTION_NAMES = ['decoder', 'seed', 'exampleIndices', 'classLabels', 'numSteps', 'onTimestep'];

function checkOptions(op: string, model: Denoiser, shape: readonly number[], options: BoundOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new Error(`${op}: options must be an object { decoder, ... }`);
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) throw new Error(`${op}: unknown option '${key}' (allowed: ${OPTION_NAMES.join(', ')})`);
  }
  const { decoder, seed = 0, classLabels = null, onTimestep } = options;
  if (!DECODER_KINDS.includes(decoder)) {
    throw new Error(`${op}: options.decoder must be one of ${DECODER_KINDS.map((d) => `'${d}'`).join(', ')}, got ${String(decoder)}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`${op}: options.seed must be a non-negative safe integer, got ${String(seed)}`);
  const expected = [...model.sampleShape];
  if (shape.length !== expected.length + 1 || expected.some((d, i) => d !== shape[i + 1])) {
    throw new Error(`${op}: x0 must be [N, ${expected.join(', ')}] (the model's samples), got [${shape.join(', ')}]`);
  }
  const N = shape[0], M = expected.reduce((a, b) => a * b, 1);
  const exampleIndices = options.exampleIndices === undefined ? Array.from({ length: N }, (_, n) => n) : Array.from(options.exampleIndices);
  if (exampleIndices.length !== N) throw new Error(`${op}: options.exampleIndices has ${exampleIndices.length} entries for ${N} items`);
  exampleIndices.forEach((e, n) => {
    if (!Number.isInteger(e) || e < 0 || (e + 1) * M > LIKELIHOOD_NOISE_STRIDE) {
      throw new Error(`${op}: options.exampleIndices[${n}] must be an integer in [0, ${Math.floor(LIKELIHOOD_NOISE_STRIDE / M) - 1}], got ${e}`);
    }
  });
  if (onTimestep !== undefined && typeof onTimestep !== 'function') throw new Error(`${op}: options.onTimestep must be a function`);
  return { decoder, seed, exampleIndices, classLabels, numSteps: options.numSteps, onTimestep };
}
