/**
 * Ancestral sampling with Euler steps (Karras et al. 2022's reading of Ho et al.'s sampler in sigma; k-diffusion's
 * sample_euler_ancestral), after diffusers' EulerAncestralDiscreteScheduler. From sigma to sigma_next, the step
 * splits the way down into a deterministic part to sigma_down and fresh noise of sigma_up:
 *
 *   sigma_up = sqrt(sigma_next² (sigma² - sigma_next²) / sigma²),   sigma_down = sqrt(sigma_next² - sigma_up²)
 *   x_next = x + (x - x0) / sigma · (sigma_down - sigma) + sigma_up · z
 *
 * One `schedulerStep` computes x0 and x_next. The noise z is drawn from (seed, STREAMS.samplerNoise) in the block
 * of the step's index (see SAMPLER_NOISE_STRIDE), so a sample does not depend on the batch size.
 */
import { schedulerStep } from '../ops/scheduler.ts';
import type { Tensor } from '../tensor.ts';
import type { SchedulerStepOutput, StepNoiseOptions } from './base.ts';
import { DiscreteSigmaScheduler } from './discrete.ts';
import { BASE_DEFAULTS, type BaseSchedulerOptions, type ZeroSnrOptions } from './options.ts';

export type EulerAncestralDiscreteSchedulerOptions = BaseSchedulerOptions & ZeroSnrOptions;

/** The options of `step`: the noise z, or the seed to draw it from. */
export type EulerAncestralStepOptions = StepNoiseOptions;

const DEFAULTS: Required<EulerAncestralDiscreteSchedulerOptions> = {
  ...BASE_DEFAULTS, timestepSpacing: 'linspace', rescaleBetasZeroSnr: false,
};
const STEP_OPTIONS = ['noise', 'seed'] as const;

export class EulerAncestralDiscreteScheduler extends DiscreteSigmaScheduler<EulerAncestralDiscreteSchedulerOptions> {
  /** The options its `step` takes (a pipeline passes those it has). */
  readonly stepOptionNames: readonly string[] = STEP_OPTIONS;
  /** diffusers' Euler ancestral step draws noise at every step. */
  override drawsNoise(): boolean { return true; }
  /**
   * Every option with its default (diffusers' EulerAncestralDiscreteScheduler defaults). predictionType 'sample'
   * is supported here (x0 is the output), where diffusers v0.27.2 raises NotImplementedError.
   */
  static readonly defaults: Readonly<Required<EulerAncestralDiscreteSchedulerOptions>> = DEFAULTS;

  /** An Euler ancestral scheduler; every option is documented on `EulerAncestralDiscreteSchedulerOptions`. */
  constructor(options: EulerAncestralDiscreteSchedulerOptions = {}) {
    super('EulerAncestralDiscreteScheduler', options, DEFAULTS);
  }

  /** Chooses the timesteps (float32) and their sigmas, ending at 0. */
  override setTimesteps(numInferenceSteps: number): void {
    const op = `${this.name}.setTimesteps`;
    const n = this.checkInferenceSteps(op, numInferenceSteps);
    const { timesteps, sigmas } = this.discreteSchedule(op, n, false);
    this.install(n, timesteps, Float64Array.of(...sigmas, 0));
  }

  /** One ancestral step from `sample` at this timestep to the next (steps follow `timesteps` in order). */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: EulerAncestralStepOptions = {}): SchedulerStepOutput {
    const op = `${this.name}.step`;
    this.checkStepOptions(op, options, STEP_OPTIONS);
    const k = this.beginStep(op, modelOutput, timestep, sample);
    // 1. x0 at sigma; 2. the split of the step into sigma_down and sigma_up; 3. the step plus sigma_up z.
    const sigma = this.sigmas[k], sigmaTo = this.sigmas[k + 1];
    const x0 = this.discreteX0(sigma);
    const sigmaUp = Math.sqrt(sigmaTo * sigmaTo * (sigma * sigma - sigmaTo * sigmaTo) / (sigma * sigma));
    const sigmaDown = Math.sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);
    const dt = sigmaDown - sigma;
    const noise = sigmaUp > 0 ? this.stepNoise(op, sample, k, options) : null;
    const out = schedulerStep(sample, modelOutput, {
      a: x0.onSample, b: x0.onOutput, c: 0, d: 0, e: 0, f: -dt / sigma, g: 1 + dt / sigma, h: 0, sigma: sigmaUp, clipRange: Infinity,
    }, noise);
    this.stepIndex = k + 1;
    return out;
  }
}
