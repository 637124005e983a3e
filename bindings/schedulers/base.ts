/**
 * What every scheduler shares, after diffusers' common scheduler config: the schedule (betas, alphas,
 * alphasCumprod, optionally rescaled to zero terminal SNR), forward noising (`addNoise`, `getVelocity`), the
 * conversion of a model output into x0 and eps for each predictionType, dynamic thresholding, where sampler noise
 * comes from, and `fromConfig`. Schedulers know nothing of the model: they map tensors and timesteps to tensors.
 *
 * Timesteps are 0-indexed: t = 0 .. T-1, alphasCumprod[t] = alphas[0] · ... · alphas[t] (T = numTrainTimesteps).
 * Coefficients are float64, computed with + - * / and Math.sqrt (exp, log, pow from the WebAssembly core), so they
 * are the same bits everywhere.
 */
import { randn } from '../ops/random.ts';
import { schedulerAddNoise, schedulerThreshold } from '../ops/scheduler.ts';
import { tensorArg, sameShape } from '../ops/check.ts';
import { STREAMS } from '../random-streams.ts';
import type { Tensor } from '../tensor.ts';
import { betasFor, cumprod, rescaleZeroTerminalSnr } from './betas.ts';
import {
  checkSeed, configFrom, resolveOptions, show, type BaseSchedulerOptions, type ThresholdingOptions, type ZeroSnrOptions,
} from './options.ts';
import { spacedTimesteps } from './timesteps.ts';

export {
  choice, flag, PREDICTION_TYPES, SCHEDULER_DEFAULTS, show,
  type BaseSchedulerOptions, type PredictionType, type SchedulerOptions,
} from './options.ts';

/** The options of `step` that every scheduler takes. */
export interface StepNoiseOptions {
  /** The noise z of the step (the shape of `sample`), for the stochastic ones; drawn from the seed when absent. */
  noise?: Tensor;
  /** The seed to draw the noise from, for this call; defaults to the scheduler's `seed` option. */
  seed?: number;
}

/** What `step` returns (diffusers' SchedulerOutput). */
export interface SchedulerStepOutput {
  /** x_{t_prev}: the input of the next step. */
  prevSample: Tensor;
  /** The predicted clean sample x0 (after clipping or thresholding), for previews or guidance. */
  predOriginalSample: Tensor;
}

/**
 * Sampler noise addressing. When `step` draws its noise z itself, z is `randn(sample.shape, { seed, stream:
 * STREAMS.samplerNoise, offset: b · SAMPLER_NOISE_STRIDE })`: one fixed stream, one disjoint block of 2^36
 * numbers per step, and item n of the batch takes numbers n·M .. (n+1)·M - 1 of its block (M elements per
 * item). So a run is reproducible from its seed alone, and what one batch item gets does not depend on the
 * batch size: sampling 1 image or 16 with the same seed gives the same first image. The block b is the timestep
 * t for DDPM and DDIM, and the step's index in `timesteps` for the schedulers whose timesteps may be fractional
 * or repeat (Euler ancestral, the SDE variant of DPM-Solver).
 */
export const SAMPLER_NOISE_STRIDE = 2 ** 36;

/** The float64 coefficients of x0 = a·sample + b·modelOutput, or of eps = c·sample + d·modelOutput. */
export interface Linear { onSample: number; onOutput: number }

/** A scheduler class, as `fromConfig` sees it. */
interface SchedulerClass<S> {
  new (options: never): S;
  readonly name: string;
  /** Every option of the class with its default (its keys say which options the class takes). */
  readonly defaults: object;
}

type CommonOptions = Required<BaseSchedulerOptions & ThresholdingOptions & ZeroSnrOptions>;

export abstract class NoiseScheduler<Options extends BaseSchedulerOptions> {
  /** The options its `step` takes (see each scheduler's step). */
  abstract readonly stepOptionNames: readonly string[];

  /**
   * How many entries of `timesteps` make one step (diffusers' `order`): 2 for Heun, whose steps evaluate the model
   * twice; 1 otherwise. img2img starts at entry order · t_start.
   */
  get order(): number { return 1; }

  /** The number of sampling steps a pipeline takes when none is asked for: min(50, numTrainTimesteps). */
  get defaultInferenceSteps(): number { return Math.min(50, this.common.numTrainTimesteps); }

  /** The resolved options, defaults filled in. */
  readonly config: Readonly<Required<Options>>;
  /** `config` seen as the options several schedulers have (thresholding and zero SNR may be absent). */
  protected readonly common: Readonly<Partial<CommonOptions> & Required<BaseSchedulerOptions>>;
  /** beta_t for t = 0 .. T-1 (do not modify). */
  readonly betas: Float64Array;
  /** alpha_t = 1 - beta_t. */
  readonly alphas: Float64Array;
  /** ab_t = alpha_0 · ... · alpha_t, the running product. */
  readonly alphasCumprod: Float64Array;
  /** The timesteps a sampler visits, in order: T-1 .. 0 until `setTimesteps` chooses fewer. */
  timesteps: Int32Array | Float32Array;
  /** The number of inference steps `setTimesteps` was called with, or null. */
  numInferenceSteps: number | null = null;

  /**
   * Rebuilds a scheduler from a stored config (diffusers' `from_config`), e.g. a model file's: options of this
   * class are used, options of the library's other schedulers ignored (a DDIM config's setAlphaToOne read by
   * DDPMScheduler), and a key no scheduler knows is an error naming the nearest known one. Missing options take
   * this class's defaults. `overrides` win over the stored values.
   */
  static fromConfig<S>(this: SchedulerClass<S>, config: object, overrides: object = {}): S {
    return new this(configFrom(this.name, config, this.defaults, overrides) as never);
  }

  protected constructor(protected readonly name: string, options: Options, defaults: Required<Options>) {
    this.config = Object.freeze(resolveOptions(name, options, defaults));
    this.common = this.config as unknown as NoiseScheduler<Options>['common'];
    const { numTrainTimesteps: T, betaSchedule, betaStart, betaEnd, trainedBetas } = this.common;
    const betas = trainedBetas !== null ? Float64Array.from(trainedBetas) : betasFor(betaSchedule, T, betaStart, betaEnd);
    this.betas = this.common.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(betas) : betas;
    this.alphas = this.betas.map((beta) => 1 - beta);
    this.alphasCumprod = cumprod(this.alphas);
    this.timesteps = Int32Array.from({ length: T }, (_, k) => T - 1 - k);
  }

  /**
   * Whether `step` takes a model output with the variance's channels after the prediction's ([N, 2C, ...] for a
   * sample [N, C, ...]): DDPMScheduler with a learned varianceType. False for every other scheduler.
   */
  get predictsVariance(): boolean {
    return false;
  }

  /** The standard deviation of the initial noise x_T (diffusers' init_noise_sigma): 1 unless a scheduler says otherwise. */
  get initNoiseSigma(): number {
    return 1;
  }

  /**
   * Chooses the `numInferenceSteps` timesteps (at most numTrainTimesteps) that sampling visits, spaced by the
   * timestepSpacing option; `timesteps` then holds them, decreasing.
   */
  setTimesteps(numInferenceSteps: number): void {
    const op = `${this.name}.setTimesteps`;
    this.checkInferenceSteps(op, numInferenceSteps);
    const { timestepSpacing, stepsOffset, numTrainTimesteps: T } = this.common;
    this.timesteps = this.checkLargest(op, spacedTimesteps(timestepSpacing, T, numInferenceSteps, stepsOffset), numInferenceSteps);
    this.numInferenceSteps = numInferenceSteps;
  }

  /** Forgets what a multistep scheduler remembers of earlier steps (and frees it); nothing for single-step ones. */
  reset(): void {}

  /**
   * The forward process q(x_t | x0) (Ho et al. 2020, eq. 4): sqrt(ab_t)·x0 + sqrt(1 - ab_t)·noise, with one
   * training timestep per batch item (the first dimension of x0). `noise` has the shape of x0.
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
   * ab of the sample the model sees at this (inference) timestep: alphasCumprod[t] here; the sigma-based
   * schedulers answer from the sigma of their current step.
   */
  alphaCumprodAt(timestep: number): number {
    return this.alphasCumprod[this.checkTimestep(`${this.name}.alphaCumprodAt`, timestep)];
  }

  /** The training timestep the model is asked at, for an inference timestep: the same integer here. */
  modelTimestep(timestep: number): number {
    return this.checkTimestep(`${this.name}.modelTimestep`, timestep);
  }

  /**
   * d(model output) / d(eps) at this timestep, the model's input held fixed: 1 for epsilon, 1/sqrt(ab_t) for
   * v_prediction, -sqrt(1 - ab_t)/sqrt(ab_t) for sample. Guidance written as a shift of eps (classifier
   * guidance) shifts the model output by this many times as much, whatever the model predicts.
   */
  outputPerEpsilon(timestep: number): number {
    return 1 / this.epsilonCoefficients(this.alphaCumprodAt(timestep)).onOutput;
  }

  /** The model input at this timestep (diffusers' interface): `sample` itself unless a scheduler scales it. */
  scaleModelInput(sample: Tensor, _timestep?: number): Tensor {
    return sample;
  }

  /** x0 = a·sample + b·modelOutput at ab_t, for the scheduler's predictionType. */
  protected originalSampleCoefficients(ab: number): Linear {
    const sqrtAb = Math.sqrt(ab), sqrtOneMinusAb = Math.sqrt(1 - ab);
    switch (this.common.predictionType) {
      case 'epsilon':
        if (ab === 0) {
          throw new Error(`${this.name}.step: predictionType 'epsilon' cannot give x0 where alphasCumprod is 0 ` +
            `(the last timestep under rescaleBetasZeroSnr): use 'v_prediction' or 'sample'`);
        }
        return { onSample: 1 / sqrtAb, onOutput: -sqrtOneMinusAb / sqrtAb };
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
    const { clipSample, clipSampleRange } = this.config as unknown as { clipSample?: boolean; clipSampleRange?: number };
    return clipSample && clipSampleRange !== undefined ? clipSampleRange : Infinity;
  }

  /** Dynamic thresholding of a predicted x0 (see ThresholdingOptions): a new tensor. */
  protected threshold(x0: Tensor): Tensor {
    return schedulerThreshold(x0, this.common.dynamicThresholdingRatio!, this.common.sampleMaxValue!).sample;
  }

  /** Checks a number of inference steps: an integer in [1, numTrainTimesteps]. */
  protected checkInferenceSteps(op: string, numInferenceSteps: unknown): number {
    const T = this.common.numTrainTimesteps;
    if (typeof numInferenceSteps !== 'number' || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1) {
      throw new Error(`${op}: numInferenceSteps must be an integer >= 1, got ${show(numInferenceSteps)}`);
    }
    if (numInferenceSteps > T) {
      throw new Error(`${op}: numInferenceSteps (${numInferenceSteps}) cannot be larger than numTrainTimesteps (${T}): ` +
        `the model was trained with ${T} timesteps`);
    }
    return numInferenceSteps;
  }

  /** Checks that stepsOffset did not push the first timestep past the last training timestep. */
  protected checkLargest<A extends Int32Array | Float32Array>(op: string, timesteps: A, numInferenceSteps: number): A {
    const T = this.common.numTrainTimesteps, largest = timesteps[0];
    if (largest >= T) {
      throw new Error(`${op}: stepsOffset ${this.common.stepsOffset} with numInferenceSteps ${numInferenceSteps} gives timestep ${largest}, ` +
        `beyond the last training timestep ${T - 1} (numTrainTimesteps ${T})`);
    }
    return timesteps;
  }

  /** Checks that `t` is a training timestep. */
  protected checkTimestep(op: string, t: unknown): number {
    const T = this.common.numTrainTimesteps;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= T) {
      throw new Error(`${op}: timestep must be an integer in [0, ${T - 1}] (numTrainTimesteps ${T}), got ${show(t)}`);
    }
    return t;
  }

  /**
   * Whether diffusers' `step` draws noise from its generator at this timestep (with these step options), whether
   * or not the noise then counts. A replay of a diffusers run with PyTorch's generator (pipelines/noise.ts) draws
   * exactly where diffusers does, so that the generator stays in step. Deterministic schedulers: never.
   */
  drawsNoise(_timestep: number, _options: object = {}): boolean {
    return false;
  }

  /**
   * The index, in a larger run, of the first sample of the batch being stepped (a pipeline's `firstSample`):
   * its noise is then that of samples firstSample, firstSample + 1, ..., so that a run sampled in batches gets
   * the same noise as one batch. Default 0.
   */
  firstSample = 0;

  /**
   * The step's noise in noise block `block` of `stream` (default STREAMS.samplerNoise): the given tensor, or drawn
   * from the seed (see SAMPLER_NOISE_STRIDE), from the numbers of sample `firstSample` on.
   */
  protected stepNoise(op: string, sample: Tensor, block: number, options: StepNoiseOptions, stream: number = STREAMS.samplerNoise): Tensor {
    if (options.noise !== undefined) {
      sameShape(op, 'sample', sample.shape, 'options.noise', tensorArg(op, 'options.noise', options.noise));
      return options.noise;
    }
    const seed = options.seed ?? this.common.seed;
    const first = this.firstSample * (sample.size / sample.shape[0]);
    return randn(sample.shape, { seed, stream, offset: block * SAMPLER_NOISE_STRIDE + first });
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
