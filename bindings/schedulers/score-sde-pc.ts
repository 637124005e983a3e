/**
 * The predictor-corrector sampler of the VP SDE (Song et al. 2021, Algorithm 2 with the VP SDE; score_sde's
 * get_pc_sampler with ReverseDiffusionPredictor and LangevinCorrector): at each inference timestep t, from the
 * largest down,
 *
 *   1. correctorSteps Langevin steps at t: with g the score at x and z ~ N(0, I), x <- x + epsilon g + sqrt(2 epsilon) z,
 *      where epsilon = 2 alpha_t (snr ||z|| / ||g||)² (the "signal-to-noise" rule of Algorithm 4, score_sde's
 *      LangevinCorrector: corrector 'langevin'), or 2 alpha_t (snr sqrt(1 - ab_t))² (score_sde's
 *      AnnealedLangevinDynamics, which puts the noise level where the rule has ||z|| / ||g||: corrector 'ald');
 *   2. one reverse-diffusion predictor step to the next timestep (see ScoreSdeScheduler.reverseDiffusion), with
 *      no noise on the last one (score_sde's denoise: the sample is the mean of the last step).
 *
 * `timesteps` holds correctorSteps + 1 calls per inference timestep (correctors first). With numTrainTimesteps
 * steps (the default) this is score_sde's sampler: 2T model evaluations for one corrector step.
 *
 * One deliberate difference: score_sde takes ||g|| and ||z|| as means over the batch; here they are each sample's
 * own, as Algorithm 4 writes them, so a sample does not depend on the others in its batch (nor on the batch size),
 * like every sampler here. The rule assumes many dimensions, where ||z||² ≈ M: in 2-D, ||g|| of a sample near a
 * mode is close to 0 and its step is then huge (a heavy tail: the 8-mode ring keeps 62% of its samples within 3
 * std of a mode with snr 0.16, against 98% with the predictor alone); use 'ald' there.
 *
 * Noise: the predictor's z at timestep t is the other schedulers' (STREAMS.samplerNoise, block t); corrector step j
 * at t draws from STREAMS.langevinNoise at t·2^36 + j·2^32, item n of the run (firstSample + its index in the batch)
 * taking n·M .. (n+1)·M - 1, so a run drawn in batches or on several threads gets the same samples.
 */
import { sumOfSquaresPerItem } from '../ops/per-item.ts';
import { randn } from '../ops/random.ts';
import { schedulerAddNoise } from '../ops/scheduler.ts';
import { sameShape, tensorArg } from '../ops/check.ts';
import { STREAMS } from '../random-streams.ts';
import type { Tensor } from '../tensor.ts';
import { choice, SAMPLER_NOISE_STRIDE, SCHEDULER_DEFAULTS, show, type SchedulerOptions, type SchedulerStepOutput, type StepNoiseOptions } from './base.ts';
import { nextOf, ScoreSdeScheduler, type PlannedCall } from './score-sde.ts';

/** Numbers of the Langevin stream per corrector step within a timestep's block (so at most 16 corrector steps). */
const CORRECTOR_NOISE_STRIDE = 2 ** 32;
const MAX_CORRECTOR_STEPS = SAMPLER_NOISE_STRIDE / CORRECTOR_NOISE_STRIDE;

/** The corrector's step-size rule (score_sde's names; see the file header). */
export type CorrectorType = 'langevin' | 'ald';

export const CORRECTOR_TYPES: readonly CorrectorType[] = ['langevin', 'ald'];

export interface ScoreSdePCSchedulerOptions extends SchedulerOptions {
  /** The corrector's step rule: 'langevin' (per-sample signal-to-noise ratio) or 'ald' (the noise level). Default 'langevin'. */
  corrector?: CorrectorType;
  /** The corrector's target signal-to-noise ratio r: a number > 0. Default 0.16 (score_sde's). */
  snr?: number;
  /** Langevin steps before each predictor step: an integer in [0, 16] (0: the predictor alone). Default 1. */
  correctorSteps?: number;
}

/** The options of `step`: the noise z of this call, or the seed to draw it from. */
export type ScoreSdePCStepOptions = StepNoiseOptions;

const PC_DEFAULTS: Required<ScoreSdePCSchedulerOptions> = { ...SCHEDULER_DEFAULTS, corrector: 'langevin', snr: 0.16, correctorSteps: 1 };
const STEP_OPTIONS: readonly string[] = ['noise', 'seed'];

type Call = 'corrector' | 'predictor';

export class ScoreSdePCScheduler extends ScoreSdeScheduler<ScoreSdePCSchedulerOptions, Call> {
  /** The options its `step` takes (a pipeline passes those it has). */
  readonly stepOptionNames: readonly string[] = STEP_OPTIONS;
  /** Every option with its default (score_sde's snr 0.16 and one corrector step). */
  static readonly defaults: Readonly<Required<ScoreSdePCSchedulerOptions>> = PC_DEFAULTS;

  /** A predictor-corrector sampler; every option is documented on `ScoreSdePCSchedulerOptions`. */
  constructor(options: ScoreSdePCSchedulerOptions = {}) {
    super('ScoreSdePCScheduler', options, PC_DEFAULTS);
    const { corrector, snr, correctorSteps } = this.config;
    choice(this.name, 'corrector', corrector, CORRECTOR_TYPES);
    if (typeof snr !== 'number' || !Number.isFinite(snr) || snr <= 0) throw new Error(`${this.name}: snr must be a finite number > 0, got ${show(snr)}`);
    if (!Number.isInteger(correctorSteps) || correctorSteps < 0 || correctorSteps > MAX_CORRECTOR_STEPS) {
      throw new Error(`${this.name}: correctorSteps must be an integer in [0, ${MAX_CORRECTOR_STEPS}], got ${show(correctorSteps)}`);
    }
    this.setTimesteps(this.config.numTrainTimesteps);
  }

  protected planFor(grid: Int32Array): PlannedCall<Call>[] {
    const plan: PlannedCall<Call>[] = [];
    grid.forEach((timestep, k) => {
      const next = nextOf(grid, k);
      for (let j = 0; j < this.config.correctorSteps; j++) plan.push({ timestep, kind: 'corrector', next });
      plan.push({ timestep, kind: 'predictor', next });
    });
    return plan;
  }

  /**
   * The next call of the loop (see the file header): a Langevin corrector step at t (prevSample is still at t) or
   * the predictor step from t to the next inference timestep. predOriginalSample is the model's x0 estimate at t.
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, options: ScoreSdePCStepOptions = {}): SchedulerStepOutput {
    const op = `${this.name}.step`;
    this.checkStepOptions(op, options, STEP_OPTIONS);
    sameShape(op, 'sample', tensorArg(op, 'sample', sample), 'modelOutput', tensorArg(op, 'modelOutput', modelOutput));
    const call = this.nextCall(op, timestep);
    const t = call.timestep;
    if (call.kind === 'corrector') return this.langevin(op, t, this.correctorIndex(call.index), sample, modelOutput, options);
    const noise = call.next >= 0 ? this.stepNoise(op, sample, t, options) : null;
    return this.reverseDiffusion(t, call.next, sample, modelOutput, noise);
  }

  /** Whether the next call draws noise: every corrector step, and every predictor step but the last. */
  override drawsNoise(_timestep: number, _options: object = {}): boolean {
    const call = this.plan[this.stepIndex];
    return call !== undefined && (call.kind === 'corrector' || call.next >= 0);
  }

  /** Which corrector step of its timestep the call at `index` of the plan is (0-based). */
  private correctorIndex(index: number): number {
    return index % (this.config.correctorSteps + 1);
  }

  /** One Langevin step at t, with the corrector's step size for each sample (see the file header). */
  private langevin(op: string, t: number, j: number, sample: Tensor, modelOutput: Tensor, options: ScoreSdePCStepOptions): SchedulerStepOutput {
    const N = sample.shape[0];
    // The score g = -eps / sqrt(1 - ab_t), as an update with g = 0 and h = -1 / sqrt(1 - ab_t).
    const { prevSample: score, predOriginalSample } = this.update(t, sample, modelOutput, 0, -1 / this.sigma(t));
    if (options.noise !== undefined) sameShape(op, 'sample', sample.shape, 'options.noise', tensorArg(op, 'options.noise', options.noise));
    const noise = options.noise ?? this.correctorNoise(op, sample, t, j, options.seed ?? this.config.seed);
    const alpha = this.alphas[t], snr = this.config.snr;
    let stepSizes: number[];
    if (this.config.corrector === 'ald') {
      const level = snr * this.sigma(t);
      stepSizes = new Array(N).fill(2 * alpha * level * level);
    } else {
      // epsilon_n = 2 alpha (snr ||z_n|| / ||g_n||)²; a zero score (a sample at a mode) takes no step.
      const scoreNorms = sumOfSquaresPerItem(score), noiseNorms = sumOfSquaresPerItem(noise);
      stepSizes = Array.from(scoreNorms, (g2, n) => (g2 > 0 ? 2 * alpha * snr * snr * noiseNorms[n] / g2 : 0));
    }
    const ones = new Array(N).fill(1);
    const mean = schedulerAddNoise(sample, score, ones, stepSizes);
    const prevSample = schedulerAddNoise(mean, noise, ones, stepSizes.map((e) => Math.sqrt(2 * e)));
    mean.dispose();
    score.dispose();
    if (noise !== options.noise) noise.dispose();
    return { prevSample, predOriginalSample };
  }

  /** Corrector step j's noise at t for this batch: from sample `firstSample`'s numbers on (the same in any batching). */
  private correctorNoise(op: string, sample: Tensor, t: number, j: number, seed: number): Tensor {
    const first = this.firstSample * (sample.size / sample.shape[0]);
    if (first + sample.size > CORRECTOR_NOISE_STRIDE) {
      throw new Error(`${op}: samples up to ${first + sample.size} elements in are more than the ${CORRECTOR_NOISE_STRIDE} numbers of a corrector step's noise block`);
    }
    return randn(sample.shape, { seed, stream: STREAMS.langevinNoise, offset: t * SAMPLER_NOISE_STRIDE + j * CORRECTOR_NOISE_STRIDE + first });
  }
}
