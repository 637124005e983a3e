/**
 * Euler's method on the diffusion ODE (Karras et al. 2022, Algorithm 2 with its optional "churn"), after
 * diffusers' EulerDiscreteScheduler. In the VE view x = x0 + sigma eps, with x0 predicted at sigma:
 *
 *   gamma = min(sChurn / N, sqrt(2) - 1) for sigma in [sTmin, sTmax], else 0; sigma_hat = sigma (1 + gamma)
 *   x_hat = x + sqrt(sigma_hat² - sigma²) · sNoise · z          (only when gamma > 0: adds noise, eq. 6 of Alg. 2)
 *   d = (x_hat - x0) / sigma_hat,   x_next = x_hat + (sigma_next - sigma_hat) · d           (Euler step, eq. 3)
 *
 * One `schedulerStep` computes x0 and x_next together, in float64. Start from initNoiseSigma · N(0, I) and feed
 * the model scaleModelInput(x, t).
 */
import { schedulerCombine, schedulerStep } from '../ops/scheduler.ts';
import type { Tensor } from '../tensor.ts';
import type { SchedulerStepOutput, StepNoiseOptions } from './base.ts';
import { DiscreteSigmaScheduler } from './discrete.ts';
import { BASE_DEFAULTS, show, type BaseSchedulerOptions, type ZeroSnrOptions } from './options.ts';

export interface EulerDiscreteSchedulerOptions extends BaseSchedulerOptions, ZeroSnrOptions {
  /** Karras et al.'s noise levels (rho = 7) between the first and last sigma of the spacing. Default false. */
  useKarrasSigmas?: boolean;
}

/** The options of `EulerDiscreteScheduler.step` (Karras et al.'s stochastic sampler; all off by default). */
export interface EulerStepOptions extends StepNoiseOptions {
  /** The churn S_churn >= 0: how much noise to add back at each step. Default 0 (the plain ODE step). */
  sChurn?: number;
  /** Churn only at sigma >= sTmin. Default 0. */
  sTmin?: number;
  /** Churn only at sigma <= sTmax. Default Infinity. */
  sTmax?: number;
  /** The scale S_noise of the churn's noise. Default 1. */
  sNoise?: number;
}

const DEFAULTS: Required<EulerDiscreteSchedulerOptions> = {
  ...BASE_DEFAULTS, timestepSpacing: 'linspace', useKarrasSigmas: false, rescaleBetasZeroSnr: false,
};
const STEP_OPTIONS = ['sChurn', 'sTmin', 'sTmax', 'sNoise', 'noise', 'seed'] as const;

export class EulerDiscreteScheduler extends DiscreteSigmaScheduler<EulerDiscreteSchedulerOptions> {
  /** The options its `step` takes (a pipeline passes those it has). */
  readonly stepOptionNames: readonly string[] = STEP_OPTIONS;
  /** diffusers' Euler step draws noise at every step (it counts only with churn). */
  override drawsNoise(): boolean { return true; }
  /** Every option with its default (diffusers' EulerDiscreteScheduler defaults). */
  static readonly defaults: Readonly<Required<EulerDiscreteSchedulerOptions>> = DEFAULTS;

  /** An Euler scheduler; every option is documented on `EulerDiscreteSchedulerOptions`. */
  constructor(options: EulerDiscreteSchedulerOptions = {}) {
    super('EulerDiscreteScheduler', options, DEFAULTS);
  }

  /** Chooses the timesteps (float32) and their sigmas, ending at 0. */
  override setTimesteps(numInferenceSteps: number): void {
    const op = `${this.name}.setTimesteps`;
    const n = this.checkInferenceSteps(op, numInferenceSteps);
    const { timesteps, sigmas } = this.discreteSchedule(op, n, this.config.useKarrasSigmas);
    this.install(n, timesteps, Float64Array.of(...sigmas, 0));
  }

  /** One Euler step from `sample` at this timestep to the next (steps follow `timesteps` in order). */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: EulerStepOptions = {}): SchedulerStepOutput {
    const op = `${this.name}.step`;
    this.checkStepOptions(op, options, STEP_OPTIONS);
    const { sChurn = 0, sTmin = 0, sTmax = Infinity, sNoise = 1 } = options;
    for (const [key, value] of [['sChurn', sChurn], ['sTmin', sTmin], ['sNoise', sNoise]] as const) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`${op}: options.${key} must be a finite number >= 0, got ${show(value)}`);
    }
    if (typeof sTmax !== 'number' || Number.isNaN(sTmax)) throw new Error(`${op}: options.sTmax must be a number, got ${show(sTmax)}`);
    const k = this.beginStep(op, modelOutput, timestep, sample);
    // 1. Churn: raise the noise level to sigma_hat by adding fresh noise.
    const sigma = this.sigmas[k];
    const gamma = sTmin <= sigma && sigma <= sTmax ? Math.min(sChurn / (this.sigmas.length - 1), Math.SQRT2 - 1) : 0;
    const sigmaHat = sigma * (gamma + 1);
    const x = gamma > 0
      ? schedulerCombine([[sample, 1], [this.stepNoise(op, sample, k, options), sNoise * Math.sqrt(sigmaHat * sigmaHat - sigma * sigma)]])
      : sample;
    // 2. x0 at sigma_hat (v_prediction reads sigma, as diffusers does), then the Euler step to the next sigma:
    //    x_next = x + (x - x0) / sigma_hat · dt = (1 + dt / sigma_hat) x - (dt / sigma_hat) x0.
    const x0 = this.discreteX0(this.config.predictionType === 'v_prediction' ? sigma : sigmaHat);
    const dt = this.sigmas[k + 1] - sigmaHat;
    const out = schedulerStep(x, modelOutput, {
      a: x0.onSample, b: x0.onOutput, c: 0, d: 0, e: 0, f: -dt / sigmaHat, g: 1 + dt / sigmaHat, h: 0, sigma: 0, clipRange: Infinity,
    });
    if (x !== sample) x.dispose();
    this.stepIndex = k + 1;
    return out;
  }
}
