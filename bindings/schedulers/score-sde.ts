/**
 * What the two score-SDE samplers share (Song et al. 2021, "Score-Based Generative Modeling through Stochastic
 * Differential Equations"). A DDPM is the discretisation of the variance-preserving SDE
 *
 *   dx = -½ β(t) x dt + sqrt(β(t)) dw,   whose marginals are x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps,
 *
 * and a model's output is an estimate of the score ∇x log p_t(x) = -eps / sqrt(1 - ab_t), whatever it predicts
 * (eps = c·x_t + d·output for each predictionType, as the other schedulers convert it).
 *
 * The samplers are schedulers with diffusers' surface: `setTimesteps(n)`, `timesteps`, `scaleModelInput`,
 * `initNoiseSigma`, `step(modelOutput, t, sample) -> { prevSample, predOriginalSample }`. Their steps need more
 * than one model evaluation per timestep (corrector steps, Heun's second stage), so, as diffusers'
 * HeunDiscreteScheduler does, `timesteps` lists one entry per model evaluation, some repeated, and `step` must be
 * called once per entry, in order: the usual loop
 *
 *   for (const t of s.timesteps) x = s.step(model(x, t), t, x).prevSample;
 *
 * runs them. `setTimesteps` starts a new loop. `clipSample` clips only the returned predOriginalSample (a preview):
 * the updates follow the score.
 */
import { schedulerStep, type StepCoefficients } from '../ops/scheduler.ts';
import { Tensor } from '../tensor.ts';
import { NoiseScheduler, show, type SchedulerOptions, type SchedulerStepOutput } from './base.ts';

/** One entry of the call plan: the model is evaluated at `timestep`, then `step` does `kind`. */
export interface PlannedCall<Kind extends string> {
  timestep: number;
  kind: Kind;
  /** The inference timestep after `timestep` in the grid (-1 after the last: the data). */
  next: number;
}

/** The inference timestep after grid[k] (-1 after the last). */
export function nextOf(grid: Int32Array, k: number): number {
  return k + 1 < grid.length ? grid[k + 1] : -1;
}

export abstract class ScoreSdeScheduler<Options extends SchedulerOptions, Kind extends string> extends NoiseScheduler<Options> {
  /** The inference timesteps chosen by setTimesteps (decreasing, each once); `timesteps` is the call plan. */
  grid: Int32Array = new Int32Array(0);
  /** What each call of `step` does, parallel to `timesteps`. */
  protected plan: PlannedCall<Kind>[] = [];
  /** The index in `plan` of the next call of `step`. */
  protected stepIndex = 0;

  protected constructor(name: string, options: Options, defaults: Required<Options>) {
    super(name, options, defaults);
  }

  /** Builds the call plan of a grid of inference timesteps. */
  protected abstract planFor(grid: Int32Array): PlannedCall<Kind>[];

  /**
   * Chooses `numInferenceSteps` timesteps (spaced by timestepSpacing, as the other schedulers do) and lays out the
   * calls of `step` over them in `timesteps`; starts a new sampling loop.
   */
  override setTimesteps(numInferenceSteps: number): void {
    super.setTimesteps(numInferenceSteps);
    this.grid = Int32Array.from(this.timesteps);
    this.plan = this.planFor(this.grid);
    this.timesteps = Int32Array.from(this.plan, (call) => call.timestep);
    this.reset();
  }

  /** Starts the loop again from its first call (and frees what a step kept for the next). */
  override reset(): void {
    this.stepIndex = 0;
  }

  /** The next planned call, checked against the timestep `step` was given; advances the loop. */
  protected nextCall(op: string, timestep: unknown): PlannedCall<Kind> & { index: number } {
    const t = this.checkTimestep(op, timestep);
    const index = this.stepIndex;
    if (index >= this.plan.length) {
      throw new Error(`${op}: the sampling loop is finished (${this.plan.length} calls); call setTimesteps(numInferenceSteps) to start another`);
    }
    const call = this.plan[index];
    if (call.timestep !== t) {
      throw new Error(`${op}: call ${index} of the loop is at timestep ${call.timestep}, got ${show(t)}: ` +
        'call step once for each entry of `timesteps`, in order');
    }
    this.stepIndex = index + 1;
    return { ...call, index };
  }

  /** sqrt(1 - ab_t), the noise level whose inverse turns eps into a score. */
  protected sigma(t: number): number {
    return Math.sqrt(1 - this.alphasCumprod[t]);
  }

  /**
   * prev = g·sample + h·eps + sigma·noise, with eps from the model output at t, and the predicted x0 (clipped when
   * clipSample): the update of every step here, through the generic scheduler kernel.
   */
  protected update(t: number, sample: Tensor, modelOutput: Tensor, g: number, h: number, sigma = 0, noise: Tensor | null = null): SchedulerStepOutput {
    const ab = this.alphasCumprod[t];
    const x0 = this.originalSampleCoefficients(ab), eps = this.epsilonCoefficients(ab);
    const coefficients: StepCoefficients = {
      a: x0.onSample, b: x0.onOutput, c: eps.onSample, d: eps.onOutput, e: 0, f: 0, g, h, sigma, clipRange: this.clipRange,
    };
    return schedulerStep(sample, modelOutput, coefficients, noise);
  }

  /**
   * The reverse-diffusion step of the VP SDE (score_sde's ReverseDiffusionPredictor, the DDPM discretisation) from
   * t to tNext (-1: to the data): with alpha = ab_t / ab_tNext and beta = 1 - alpha,
   *
   *   x_tNext = (2 - sqrt(alpha)) x + beta · score + sqrt(beta) z,    z omitted when `noise` is null.
   */
  protected reverseDiffusion(t: number, tNext: number, sample: Tensor, modelOutput: Tensor, noise: Tensor | null): SchedulerStepOutput {
    const alpha = this.alphasCumprod[t] / (tNext >= 0 ? this.alphasCumprod[tNext] : 1);
    const beta = 1 - alpha;
    return this.update(t, sample, modelOutput, 2 - Math.sqrt(alpha), -beta / this.sigma(t), noise ? Math.sqrt(beta) : 0, noise);
  }
}
