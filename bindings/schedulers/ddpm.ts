/**
 * The DDPM sampler (Ho et al. 2020), after diffusers' DDPMScheduler: ancestral sampling from the posterior
 * q(x_{t_prev} | x_t, x0) with x0 predicted by the model.
 *
 *   const s = new DDPMScheduler({ numTrainTimesteps: 1000, betaSchedule: 'linear' });
 *   let x = ops.randn([n, 3, 32, 32], { seed });
 *   for (const t of s.timesteps) x = s.step(model(x, t), t, x).prevSample;     (inside tidy, disposing as you go)
 *
 * With all T timesteps t_prev = t - 1; after `setTimesteps(n)` the sampler strides over n of them, and each step
 * uses the effective alpha_t = ab_t / ab_{t_prev} (diffusers' strided DDPM).
 *
 * A model that learns its variance (Nichol & Dhariwal 2021; varianceType 'learned_range' or 'learned') outputs
 * 2C channels for a sample of C: the first C are its usual prediction, the last C the variance's v. Strided
 * sampling respaces the variance as improved-diffusion's SpacedDiffusion does: 'learned_range' interpolates
 * between the log-variances of the strided step, log beta~ and log beta with beta = 1 - ab_t / ab_{t_prev}.
 */
import { concatChannelsBackward } from '../ops/elementwise.ts';
import { learnedRangeLogVariance, varianceNoise } from '../ops/learned-variance.ts';
import { log } from '../ops/math.ts';
import { schedulerCombine, schedulerStep } from '../ops/scheduler.ts';
import { fmt, tensorArg } from '../ops/check.ts';
import type { Tensor } from '../tensor.ts';
import { NoiseScheduler, type SchedulerStepOutput, type StepNoiseOptions } from './base.ts';
import {
  choice, configFrom, resolveOptions, SCHEDULER_DEFAULTS, show, THRESHOLDING_DEFAULTS,
  type SchedulerOptions, type ThresholdingOptions, type ZeroSnrOptions,
} from './options.ts';

/**
 * The variance of each step's noise: `'fixed_small'` the posterior variance
 * beta~_t = (1 - ab_{t_prev}) / (1 - ab_t) · beta_t, clamped below at 1e-20 as diffusers does (the lower bound of
 * Ho et al.); `'fixed_large'` beta_t itself (the upper bound); the model's own (improved DDPM, Nichol & Dhariwal
 * 2021): `'learned_range'` log sigma² = frac · log beta_t + (1 - frac) · log beta~_t with frac = (v + 1) / 2 for the
 * model's variance output v (diffusers' and improved-diffusion's arithmetic), `'learned'` log sigma² = v
 * (improved-diffusion's LEARNED; diffusers' DDPMScheduler reads a 'learned' output as the variance itself).
 */
export type VarianceType = 'fixed_small' | 'fixed_large' | 'learned_range' | 'learned';

export const VARIANCE_TYPES: readonly VarianceType[] = ['fixed_small', 'fixed_large', 'learned_range', 'learned'];

/** Whether a variance type is the model's own (its output then has twice the sample's channels). */
export const isLearnedVariance = (type: string | undefined): boolean => type === 'learned_range' || type === 'learned';

export interface DDPMSchedulerOptions extends SchedulerOptions, ThresholdingOptions, ZeroSnrOptions {
  /** The variance of the noise added at each step (see `VarianceType`). Default `'fixed_small'`. */
  varianceType?: VarianceType;
}

/** The options of `DDPMScheduler.step`: the noise z, or the seed to draw it from. */
export type DDPMStepOptions = StepNoiseOptions;

const DDPM_DEFAULTS: Required<DDPMSchedulerOptions> = {
  ...SCHEDULER_DEFAULTS, varianceType: 'fixed_small', ...THRESHOLDING_DEFAULTS, rescaleBetasZeroSnr: false,
};
const STEP_OPTIONS = ['noise', 'seed'] as const;

/**
 * Checks a stored scheduler config as `DDPMScheduler.fromConfig` does (the same one-line errors), without building
 * the scheduler: what a model file's metadata is checked with, so that reading a model loads no DDPM sampling code.
 */
export function checkDDPMConfig(stored: object): void {
  const config = resolveOptions('DDPMScheduler', configFrom('DDPMScheduler', stored, DDPM_DEFAULTS) as DDPMSchedulerOptions, DDPM_DEFAULTS);
  choice('DDPMScheduler', 'varianceType', config.varianceType, VARIANCE_TYPES);
}

export class DDPMScheduler extends NoiseScheduler<DDPMSchedulerOptions> {
  /** The options its `step` takes (a pipeline passes those it has). */
  readonly stepOptionNames: readonly string[] = STEP_OPTIONS;
  /** diffusers' DDPM step draws its variance noise for every t > 0. */
  override drawsNoise(timestep: number): boolean { return timestep > 0; }
  /** DDPM samples with every training timestep by default (Ho et al.'s ancestral sampling). */
  override get defaultInferenceSteps(): number { return this.common.numTrainTimesteps; }
  /** Every option with its default (diffusers' DDPMScheduler defaults). */
  static readonly defaults: Readonly<Required<DDPMSchedulerOptions>> = DDPM_DEFAULTS;
  /** Index of each inference timestep in `timesteps`, after setTimesteps. */
  private indexOf: Map<number, number> | null = null;

  /** A DDPM scheduler; every option is documented on `DDPMSchedulerOptions`. */
  constructor(options: DDPMSchedulerOptions = {}) {
    super('DDPMScheduler', options, DDPM_DEFAULTS);
    choice(this.name, 'varianceType', this.config.varianceType, VARIANCE_TYPES);
  }

  override setTimesteps(numInferenceSteps: number): void {
    super.setTimesteps(numInferenceSteps);
    this.indexOf = new Map();
    this.timesteps.forEach((t, k) => { if (!this.indexOf!.has(t)) this.indexOf!.set(t, k); });
  }

  /**
   * The timestep after t in the sampling order: t - 1 with all T timesteps, else the next of `timesteps`;
   * -1 after the last one.
   */
  previousTimestep(timestep: number): number {
    if (this.indexOf === null) return timestep - 1;
    const k = this.indexOf.get(timestep);
    if (k === undefined) {
      throw new Error(`${this.name}: timestep ${show(timestep)} is not one of the ${this.timesteps.length} timesteps ` +
        `chosen by setTimesteps(${this.numInferenceSteps}) (${this.timesteps[0]} .. ${this.timesteps[this.timesteps.length - 1]})`);
    }
    return k + 1 < this.timesteps.length ? this.timesteps[k + 1] : -1;
  }

  /** Whether the model predicts the variance (a learned varianceType): its output then has 2C channels. */
  override get predictsVariance(): boolean {
    return isLearnedVariance(this.config.varianceType);
  }

  /** The variance of the noise `step` adds at timestep t (see `VarianceType`); a learned one is the model's. */
  getVariance(timestep: number): number {
    const op = `${this.name}.getVariance`;
    const t = this.checkTimestep(op, timestep);
    if (this.predictsVariance) throw new Error(`${op}: with varianceType '${this.config.varianceType}' the variance is the model's output (see learnedLogVariance)`);
    return this.posterior(t).variance;
  }

  /**
   * The bounds of the learned range at timestep t (of the strided step after setTimesteps): minLog = log beta~_t
   * (clamped at 1e-20, as diffusers does) and maxLog = log beta_t.
   */
  logVarianceBounds(timestep: number): { minLog: number; maxLog: number } {
    const t = this.checkTimestep(`${this.name}.logVarianceBounds`, timestep);
    const { smallVariance, largeVariance } = this.posterior(t);
    return { minLog: log(smallVariance), maxLog: log(largeVariance) };
  }

  /** log sigma² of every element from the model's variance output v [N, C, ...] at timestep t (see `VarianceType`). */
  learnedLogVariance(v: Tensor, timestep: number): Tensor {
    const { minLog, maxLog } = this.logVarianceBounds(timestep);
    const N = v.shape[0];
    return this.config.varianceType === 'learned' ? v.clone() : learnedRangeLogVariance(v, new Array(N).fill(minLog), new Array(N).fill(maxLog));
  }

  /**
   * One reverse step from x_t (`sample`) to x_{t_prev}, given the model output at t (the shape of `sample`):
   * returns the previous sample and the predicted x0. No noise is added at t = 0.
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: DDPMStepOptions = {}): SchedulerStepOutput {
    const op = `${this.name}.step`;
    this.checkStepOptions(op, options, STEP_OPTIONS);
    const t = this.checkTimestep(op, timestep);
    if (this.predictsVariance) return this.learnedStep(op, modelOutput, t, sample, options);
    const { abT, x0Coefficient, sampleCoefficient, variance } = this.posterior(t);
    // 1. x0 from the model output (eq. 15 for epsilon), clipped to [-clipSampleRange, clipSampleRange] or
    //    dynamically thresholded.
    const x0 = this.originalSampleCoefficients(abT);
    // 2. The posterior mean mu~_t(x_t, x0) (eq. 7), plus sigma_t z for t > 0.
    const noise = t > 0 ? this.stepNoise(op, sample, t, options) : null;
    const sigma = t > 0 ? Math.sqrt(variance) : 0;
    if (this.config.thresholding) {
      const raw = schedulerCombine([[sample, x0.onSample], [modelOutput, x0.onOutput]]);
      const predOriginalSample = this.threshold(raw);
      raw.dispose();
      const terms: [Tensor, number][] = [[predOriginalSample, x0Coefficient], [sample, sampleCoefficient]];
      if (noise) terms.push([noise, sigma]);
      return { prevSample: schedulerCombine(terms), predOriginalSample };
    }
    return schedulerStep(sample, modelOutput, {
      a: x0.onSample, b: x0.onOutput, c: 0, d: 0, e: 0,
      f: x0Coefficient, g: sampleCoefficient, h: 0,
      sigma, clipRange: this.clipRange,
    }, noise);
  }

  /**
   * The step of a model that predicts its variance: modelOutput [N, 2C, ...] is split into the prediction and v;
   * the mean is the fixed-variance step's, and the noise is exp(0.5 · log sigma²) z, element by element.
   */
  private learnedStep(op: string, modelOutput: Tensor, t: number, sample: Tensor, options: DDPMStepOptions): SchedulerStepOutput {
    const shape = tensorArg(op, 'sample', sample);
    const out = tensorArg(op, 'modelOutput', modelOutput);
    const expected = [shape[0], 2 * shape[1], ...shape.slice(2)];
    if (shape.length < 2 || out.length !== expected.length || out.some((d, i) => d !== expected[i])) {
      throw new Error(`${op}: with varianceType '${this.config.varianceType}' the model predicts its variance, so modelOutput must be ` +
        `${fmt(expected)} (the prediction, then v, for sample ${fmt(shape)}), got ${fmt(out)}`);
    }
    const { da: prediction, db: v } = concatChannelsBackward(modelOutput, shape[1]);
    const { abT, x0Coefficient, sampleCoefficient } = this.posterior(t);
    const x0 = this.originalSampleCoefficients(abT);
    let predOriginalSample: Tensor, mean: Tensor;
    if (this.config.thresholding) {
      const raw = schedulerCombine([[sample, x0.onSample], [prediction, x0.onOutput]]);
      predOriginalSample = this.threshold(raw);
      raw.dispose();
      mean = schedulerCombine([[predOriginalSample, x0Coefficient], [sample, sampleCoefficient]]);
    } else {
      ({ prevSample: mean, predOriginalSample } = schedulerStep(sample, prediction, {
        a: x0.onSample, b: x0.onOutput, c: 0, d: 0, e: 0, f: x0Coefficient, g: sampleCoefficient, h: 0, sigma: 0, clipRange: this.clipRange,
      }));
    }
    prediction.dispose();
    if (t === 0) {
      v.dispose();
      return { prevSample: mean, predOriginalSample };
    }
    const noise = this.stepNoise(op, sample, t, options);
    const logVariance = this.learnedLogVariance(v, t);
    const prevSample = varianceNoise(mean, logVariance, noise);
    for (const done of [v, logVariance, mean]) done.dispose();
    if (noise !== options.noise) noise.dispose();
    return { prevSample, predOriginalSample };
  }

  /** The posterior q(x_{t_prev} | x_t, x0) at t: mean coefficients (eq. 7) and the step's variance. */
  private posterior(t: number) {
    const prevT = this.previousTimestep(t);
    const abT = this.alphasCumprod[t];
    const abPrev = prevT >= 0 ? this.alphasCumprod[prevT] : 1;
    const betaProdT = 1 - abT, betaProdPrev = 1 - abPrev;
    const currentAlpha = abT / abPrev;
    const currentBeta = 1 - currentAlpha;
    const x0Coefficient = Math.sqrt(abPrev) * currentBeta / betaProdT;
    const sampleCoefficient = Math.sqrt(currentAlpha) * betaProdPrev / betaProdT;
    const smallVariance = Math.max(betaProdPrev / betaProdT * currentBeta, 1e-20);
    const variance = this.config.varianceType === 'fixed_large' ? currentBeta : smallVariance;
    return { abT, x0Coefficient, sampleCoefficient, variance, smallVariance, largeVariance: currentBeta };
  }
}
