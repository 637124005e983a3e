/**
 * DDIM inversion (Song et al. 2021, section 4.3: DDIM's ODE run forward, from data to noise; Dhariwal & Nichol 2021,
 * appendix F), after diffusers' DDIMInverseScheduler: the deterministic DDIM update with the roles of t and t_prev
 * swapped, so that an image is mapped to the latent x_T from which DDIM sampling (eta = 0) with the same steps
 * draws it back. Its timesteps rise; at each `timestep` t the model is asked at t about the sample at the level
 * before it, t - T // n (the clean image before the first), and
 *
 *   x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps,   x0, eps from the model output at the level t - T // n
 *
 * (x0 clipped when clipSample; eps from the model output, not from the clipped x0). Evaluating the model at t
 * rather than at the sample's own level is diffusers' (and null-text inversion's) approximation; the round trip
 * is close, not exact, and closer with more steps.
 *
 *   const s = new DDIMInverseScheduler({ predictionType: 'v_prediction' });
 *   s.setTimesteps(50);
 *   for (const t of s.timesteps) x = s.step(model(x, t), t, x).prevSample;     (x: the image, then its latent)
 */
import { schedulerStep } from '../ops/scheduler.ts';
import type { Tensor } from '../tensor.ts';
import { NoiseScheduler, type SchedulerStepOutput } from './base.ts';
import { flag, SCHEDULER_DEFAULTS, type SchedulerOptions, type ZeroSnrOptions } from './options.ts';
import { spacedTimesteps } from './timesteps.ts';

export interface DDIMInverseSchedulerOptions extends SchedulerOptions, ZeroSnrOptions {
  /**
   * The ab of the clean image the first step starts from: true uses 1, false alphasCumprod[0] (DDIMScheduler's
   * setAlphaToOne, for the matching sampler). Default true.
   */
  setAlphaToOne?: boolean;
}

const DEFAULTS: Required<DDIMInverseSchedulerOptions> = { ...SCHEDULER_DEFAULTS, setAlphaToOne: true, rescaleBetasZeroSnr: false };
const STEP_OPTIONS: readonly string[] = [];

export class DDIMInverseScheduler extends NoiseScheduler<DDIMInverseSchedulerOptions> {
  /** The options its `step` takes: none (it is deterministic). */
  readonly stepOptionNames: readonly string[] = STEP_OPTIONS;
  /** Every option with its default (diffusers' DDIMInverseScheduler defaults). */
  static readonly defaults: Readonly<Required<DDIMInverseSchedulerOptions>> = DEFAULTS;
  /** ab of the sample before the first timestep: 1 with setAlphaToOne, else alphasCumprod[0]. */
  readonly initialAlphaCumprod: number;

  /** A DDIM inversion scheduler; every option is documented on `DDIMInverseSchedulerOptions`. */
  constructor(options: DDIMInverseSchedulerOptions = {}) {
    super('DDIMInverseScheduler', options, DEFAULTS);
    flag(this.name, 'setAlphaToOne', this.config.setAlphaToOne);
    if (this.config.timestepSpacing === 'linspace') {
      throw new Error(`${this.name}: timestepSpacing must be 'leading' or 'trailing' (diffusers' DDIMInverseScheduler has no 'linspace'), got 'linspace'`);
    }
    this.initialAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0];
    this.timesteps = this.timesteps.slice().reverse();
  }

  /**
   * The n timesteps of DDIM sampling with the same options, in rising order ('leading': 0, T // n, ...,
   * plus stepsOffset; 'trailing': ..., T - 1). For the few n where numpy's arange gives diffusers' 'trailing' one
   * timestep too many (a first timestep of -1), the n of DDIMScheduler are used.
   */
  override setTimesteps(numInferenceSteps: number): void {
    const op = `${this.name}.setTimesteps`;
    this.checkInferenceSteps(op, numInferenceSteps);
    const { timestepSpacing, stepsOffset, numTrainTimesteps: T } = this.config;
    this.timesteps = this.checkLargest(op, spacedTimesteps(timestepSpacing, T, numInferenceSteps, stepsOffset), numInferenceSteps).reverse();
    this.numInferenceSteps = numInferenceSteps;
  }

  /**
   * One inverse step: from the sample at the level before `timestep` (t - T // n) to the sample at `timestep`,
   * given the model output at `timestep`. Returns the new sample and the predicted x0.
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: Record<string, never> = {}): SchedulerStepOutput {
    const op = `${this.name}.step`;
    this.checkStepOptions(op, options, STEP_OPTIONS);
    const t = this.checkTimestep(op, timestep);
    // 1. The current level (t - T // n, at most T - 1) and the target level t.
    const abT = this.levelBefore(op, t).ab, abNext = this.alphasCumprod[t];
    if (abT === 1 && this.config.predictionType === 'sample') {
      throw new Error(`${op}: predictionType 'sample' cannot give eps from the clean image (ab = 1) the first step starts from: use setAlphaToOne false`);
    }
    // 2. x0 (clipped) and eps from the model output; 3. x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps.
    const x0 = this.originalSampleCoefficients(abT), eps = this.epsilonCoefficients(abT);
    return schedulerStep(sample, modelOutput, {
      a: x0.onSample, b: x0.onOutput, c: eps.onSample, d: eps.onOutput, e: 0,
      f: Math.sqrt(abNext), g: 0, h: Math.sqrt(1 - abNext), sigma: 0, clipRange: this.clipRange,
    });
  }

  /** ab of the sample the model sees at this timestep: the level before it (see `step`). */
  override alphaCumprodAt(timestep: number): number {
    const op = `${this.name}.alphaCumprodAt`;
    const t = this.checkTimestep(op, timestep);
    return this.levelBefore(op, t).ab;
  }

  /** The level a step to `t` starts from: t - T // n (at most T - 1), and its ab (initialAlphaCumprod before 0). */
  private levelBefore(op: string, t: number): { level: number; ab: number } {
    if (this.numInferenceSteps === null) throw new Error(`${op}: the number of inference steps is not set: call setTimesteps(numInferenceSteps) first`);
    const T = this.config.numTrainTimesteps;
    const level = Math.min(t - Math.floor(T / this.numInferenceSteps), T - 1);
    return { level, ab: level >= 0 ? this.alphasCumprod[level] : this.initialAlphaCumprod };
  }
}
