/**
 * Heun's second-order method on the diffusion ODE (Karras et al. 2022, Algorithm 1), after diffusers'
 * HeunDiscreteScheduler. Each of the n steps takes two model evaluations, so `timesteps` holds 2n - 1 entries
 * (t_0, t_1, t_1, t_2, t_2, ...) and `step` alternates between
 *
 *   first order (Euler):   d = (x - x0) / sigma,  x' = x + (sigma_next - sigma) d                  (Alg. 1, l. 5-6)
 *   second order:          d' = (x' - x0') / sigma_next,  x_next = x + (sigma_next - sigma) (d + d') / 2   (l. 7-8)
 *
 * The last step (to sigma = 0) is first order only. x0 may be clipped (clipSample). The first-order sample and
 * x0 are kept for the second evaluation; the second update is one `schedulerCombine` of four tensors.
 */
import { schedulerCombine, schedulerStep } from '../ops/scheduler.ts';
import type { Tensor } from '../tensor.ts';
import type { SchedulerStepOutput } from './base.ts';
import { DiscreteSigmaScheduler } from './discrete.ts';
import { BASE_DEFAULTS, type SchedulerOptions } from './options.ts';
import { keptCopy } from './sigma-scheduler.ts';

export interface HeunDiscreteSchedulerOptions extends SchedulerOptions {
  /** Karras et al.'s noise levels (rho = 7) between the first and last sigma of the spacing. Default false. */
  useKarrasSigmas?: boolean;
}

const DEFAULTS: Required<HeunDiscreteSchedulerOptions> = {
  ...BASE_DEFAULTS, betaStart: 0.00085, betaEnd: 0.012, timestepSpacing: 'linspace', useKarrasSigmas: false,
  clipSample: false, clipSampleRange: 1.0,
};
const STEP_OPTIONS: readonly string[] = [];

export class HeunDiscreteScheduler extends DiscreteSigmaScheduler<HeunDiscreteSchedulerOptions> {
  /** The options its `step` takes (a pipeline passes those it has). */
  readonly stepOptionNames: readonly string[] = STEP_OPTIONS;
  /** Every option with its default (diffusers' HeunDiscreteScheduler defaults: note betaStart 0.00085, betaEnd 0.012). */
  static readonly defaults: Readonly<Required<HeunDiscreteSchedulerOptions>> = DEFAULTS;
  /** Two entries of `timesteps` per step (diffusers' order 2). */
  override get order(): number { return 2; }
  /** The first-order step's sample, x0, sigma and dt, while the second evaluation is due. */
  private first: { sample: Tensor; x0: Tensor; sigma: number; dt: number } | null = null;

  /** A Heun scheduler; every option is documented on `HeunDiscreteSchedulerOptions`. */
  constructor(options: HeunDiscreteSchedulerOptions = {}) {
    super('HeunDiscreteScheduler', options, DEFAULTS);
    // diffusers sets up the full schedule at construction.
    this.setTimesteps(this.config.numTrainTimesteps);
  }

  /** Chooses n timesteps and sigmas, then repeats each but the first for the second evaluations (2n - 1 in all). */
  override setTimesteps(numInferenceSteps: number): void {
    const op = `${this.name}.setTimesteps`;
    const n = this.checkInferenceSteps(op, numInferenceSteps);
    const { timesteps, sigmas } = this.discreteSchedule(op, n, this.config.useKarrasSigmas);
    const interleaved = new Float32Array(2 * n - 1), levels = new Float64Array(2 * n);
    interleaved[0] = timesteps[0];
    levels[0] = sigmas[0];
    for (let i = 1; i < n; i++) {
      interleaved[2 * i - 1] = interleaved[2 * i] = timesteps[i];
      levels[2 * i - 1] = levels[2 * i] = sigmas[i];
    }
    levels[2 * n - 1] = 0;
    this.install(n, interleaved, levels);
  }

  override reset(): void {
    super.reset();
    this.first?.sample.dispose();
    this.first?.x0.dispose();
    this.first = null;
  }

  /** Whether the next `step` is a first-order one (diffusers' state_in_first_order). */
  get stateInFirstOrder(): boolean {
    return this.first === null;
  }

  /** One evaluation's update (see the file header); steps follow `timesteps` in order. */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: Record<string, never> = {}): SchedulerStepOutput {
    const op = `${this.name}.step`;
    this.checkStepOptions(op, options, STEP_OPTIONS);
    const k = this.beginStep(op, modelOutput, timestep, sample);
    const first = this.first;
    if (first === null) {
      // Euler to sigma_next, remembering x, x0, sigma and dt.
      const sigma = this.sigmas[k], dt = this.sigmas[k + 1] - sigma;
      const x0 = this.discreteX0(sigma);
      const out = schedulerStep(sample, modelOutput, {
        a: x0.onSample, b: x0.onOutput, c: 0, d: 0, e: 0, f: -dt / sigma, g: 1 + dt / sigma, h: 0, sigma: 0, clipRange: this.clipRange,
      });
      this.first = { sample: keptCopy(sample), x0: keptCopy(out.predOriginalSample), sigma, dt };
      this.stepIndex = k + 1;
      return out;
    }
    // The average of the two slopes from the first sample: x + dt/2 ((x - x0) / sigma + (x' - x0') / sigma_next).
    const sigmaNext = this.sigmas[k];
    const x0 = this.discreteX0(sigmaNext);
    const predOriginalSample = schedulerCombine([[sample, x0.onSample], [modelOutput, x0.onOutput]], this.clipRange);
    const { dt, sigma } = first;
    const prevSample = schedulerCombine([
      [first.sample, 1 + dt / (2 * sigma)], [first.x0, -dt / (2 * sigma)],
      [sample, dt / (2 * sigmaNext)], [predOriginalSample, -dt / (2 * sigmaNext)],
    ]);
    first.sample.dispose();
    first.x0.dispose();
    this.first = null;
    this.stepIndex = k + 1;
    return { prevSample, predOriginalSample };
  }
}
