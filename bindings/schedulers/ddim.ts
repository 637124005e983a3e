/**
 * The DDIM sampler (Song, Meng & Ermon 2021), after diffusers' DDIMScheduler: the non-Markovian update of eq. 12,
 *
 *   x_{t_prev} = sqrt(ab_{t_prev}) x0 + sqrt(1 - ab_{t_prev} - sigma_t²) eps + sigma_t z,
 *   sigma_t = eta · sqrt((1 - ab_{t_prev}) / (1 - ab_t)) · sqrt(1 - ab_t / ab_{t_prev})       (eq. 16)
 *
 * which samples a model trained with 1000 steps well in 25-100 (eta = 0: deterministic; eta = 1: DDPM-like).
 * `setTimesteps(n)` must be called first; as in diffusers, t_prev = t - floor(T / n) whatever the spacing, and
 * before the first timestep (t_prev < 0) ab_{t_prev} is 1 (setAlphaToOne) or ab_0.
 *
 *   const s = new DDIMScheduler({ numTrainTimesteps: 1000 });
 *   s.setTimesteps(50);
 *   for (const t of s.timesteps) x = s.step(model(x, t), t, x).prevSample;
 */
import { schedulerCombine, schedulerStep } from '../ops/scheduler.ts';
import type { Tensor } from '../tensor.ts';
import { NoiseScheduler, type SchedulerStepOutput, type StepNoiseOptions } from './base.ts';
import {
  flag, SCHEDULER_DEFAULTS, show, THRESHOLDING_DEFAULTS,
  type SchedulerOptions, type ThresholdingOptions, type ZeroSnrOptions,
} from './options.ts';

export interface DDIMSchedulerOptions extends SchedulerOptions, ThresholdingOptions, ZeroSnrOptions {
  /**
   * The ab_{t_prev} of the final step (whose t_prev is before timestep 0): true uses 1 (the final step returns
   * the predicted x0), false uses alphasCumprod[0]. Default true.
   */
  setAlphaToOne?: boolean;
}

/** The options of `DDIMScheduler.step`. */
export interface DDIMStepOptions extends StepNoiseOptions {
  /** The weight of the noise, eta >= 0 (eq. 16): 0 is deterministic DDIM, 1 matches DDPM's variance. Default 0. */
  eta?: number;
  /** Re-derive eps from the clipped x0 (as GLIDE does) instead of using the model's. Default false. */
  useClippedModelOutput?: boolean;
}

const DDIM_DEFAULTS: Required<DDIMSchedulerOptions> = {
  ...SCHEDULER_DEFAULTS, setAlphaToOne: true, ...THRESHOLDING_DEFAULTS, rescaleBetasZeroSnr: false,
};
const STEP_OPTIONS = ['eta', 'useClippedModelOutput', 'noise', 'seed'] as const;

export class DDIMScheduler extends NoiseScheduler<DDIMSchedulerOptions> {
  /** The options its `step` takes (a pipeline passes those it has). */
  readonly stepOptionNames: readonly string[] = STEP_OPTIONS;
  /** diffusers' DDIM step draws noise at every step when eta > 0. */
  override drawsNoise(_timestep: number, options: DDIMStepOptions = {}): boolean { return (options.eta ?? 0) > 0; }
  /** Every option with its default (diffusers' DDIMScheduler defaults). */
  static readonly defaults: Readonly<Required<DDIMSchedulerOptions>> = DDIM_DEFAULTS;
  /** ab before the first training timestep: 1 with setAlphaToOne, else alphasCumprod[0]. */
  readonly finalAlphaCumprod: number;

  /** A DDIM scheduler; every option is documented on `DDIMSchedulerOptions`. */
  constructor(options: DDIMSchedulerOptions = {}) {
    super('DDIMScheduler', options, DDIM_DEFAULTS);
    flag(this.name, 'setAlphaToOne', this.config.setAlphaToOne);
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0];
  }

  /** t_prev = t - floor(T / numInferenceSteps) (may be negative: then the final ab is used). */
  previousTimestep(timestep: number): number {
    return timestep - Math.floor(this.config.numTrainTimesteps / this.requireInferenceSteps(this.name));
  }

  /** sigma_t² / eta² of eq. 16 between t and t_prev (default: the previous timestep). */
  getVariance(timestep: number, prevTimestep = this.previousTimestep(timestep)): number {
    const t = this.checkTimestep(`${this.name}.getVariance`, timestep);
    if (!Number.isInteger(prevTimestep) || prevTimestep >= t) {
      throw new Error(`${this.name}.getVariance: prevTimestep must be an integer below timestep ${t}, got ${show(prevTimestep)}`);
    }
    const abT = this.alphasCumprod[t], abPrev = this.abAt(prevTimestep);
    return (1 - abPrev) / (1 - abT) * (1 - abT / abPrev);
  }

  /**
   * One DDIM step from x_t (`sample`) to x_{t_prev}, given the model output at t (the shape of `sample`):
   * returns the previous sample and the predicted x0. Noise is drawn (or taken from options) only when sigma_t > 0.
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: DDIMStepOptions = {}): SchedulerStepOutput {
    const op = `${this.name}.step`;
    this.checkStepOptions(op, options, STEP_OPTIONS);
    const { eta = 0, useClippedModelOutput = false } = options;
    if (typeof eta !== 'number' || !Number.isFinite(eta) || eta < 0) {
      throw new Error(`${op}: options.eta must be a finite number >= 0, got ${show(eta)}`);
    }
    flag(op, 'options.useClippedModelOutput', useClippedModelOutput);
    const t = this.checkTimestep(op, timestep);
    this.requireInferenceSteps(op);
    // 1. ab_t and ab_{t_prev}.
    const prevT = this.previousTimestep(t);
    const abT = this.alphasCumprod[t], abPrev = this.abAt(prevT);
    // 2. x0 from the model output (eq. 12's "predicted x0"), clipped; eps from the output, or from the clipped x0.
    const x0 = this.originalSampleCoefficients(abT);
    const eps = useClippedModelOutput ? null : this.epsilonCoefficients(abT);
    const sqrtOneMinusAb = Math.sqrt(1 - abT);
    // 3. sigma_t (eq. 16) and the direction pointing to x_t.
    const std = eta * Math.sqrt(this.getVariance(t, prevT));
    const direction = 1 - abPrev - std * std;
    if (direction < 0) {
      throw new Error(`${op}: eta ${eta} is too large at timestep ${t}: sigma_t² = ${std * std} exceeds 1 - ab_{t_prev} = ${1 - abPrev}`);
    }
    // 4. x_{t_prev} = sqrt(ab_{t_prev}) x0 + sqrt(1 - ab_{t_prev} - sigma_t²) eps + sigma_t z.
    const noise = std > 0 ? this.stepNoise(op, sample, t, options) : null;
    const k = {
      a: x0.onSample, b: x0.onOutput,
      c: eps ? eps.onSample : 1 / sqrtOneMinusAb, d: eps ? eps.onOutput : 0, e: eps ? 0 : -Math.sqrt(abT) / sqrtOneMinusAb,
      f: Math.sqrt(abPrev), g: 0, h: Math.sqrt(direction),
      sigma: std, clipRange: this.clipRange,
    };
    if (!this.config.thresholding) return schedulerStep(sample, modelOutput, k, noise);
    // Dynamic thresholding replaces the clip: x0 is thresholded, then the same update, expanded into one
    // combination: prev = (f + h e) x0 + h c sample + h d modelOutput + sigma z.
    const raw = schedulerCombine([[sample, k.a], [modelOutput, k.b]]);
    const predOriginalSample = this.threshold(raw);
    raw.dispose();
    const terms: [Tensor, number][] = [[predOriginalSample, k.f + k.h * k.e], [sample, k.h * k.c], [modelOutput, k.h * k.d]];
    if (noise) terms.push([noise, std]);
    return { prevSample: schedulerCombine(terms), predOriginalSample };
  }

  private abAt(t: number): number {
    return t >= 0 ? this.alphasCumprod[t] : this.finalAlphaCumprod;
  }

  private requireInferenceSteps(op: string): number {
    if (this.numInferenceSteps === null) {
      throw new Error(`${op}: the number of inference steps is not set: call setTimesteps(numInferenceSteps) first`);
    }
    return this.numInferenceSteps;
  }
}
