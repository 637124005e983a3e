/**
 * What DDPMScheduler and DDIMScheduler share, after diffusers' common scheduler config: the options and their
 * validation, the schedule (betas, alphas, alphasCumprod), the inference timesteps, forward noising (`addNoise`,
 * `getVelocity`), the conversion of a model output into x0 and eps for each predictionType, and where sampler
 * noise comes from. Schedulers know nothing of the model: they map tensors and timesteps to tensors.
 *
 * Timesteps are 0-indexed: t = 0 .. T-1, alphasCumprod[t] = alphas[0] · ... · alphas[t] (T = numTrainTimesteps).
 * Coefficients are float64, computed with + - * / and Math.sqrt only, so they are the same bits everywhere.
 */
import { randn } from '../ops/random.ts';
import { schedulerAddNoise } from '../ops/scheduler.ts';
import { tensorArg, sameShape } from '../ops/check.ts';
import { STREAMS } from '../random-streams.ts';
import { Tensor } from '../tensor.ts';
import { BETA_SCHEDULES, betasFor, cumprod, type BetaSchedule } from './betas.ts';
import { spacedTimesteps, TIMESTEP_SPACINGS, type TimestepSpacing } from './timesteps.ts';

/**
 * What the model predicts: `'epsilon'` the noise eps (Ho et al. 2020), `'sample'` the clean sample x0,
 * `'v_prediction'` the velocity v = sqrt(ab_t)·eps - sqrt(1 - ab_t)·x0 (Salimans & Ho 2022).
 */
export type PredictionType = 'epsilon' | 'sample' | 'v_prediction';

export const PREDICTION_TYPES: readonly PredictionType[] = ['epsilon', 'sample', 'v_prediction'];

/** The options both schedulers take (diffusers' config keys in camelCase). */
export interface SchedulerOptions {
  /** T, the number of diffusion steps the model is trained with: an integer in [1, 131072]. Default 1000. */
  numTrainTimesteps?: number;
  /** The beta schedule (see `BetaSchedule`). Default `'linear'`. */
  betaSchedule?: BetaSchedule;
  /** The first beta, for the linear, scaled_linear and sigmoid schedules: in (0, betaEnd). Default 0.0001. */
  betaStart?: number;
  /** The last beta, for the linear, scaled_linear and sigmoid schedules: in (betaStart, 1). Default 0.02. */
  betaEnd?: number;
  /** Explicit betas (numTrainTimesteps values in (0, 1)), used instead of betaSchedule when given. Default null. */
  trainedBetas?: ArrayLike<number> | null;
  /** What the model predicts (see `PredictionType`). Default `'epsilon'`. */
  predictionType?: PredictionType;
  /** Clamp the predicted x0 to [-clipSampleRange, clipSampleRange] in `step`. Default true. */
  clipSample?: boolean;
  /** The clamp bound of clipSample: a positive number. Default 1.0. */
  clipSampleRange?: number;
  /** How `setTimesteps` spreads the inference timesteps (see `TimestepSpacing`). Default `'leading'`. */
  timestepSpacing?: TimestepSpacing;
  /** Added to every 'leading' inference timestep (Stable Diffusion uses 1): an integer >= 0. Default 0. */
  stepsOffset?: number;
  /**
   * Seed of the noise `step` draws when it is not given one (see `SAMPLER_NOISE_STRIDE`): a non-negative safe
   * integer. A step's `{ seed }` option overrides it. Default 0.
   */
  seed?: number;
}

/** The options of `step` that both schedulers take. */
export interface StepNoiseOptions {
  /** The noise z of the step (the shape of `sample`); drawn from the seed when absent. */
  noise?: Tensor;
  /** The seed to draw the noise from, for this call; defaults to the scheduler's `seed` option. */
  seed?: number;
}

/** What `step` returns (diffusers' SchedulerOutput). */
export interface SchedulerStepOutput {
  /** x_{t_prev}: the input of the next step. */
  prevSample: Tensor;
  /** The predicted clean sample x0 (after clipping when clipSample), for previews or guidance. */
  predOriginalSample: Tensor;
}

/**
 * Sampler noise addressing. When `step` draws its noise z itself, z is `randn(sample.shape, { seed, stream:
 * STREAMS.samplerNoise, offset: t · SAMPLER_NOISE_STRIDE })`: one fixed stream, one disjoint block of 2^36
 * numbers per timestep t, and item n of the batch takes numbers n·M .. (n+1)·M - 1 of its block (M elements per
 * item). So a run is reproducible from its seed alone, and what one batch item gets does not depend on the
 * batch size: sampling 1 image or 16 with the same seed gives the same first image.
 */
export const SAMPLER_NOISE_STRIDE = 2 ** 36;

/** The largest numTrainTimesteps: every timestep's noise block must start below 2^53 (see above). */
const MAX_TRAIN_TIMESTEPS = 2 ** 17;

export const SCHEDULER_DEFAULTS: Readonly<Required<SchedulerOptions>> = {
  numTrainTimesteps: 1000, betaSchedule: 'linear', betaStart: 0.0001, betaEnd: 0.02, trainedBetas: null,
  predictionType: 'epsilon', clipSample: true, clipSampleRange: 1.0, timestepSpacing: 'leading', stepsOffset: 0, seed: 0,
};

/** The float64 coefficients of x0 = a·sample + b·modelOutput, or of eps = c·sample + d·modelOutput. */
interface Linear { onSample: number; onOutput: number }

export abstract class NoiseScheduler<Options extends SchedulerOptions> {
  /** The resolved options, defaults filled in. */
  readonly config: Readonly<Required<Options>>;
  /** `config` seen as the options every scheduler has. */
  private readonly common: Readonly<Required<SchedulerOptions>>;
  /** beta_t for t = 0 .. T-1 (do not modify). */
  readonly betas: Float64Array;
  /** alpha_t = 1 - beta_t. */
  readonly alphas: Float64Array;
  /** ab_t = alpha_0 · ... · alpha_t, the running product. */
  readonly alphasCumprod: Float64Array;
  /** The timesteps a sampler visits, decreasing: T-1 .. 0 until `setTimesteps` chooses fewer. */
  timesteps: Int32Array;
  /** The number of inference steps `setTimesteps` was called with, or null. */
  numInferenceSteps: number | null = null;
  /** The standard deviation of the initial noise x_T (diffusers' init_noise_sigma). */
  readonly initNoiseSigma = 1;

  protected constructor(protected readonly name: string, options: Options, defaults: Required<Options>) {
    this.common = Object.freeze(resolveOptions(name, options, defaults as Required<SchedulerOptions>));
    this.config = this.common as Readonly<Required<Options>>;
    const { numTrainTimesteps: T, betaSchedule, betaStart, betaEnd, trainedBetas } = this.common;
    this.betas = trainedBetas !== null ? Float64Array.from(trainedBetas) : betasFor(betaSchedule, T, betaStart, betaEnd);
    this.alphas = this.betas.map((beta) => 1 - beta);
    this.alphasCumprod = cumprod(this.alphas);
    this.timesteps = descending(T);
  }

  /**
   * Chooses the `numInferenceSteps` timesteps (at most numTrainTimesteps) that sampling visits, spaced by the
   * timestepSpacing option; `timesteps` then holds them, decreasing.
   */
  setTimesteps(numInferenceSteps: number): void {
    const op = `${this.name}.setTimesteps`;
    const T = this.common.numTrainTimesteps;
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1) {
      throw new Error(`${op}: numInferenceSteps must be an integer >= 1, got ${show(numInferenceSteps)}`);
    }
    if (numInferenceSteps > T) {
      throw new Error(`${op}: numInferenceSteps (${numInferenceSteps}) cannot be larger than numTrainTimesteps (${T}): ` +
        `the model was trained with ${T} timesteps`);
    }
    const { timestepSpacing, stepsOffset } = this.common;
    const timesteps = spacedTimesteps(timestepSpacing, T, numInferenceSteps, stepsOffset);
    const largest = timesteps[0];
    if (largest >= T) {
      throw new Error(`${op}: stepsOffset ${stepsOffset} with numInferenceSteps ${numInferenceSteps} gives timestep ${largest}, ` +
        `beyond the last training timestep ${T - 1} (numTrainTimesteps ${T})`);
    }
    this.timesteps = timesteps;
    this.numInferenceSteps = numInferenceSteps;
  }

  /**
   * The forward process q(x_t | x0) (Ho et al. 2020, eq. 4): sqrt(ab_t)·x0 + sqrt(1 - ab_t)·noise, with one
   * timestep per batch item (the first dimension of x0). `noise` has the shape of x0.
   */
  addNoise(originalSamples: Tensor, noise: Tensor, timesteps: Int32Array | readonly number[]): Tensor {
    const ab = this.batchAlphasCumprod(`${this.name}.addNoise`, originalSamples, noise, timesteps);
    return schedulerAddNoise(originalSamples, noise, ab.map(Math.sqrt), ab.map((x) => Math.sqrt(1 - x)));
  }

  /**
   * The v-prediction target (Salimans & Ho 2022): v = sqrt(ab_t)·noise - sqrt(1 - ab_t)·x0, one timestep per
   * batch item. `noise` has the shape of `sample` (x0).
   */
  getVelocity(sample: Tensor, noise: Tensor, timesteps: Int32Array | readonly number[]): Tensor {
    const ab = this.batchAlphasCumprod(`${this.name}.getVelocity`, sample, noise, timesteps);
    return schedulerAddNoise(noise, sample, ab.map(Math.sqrt), ab.map((x) => -Math.sqrt(1 - x)));
  }

  /**
   * d(model output) / d(eps) at timestep t, x_t held fixed: 1 for epsilon, 1/sqrt(ab_t) for v_prediction,
   * -sqrt(1 - ab_t)/sqrt(ab_t) for sample. Guidance written as a shift of eps (classifier guidance) shifts the
   * model output by this many times as much, whatever the model predicts.
   */
  outputPerEpsilon(timestep: number): number {
    const t = this.checkTimestep(`${this.name}.outputPerEpsilon`, timestep);
    return 1 / this.epsilonCoefficients(this.alphasCumprod[t]).onOutput;
  }

  /** The model input at timestep t: `sample` itself (DDPM and DDIM do not scale it; diffusers' interface). */
  scaleModelInput(sample: Tensor, _timestep?: number): Tensor {
    return sample;
  }

  /** x0 = a·sample + b·modelOutput at ab_t, for the scheduler's predictionType. */
  protected originalSampleCoefficients(ab: number): Linear {
    const sqrtAb = Math.sqrt(ab), sqrtOneMinusAb = Math.sqrt(1 - ab);
    switch (this.common.predictionType) {
      case 'epsilon': return { onSample: 1 / sqrtAb, onOutput: -sqrtOneMinusAb / sqrtAb };
      case 'sample': return { onSample: 0, onOutput: 1 };
      case 'v_prediction': return { onSample: sqrtAb, onOutput: -sqrtOneMinusAb };
    }
  }

  /** eps = c·sample + d·modelOutput at ab_t, for the scheduler's predictionType. */
  protected epsilonCoefficients(ab: number): Linear {
    const sqrtAb = Math.sqrt(ab), sqrtOneMinusAb = Math.sqrt(1 - ab);
    switch (this.common.predictionType) {
      case 'epsilon': return { onSample: 0, onOutput: 1 };
      case 'sample': return { onSample: 1 / sqrtOneMinusAb, onOutput: -sqrtAb / sqrtOneMinusAb };
      case 'v_prediction': return { onSample: sqrtOneMinusAb, onOutput: sqrtAb };
    }
  }

  /** The clamp bound of the kernel: clipSampleRange, or Infinity without clipping. */
  protected get clipRange(): number {
    return this.common.clipSample ? this.common.clipSampleRange : Infinity;
  }

  /** Checks that `t` is a training timestep. */
  protected checkTimestep(op: string, t: unknown): number {
    const T = this.common.numTrainTimesteps;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= T) {
      throw new Error(`${op}: timestep must be an integer in [0, ${T - 1}] (numTrainTimesteps ${T}), got ${show(t)}`);
    }
    return t;
  }

  /** The step's noise at timestep t: the given tensor, or drawn from the seed (see SAMPLER_NOISE_STRIDE). */
  protected stepNoise(op: string, sample: Tensor, t: number, options: StepNoiseOptions): Tensor {
    if (options.noise !== undefined) {
      sameShape(op, 'sample', sample.shape, 'options.noise', tensorArg(op, 'options.noise', options.noise));
      return options.noise;
    }
    const seed = options.seed ?? this.common.seed;
    return randn(sample.shape, { seed, stream: STREAMS.samplerNoise, offset: t * SAMPLER_NOISE_STRIDE });
  }

  /** Validates step's options object against the allowed keys. */
  protected checkStepOptions<T extends object>(op: string, options: T, allowed: readonly string[]): T {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new Error(`${op}: options must be an object, got ${show(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (!allowed.includes(key)) throw new Error(`${op}: unknown option '${key}' (allowed: ${allowed.join(', ')})`);
    }
    const seed = (options as StepNoiseOptions).seed;
    if (seed !== undefined) checkSeed(op, 'options.seed', seed);
    return options;
  }

  private batchAlphasCumprod(op: string, x: Tensor, noise: Tensor, timesteps: Int32Array | readonly number[]): number[] {
    const shape = tensorArg(op, 'originalSamples', x);
    sameShape(op, 'originalSamples', shape, 'noise', tensorArg(op, 'noise', noise));
    if (shape.length === 0) throw new Error(`${op}: originalSamples must have a batch dimension, got a scalar`);
    if (!(timesteps instanceof Int32Array) && !Array.isArray(timesteps)) {
      throw new Error(`${op}: timesteps must be an Int32Array or an array of integers, got ${show(timesteps)}`);
    }
    if (timesteps.length !== shape[0]) {
      throw new Error(`${op}: timesteps has ${timesteps.length} entries, originalSamples [${shape.join(', ')}] has ${shape[0]} items`);
    }
    return Array.from(timesteps, (t, n) => this.alphasCumprod[this.checkTimestep(`${op}: timesteps[${n}]`, t)]);
  }
}

/** Merges options over defaults, rejecting unknown keys and invalid values with messages that name them. */
function resolveOptions(name: string, options: SchedulerOptions, defaults: Required<SchedulerOptions>): Required<SchedulerOptions> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`${name}: options must be an object, got ${show(options)}`);
  }
  const known = Object.keys(defaults);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new Error(`${name}: unknown option '${key}' (known options: ${known.join(', ')})`);
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const config = { ...defaults, ...defined } as Required<SchedulerOptions>;
  const T = config.numTrainTimesteps;
  if (!Number.isInteger(T) || T < 1 || T > MAX_TRAIN_TIMESTEPS) {
    throw new Error(`${name}: numTrainTimesteps must be an integer in [1, ${MAX_TRAIN_TIMESTEPS}], got ${show(T)}`);
  }
  choice(name, 'betaSchedule', config.betaSchedule, BETA_SCHEDULES);
  choice(name, 'predictionType', config.predictionType, PREDICTION_TYPES);
  choice(name, 'timestepSpacing', config.timestepSpacing, TIMESTEP_SPACINGS);
  flag(name, 'clipSample', config.clipSample);
  if (typeof config.clipSampleRange !== 'number' || !(config.clipSampleRange > 0) || !Number.isFinite(config.clipSampleRange)) {
    throw new Error(`${name}: clipSampleRange must be a finite positive number, got ${show(config.clipSampleRange)}`);
  }
  if (!Number.isInteger(config.stepsOffset) || config.stepsOffset < 0 || config.stepsOffset >= T) {
    throw new Error(`${name}: stepsOffset must be an integer in [0, ${T - 1}] (numTrainTimesteps ${T}), got ${show(config.stepsOffset)}`);
  }
  checkSeed(name, 'seed', config.seed);
  if (config.trainedBetas !== null) config.trainedBetas = checkTrainedBetas(name, config.trainedBetas, T);
  else if (config.betaSchedule !== 'cosine' && config.betaSchedule !== 'squaredcos_cap_v2') checkBetaRange(name, config);
  return config;
}

function checkBetaRange(name: string, { betaStart, betaEnd, betaSchedule }: Required<SchedulerOptions>): void {
  for (const [key, value] of [['betaStart', betaStart], ['betaEnd', betaEnd]] as const) {
    if (typeof value !== 'number' || !(value > 0 && value < 1)) {
      throw new Error(`${name}: ${key} must be a number in (0, 1), got ${show(value)}`);
    }
  }
  if (betaStart >= betaEnd) {
    throw new Error(`${name}: betaStart (${betaStart}) must be less than betaEnd (${betaEnd}) for betaSchedule '${betaSchedule}'`);
  }
}

function checkTrainedBetas(name: string, betas: ArrayLike<number>, T: number): Float64Array {
  if (typeof betas !== 'object' || typeof betas.length !== 'number') {
    throw new Error(`${name}: trainedBetas must be an array of numbers or null, got ${show(betas)}`);
  }
  if (betas.length !== T) {
    throw new Error(`${name}: trainedBetas has ${betas.length} values but numTrainTimesteps is ${T}`);
  }
  const copy = Float64Array.from(betas);
  copy.forEach((beta, t) => {
    if (!(beta > 0 && beta < 1)) throw new Error(`${name}: trainedBetas[${t}] must be in (0, 1), got ${show(betas[t])}`);
  });
  return copy;
}

/** Checks that `value` is one of `allowed`. */
export function choice<T extends string>(name: string, key: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new Error(`${name}: ${key} must be one of ${allowed.map((v) => `'${v}'`).join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

/** Checks that `value` is a boolean. */
export function flag(name: string, key: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Error(`${name}: ${key} must be true or false, got ${show(value)}`);
  return value;
}

function checkSeed(name: string, key: string, seed: unknown): void {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`${name}: ${key} must be a non-negative safe integer, got ${show(seed)}`);
  }
}

/** T-1, T-2, ..., 0. */
function descending(T: number): Int32Array {
  return Int32Array.from({ length: T }, (_, k) => T - 1 - k);
}

export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined) return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}
