/**
 * The probability-flow ODE sampler of the VP SDE (Song et al. 2021, §4.3): the deterministic process with the
 * same marginals as the SDE,
 *
 *   dx/dt = -½ β(t) (x + score(x, t)),   or, in the time u = log ab_t (du = -β dt):   dx/du = ½ (x + score),
 *
 * integrated with Heun's second-order method (the explicit trapezoidal rule) in u between the inference
 * timesteps: from x_i at t_i to t_{i+1}, with Δu = log ab_{t_{i+1}} - log ab_{t_i} and d(x, t) = ½ (x + score),
 *
 *   x~ = x_i + Δu d(x_i, t_i),    x_{i+1} = x_i + ½ Δu (d(x_i, t_i) + d(x~, t_{i+1})).
 *
 * u is the VP SDE's own time for any beta schedule (score_sde's linear β(t) is one), and the model is evaluated at
 * integer timesteps only. From the last inference timestep the sample goes to the data with one reverse-diffusion
 * step without noise (score_sde's ODE sampler's denoise step). score_sde integrates with a black-box adaptive
 * solver (RK45); this fixed-step one costs 2n - 1 model evaluations for n inference timesteps and needs no
 * randomness after x_T.
 *
 * `timesteps` holds t_0, then t_1 twice, ..., t_{n-1} twice (Heun's two stages share the evaluation times), as in
 * diffusers' HeunDiscreteScheduler; the last entry is the denoising step.
 */
import { tensorArg, sameShape } from '../ops/check.ts';
import { log } from '../ops/math.ts';
import { keep, type Tensor } from '../tensor.ts';
import { SCHEDULER_DEFAULTS, type SchedulerOptions, type SchedulerStepOutput } from './base.ts';
import { nextOf, ScoreSdeScheduler, type PlannedCall } from './score-sde.ts';

/** The options of the probability-flow sampler: the common scheduler options (none of its own). */
export type ScoreSdeODESchedulerOptions = SchedulerOptions;

const ODE_DEFAULTS: Required<ScoreSdeODESchedulerOptions> = { ...SCHEDULER_DEFAULTS };
const STEP_OPTIONS: readonly string[] = [];

type Call = 'predict' | 'correct' | 'denoise';

export class ScoreSdeODEScheduler extends ScoreSdeScheduler<ScoreSdeODESchedulerOptions, Call> {
  /** The options its `step` takes: none (the flow draws no noise). */
  readonly stepOptionNames: readonly string[] = STEP_OPTIONS;
  /** Every option with its default (DDPMScheduler's common options). */
  static readonly defaults: Readonly<Required<ScoreSdeODESchedulerOptions>> = ODE_DEFAULTS;
  /** x_i + ½ Δu d(x_i, t_i), kept between Heun's two stages, and that step's Δu. */
  private partial: Tensor | null = null;
  private stepDu = 0;

  /** A probability-flow ODE sampler; the options are the common scheduler options. */
  constructor(options: ScoreSdeODESchedulerOptions = {}) {
    super('ScoreSdeODEScheduler', options, ODE_DEFAULTS);
    this.setTimesteps(this.config.numTrainTimesteps);
  }

  override reset(): void {
    super.reset();
    this.release();
  }

  protected planFor(grid: Int32Array): PlannedCall<Call>[] {
    const plan: PlannedCall<Call>[] = [];
    grid.forEach((timestep, k) => {
      const next = nextOf(grid, k);
      if (k > 0) plan.push({ timestep, kind: 'correct', next });
      plan.push({ timestep, kind: next >= 0 ? 'predict' : 'denoise', next });
    });
    return plan;
  }

  /**
   * The next call of the loop: Heun's first stage at t_i (prevSample is x~, to be evaluated at t_{i+1}), its second
   * stage at t_{i+1} (prevSample is x_{i+1}), or the final denoising step. predOriginalSample is the model's x0
   * estimate at the call's timestep.
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: Record<string, never> = {}): SchedulerStepOutput {
    const op = `${this.name}.step`;
    this.checkStepOptions(op, options, STEP_OPTIONS);
    sameShape(op, 'sample', tensorArg(op, 'sample', sample), 'modelOutput', tensorArg(op, 'modelOutput', modelOutput));
    const call = this.nextCall(op, timestep);
    const t = call.timestep;
    const sigma = this.sigma(t);
    if (call.kind === 'denoise') return this.reverseDiffusion(t, -1, sample, modelOutput, null);
    if (call.kind === 'predict') {
      // d = ½ x - eps / (2 sigma): x~ = (1 + Δu/2) x - Δu/(2 sigma) eps, and the partial sum (1 + Δu/4) x - Δu/(4 sigma) eps.
      const du = log(this.alphasCumprod[call.next]) - log(this.alphasCumprod[t]);
      this.release();
      const partial = this.update(t, sample, modelOutput, 1 + du / 4, -du / (4 * sigma));
      partial.predOriginalSample.dispose();
      this.partial = keep(partial.prevSample);
      this.stepDu = du;
      return this.update(t, sample, modelOutput, 1 + du / 2, -du / (2 * sigma));
    }
    // Heun's second stage at t_{i+1} (= t): x_{i+1} = partial + ½ Δu d(x~, t) = partial + Δu/4 x~ - Δu/(4 sigma) eps.
    if (this.partial === null || this.partial.isDisposed) {
      throw new Error(`${op}: the first stage's state is gone (was setTimesteps called in between?)`);
    }
    const du = this.stepDu;
    const out = this.update(t, sample, modelOutput, du / 4, -du / (4 * sigma), 1, this.partial);
    this.release();
    return out;
  }

  private release(): void {
    this.partial?.dispose();
    this.partial = null;
  }
}
