/**
 * What the solvers of the ODE view share (DPMSolverMultistepScheduler, UniPCMultistepScheduler,
 * EulerDiscreteScheduler, EulerAncestralDiscreteScheduler, HeunDiscreteScheduler, after diffusers): a sigma per
 * step (see sigmas.ts), a step counter (diffusers' step_index: these schedulers remember earlier steps, so steps
 * must come in the order of `timesteps`), the model's timestep and ab at the current step (for guidance), and the
 * memory rule for what they remember: tensors kept outside every `tidy`, freed by `reset()` or `setTimesteps`.
 */
import { fmt, sameShape, tensorArg } from '../ops/check.ts';
import { schedulerAddNoise, schedulerCombine } from '../ops/scheduler.ts';
import { keep, type Tensor } from '../tensor.ts';
import { NoiseScheduler, type Linear } from './base.ts';
import { show, type BaseSchedulerOptions } from './options.ts';
import { alphaSigmaOf } from './sigmas.ts';
import { roundHalfEven } from './timesteps.ts';

/** ab of the last timestep under rescaleBetasZeroSnr for the sigma-based schedulers (diffusers: 2^-24), so sigma stays finite. */
export const ZERO_SNR_ALPHA_CUMPROD = 2 ** -24;

export abstract class SigmaScheduler<Options extends BaseSchedulerOptions> extends NoiseScheduler<Options> {
  /** The sigma of each step, then the one after the last step (float64; do not modify). */
  sigmas: Float64Array = new Float64Array(0);
  /** The index in `timesteps` of the step `step` expects next (diffusers' step_index); null before the first. */
  stepIndex: number | null = null;
  /**
   * The index in `timesteps` of the first step when sampling starts part-way (img2img; diffusers' begin_index):
   * set by `setBeginIndex`, cleared by `setTimesteps` and `reset`. Null: the first step is found from its timestep.
   */
  beginIndex: number | null = null;

  protected constructor(name: string, options: Options, defaults: Required<Options>) {
    super(name, options, defaults);
    if (this.common.rescaleBetasZeroSnr) this.alphasCumprod[this.alphasCumprod.length - 1] = ZERO_SNR_ALPHA_CUMPROD;
  }

  /** ab = 1 / (sigma² + 1) of the sample the model sees at this step. */
  override alphaCumprodAt(timestep: number): number {
    const sigma = this.sigmas[this.indexAt(`${this.name}.alphaCumprodAt`, timestep)];
    return 1 / (sigma * sigma + 1);
  }

  /**
   * The training timestep the model is asked at: the step's timestep rounded to the nearest integer (ties to
   * even). The models of this library take integer timesteps; diffusers hands a fractional one (Euler and Heun
   * with 'linspace' spacing or Karras sigmas) to the model's sinusoidal embedding as it is.
   */
  override modelTimestep(timestep: number): number {
    this.indexAt(`${this.name}.modelTimestep`, timestep);
    return Math.min(Math.max(roundHalfEven(timestep), 0), this.common.numTrainTimesteps - 1);
  }

  override reset(): void {
    this.stepIndex = null;
    this.beginIndex = null;
  }

  /** Sampling will start at entry `beginIndex` of `timesteps` (diffusers' set_begin_index), as img2img does. */
  setBeginIndex(beginIndex: number): void {
    const op = `${this.name}.setBeginIndex`;
    if (this.numInferenceSteps === null) throw new Error(`${op}: the number of inference steps is not set: call setTimesteps(numInferenceSteps) first`);
    const n = this.timesteps.length;
    if (!Number.isInteger(beginIndex) || beginIndex < 0 || beginIndex >= n) {
      throw new Error(`${op}: beginIndex must be an integer in [0, ${n - 1}] (${n} timesteps), got ${show(beginIndex)}`);
    }
    if (this.stepIndex !== null) throw new Error(`${op}: sampling has begun (step ${this.stepIndex + 1}): call setTimesteps first`);
    this.beginIndex = beginIndex;
  }

  /**
   * The forward process at the noise level of a step, as diffusers' sigma-based schedulers add noise (img2img,
   * inpainting): with sigma the sigma of the current step once sampling has begun, else of `beginIndex` when set,
   * else of each timestep's place in `timesteps` (the second of two equal ones), the sample in this scheduler's
   * own form: alpha_t·x0 + sigma_t·noise (DPM-Solver, UniPC: the model's VP sample) or x0 + sigma·noise (Euler,
   * Heun: the VE sample of Karras et al.). Call setTimesteps first; to train, noise with DDPMScheduler.addNoise.
   */
  override addNoise(originalSamples: Tensor, noise: Tensor, timesteps: Int32Array | Float32Array | readonly number[]): Tensor {
    const op = `${this.name}.addNoise`;
    const shape = tensorArg(op, 'originalSamples', originalSamples);
    sameShape(op, 'originalSamples', shape, 'noise', tensorArg(op, 'noise', noise));
    if (shape.length === 0) throw new Error(`${op}: originalSamples must have a batch dimension, got a scalar`);
    if (!ArrayBuffer.isView(timesteps) && !Array.isArray(timesteps)) throw new Error(`${op}: timesteps must be an array of timesteps, got ${show(timesteps)}`);
    if (timesteps.length !== shape[0]) throw new Error(`${op}: timesteps has ${timesteps.length} entries, originalSamples ${fmt(shape)} has ${shape[0]} items`);
    const coefficients = Array.from(timesteps as ArrayLike<number>, (t) => {
      const index = this.stepIndex ?? this.beginIndex ?? this.indexAt(op, t);
      return this.noiseLevel(this.sigmas[index]);
    });
    return schedulerAddNoise(originalSamples, noise, coefficients.map((c) => c.onSample), coefficients.map((c) => c.onNoise));
  }

  /** x = onSample·x0 + onNoise·noise at noise level sigma: the VP sample alpha_t·x0 + sigma_t·noise. */
  protected noiseLevel(sigma: number): { onSample: number; onNoise: number } {
    const { alpha, sigmaT } = alphaSigmaOf(sigma);
    return { onSample: alpha, onNoise: sigmaT };
  }

  /**
   * x0 = a·sample + b·modelOutput at noise level sigma (VP sample, alpha_t = 1/sqrt(sigma² + 1), sigma_t =
   * sigma·alpha_t), in diffusers' form: (sample - sigma_t·eps) / alpha_t, alpha_t·sample - sigma_t·v, or the output.
   */
  protected x0Linear(sigma: number): Linear {
    const { alpha, sigmaT } = alphaSigmaOf(sigma);
    switch (this.common.predictionType) {
      case 'epsilon': return { onSample: 1 / alpha, onOutput: -sigmaT / alpha };
      case 'sample': return { onSample: 0, onOutput: 1 };
      case 'v_prediction': return { onSample: alpha, onOutput: -sigmaT };
    }
  }

  /** eps = c·sample + d·modelOutput at noise level sigma: the output, (sample - alpha_t·x0) / sigma_t, or alpha_t·v + sigma_t·sample. */
  protected epsLinear(sigma: number): Linear {
    const { alpha, sigmaT } = alphaSigmaOf(sigma);
    switch (this.common.predictionType) {
      case 'epsilon': return { onSample: 0, onOutput: 1 };
      case 'sample': return { onSample: 1 / sigmaT, onOutput: -alpha / sigmaT };
      case 'v_prediction': return { onSample: sigmaT, onOutput: alpha };
    }
  }

  /** The predicted x0 at noise level sigma, dynamically thresholded when the scheduler has thresholding on. */
  protected predictX0(sample: Tensor, modelOutput: Tensor, sigma: number): Tensor {
    const { onSample, onOutput } = this.x0Linear(sigma);
    const x0 = schedulerCombine([[sample, onSample], [modelOutput, onOutput]]);
    if (!this.common.thresholding) return x0;
    const thresholded = this.threshold(x0);
    x0.dispose();
    return thresholded;
  }

  /** Installs a new schedule: timesteps, sigmas (one more than timesteps), and a fresh start. */
  protected install(numInferenceSteps: number, timesteps: Int32Array | Float32Array, sigmas: Float64Array): void {
    this.reset();
    this.timesteps = timesteps;
    this.sigmas = sigmas;
    this.numInferenceSteps = numInferenceSteps;
  }

  /**
   * The index of the step at `timestep`: the current step once sampling has begun (the timestep must be that
   * step's), else the timestep's place in `timesteps` (the second of two equal ones, as diffusers does).
   */
  protected indexAt(op: string, timestep: unknown): number {
    if (this.numInferenceSteps === null) {
      throw new Error(`${op}: the number of inference steps is not set: call setTimesteps(numInferenceSteps) first`);
    }
    const n = this.timesteps.length;
    if (this.stepIndex === null && this.beginIndex !== null) {
      const expected = this.timesteps[this.beginIndex];
      if (timestep !== expected) {
        throw new Error(`${op}: expected timestep ${expected} (the first step, at beginIndex ${this.beginIndex}), got ${show(timestep)}`);
      }
      return this.beginIndex;
    }
    if (this.stepIndex !== null) {
      if (this.stepIndex >= n) throw new Error(`${op}: all ${n} steps are done: call setTimesteps to sample again`);
      const expected = this.timesteps[this.stepIndex];
      if (timestep !== expected) {
        throw new Error(`${op}: expected timestep ${expected} (step ${this.stepIndex + 1} of ${n}), got ${show(timestep)}: ` +
          'steps must follow `timesteps` in order; call setTimesteps to start again');
      }
      return this.stepIndex;
    }
    const matches: number[] = [];
    this.timesteps.forEach((t, k) => { if (t === timestep) matches.push(k); });
    if (matches.length === 0) {
      throw new Error(`${op}: timestep ${show(timestep)} is not one of the ${n} timesteps chosen by setTimesteps(${this.numInferenceSteps}) ` +
        `(${this.timesteps[0]} .. ${this.timesteps[n - 1]})`);
    }
    return matches[matches.length > 1 ? 1 : 0];
  }

  /**
   * Starts a step: checks the tensors (before any state changes), then returns the step's index (fixed on the
   * first step), checked against the timestep given.
   */
  protected beginStep(op: string, modelOutput: Tensor, timestep: unknown, sample: Tensor): number {
    sameShape(op, 'sample', tensorArg(op, 'sample', sample), 'modelOutput', tensorArg(op, 'modelOutput', modelOutput));
    this.stepIndex = this.indexAt(op, timestep);
    return this.stepIndex;
  }
}

/** A copy of `x` that outlives the current `tidy` (the caller disposes it). */
export function keptCopy(x: Tensor): Tensor {
  return keep(schedulerCombine([[x, 1]]));
}
