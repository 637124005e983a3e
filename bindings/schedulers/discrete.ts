/**
 * What the Karras-style schedulers share (EulerDiscreteScheduler, EulerAncestralDiscreteScheduler,
 * HeunDiscreteScheduler, after diffusers): they integrate the ODE dx/dsigma = (x - x0) / sigma of the VE view
 * (Karras et al. 2022, eq. 3 and Algorithm 1), where x = x_t / alpha_t. So the initial noise has standard deviation
 * sigma_max (initNoiseSigma) and the model sees x / sqrt(sigma² + 1), its own VP sample (scaleModelInput). Their
 * timesteps are float32 and may fall between training timesteps; their sigmas are interpolated from the training
 * ones, or Karras et al.'s, and end at 0.
 */
import { log } from '../ops/math.ts';
import { schedulerCombine } from '../ops/scheduler.ts';
import type { Tensor } from '../tensor.ts';
import type { Linear } from './base.ts';
import type { BaseSchedulerOptions } from './options.ts';
import { SigmaScheduler } from './sigma-scheduler.ts';
import { interpolate, karrasSigmas, sigmasOf, sigmaToTimestep } from './sigmas.ts';
import { discreteTimesteps } from './timesteps.ts';

export abstract class DiscreteSigmaScheduler<Options extends BaseSchedulerOptions> extends SigmaScheduler<Options> {
  protected constructor(name: string, options: Options, defaults: Required<Options>) {
    super(name, options, defaults);
    // Before setTimesteps, as in diffusers: every training sigma, largest first, then 0.
    this.sigmas = Float64Array.of(...sigmasOf(this.alphasCumprod).reverse(), 0);
    this.timesteps = Float32Array.from(this.timesteps);
  }

  /**
   * The standard deviation of the initial noise: the largest sigma, or sqrt(sigma_max² + 1) for 'leading'
   * spacing (diffusers' init_noise_sigma).
   */
  override get initNoiseSigma(): number {
    let largest = 0;
    for (const sigma of this.sigmas) largest = Math.max(largest, sigma);
    return this.common.timestepSpacing === 'leading' ? Math.sqrt(largest * largest + 1) : largest;
  }

  /** The model input at this step: sample / sqrt(sigma² + 1), the VP sample the model was trained on. */
  override scaleModelInput(sample: Tensor, timestep?: number): Tensor {
    const sigma = this.sigmas[this.indexAt(`${this.name}.scaleModelInput`, timestep)];
    return schedulerCombine([[sample, 1 / Math.sqrt(sigma * sigma + 1)]]);
  }

  /**
   * The timesteps and their sigmas for n steps (diffusers' set_timesteps of these schedulers): timesteps by the
   * spacing, sigmas interpolated at them; with Karras sigmas, n of those from the first to the last sigma, and
   * each timestep the (fractional) training timestep of its sigma. The final 0 is not included.
   */
  protected discreteSchedule(op: string, n: number, useKarrasSigmas: boolean): { timesteps: Float32Array; sigmas: Float64Array } {
    const { numTrainTimesteps: T, timestepSpacing, stepsOffset } = this.common;
    let timesteps = this.checkLargest(op, discreteTimesteps(timestepSpacing, T, n, stepsOffset), n);
    const training = sigmasOf(this.alphasCumprod);
    let sigmas: Float64Array = Float64Array.from(timesteps, (t) => interpolate(t, training));
    if (useKarrasSigmas) {
      sigmas = karrasSigmas(sigmas[n - 1], sigmas[0], n);
      const logSigmas = training.map(log);
      timesteps = Float32Array.from(sigmas, (sigma) => sigmaToTimestep(sigma, logSigmas));
    }
    return { timesteps, sigmas };
  }

  /** The VE sample of Karras et al.: x = x0 + sigma·noise (diffusers' add_noise of these schedulers). */
  protected override noiseLevel(sigma: number): { onSample: number; onNoise: number } {
    return { onSample: 1, onNoise: sigma };
  }

  /**
   * x0 = a·sample + b·modelOutput at noise level sigma, for samples of the VE view (x = x0 + sigma eps):
   * sample - sigma·eps; modelOutput · (-sigma / sqrt(sigma² + 1)) + sample / (sigma² + 1) for v; or the output.
   */
  protected discreteX0(sigma: number): Linear {
    switch (this.common.predictionType) {
      case 'epsilon': return { onSample: 1, onOutput: -sigma };
      case 'sample': return { onSample: 0, onOutput: 1 };
      case 'v_prediction': return { onSample: 1 / (sigma * sigma + 1), onOutput: -sigma / Math.sqrt(sigma * sigma + 1) };
    }
  }
}
